"""Run one step as a child process and measure it: wall time, peak resident memory of the whole
process tree (sampled from /proc), the largest single process of that tree, and the machine load.

The tree is sampled, not summed after the fact: dbt's Python process, DuckDB inside it and any
worker it starts count together at every instant. For PostgreSQL the server's backends are not our
children; a caller may pass the process ids to add (their private memory, RssAnon, is counted
separately as the server's share).

The largest single process is each process's own high-water mark (VmHWM), read while it runs. Not
ru_maxrss from wait4: on Linux a forked child keeps its parent's high-water mark across exec, so a
step launched from a large process (a test session that has loaded Dagster) would report the
launcher's size instead of its own.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
SAMPLE_SECONDS = 0.1
EXTRA_PIDS_EVERY = 1.0  # seconds between refreshes of the extra (server) process list


def _parent_pids() -> dict[int, int]:
    """pid -> parent pid of every process visible in /proc."""
    parents: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # the command name sits in parentheses and may hold spaces: split after the last ')'
        fields = stat[stat.rfind(b")") + 2 :].split()
        parents[int(entry.name)] = int(fields[1])
    return parents


def tree_pids(root: int) -> list[int]:
    """The root and all its descendants."""
    children: dict[int, list[int]] = {}
    for pid, parent in _parent_pids().items():
        children.setdefault(parent, []).append(pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def rss_bytes(pid: int) -> int:
    """Resident set size of one process (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as handle:
            return int(handle.read().split()[1]) * PAGE_SIZE
    except (OSError, IndexError, ValueError):
        return 0


def _status_bytes(pid: int, key: str) -> int:
    """One memory line (in kB) of /proc/<pid>/status, in bytes (0 if the process is gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith(key):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def private_rss_bytes(pid: int) -> int:
    """Anonymous (private) resident memory of one process: leaves out shared buffers it touched."""
    return _status_bytes(pid, "RssAnon:")


def high_water_rss_bytes(pid: int) -> int:
    """Peak resident set size of one process's current program (VmHWM; 0 if it is gone)."""
    return _status_bytes(pid, "VmHWM:")


class TreeSampler(threading.Thread):
    """Samples the summed RSS of a process tree (and of extra processes) until stopped."""

    def __init__(self, root: int, extra_pids: Callable[[], Iterable[int]] | None = None) -> None:
        super().__init__(daemon=True)
        self.root, self.extra_pids = root, extra_pids
        self.peak_tree = 0
        self.peak_process = 0
        self.peak_extra = 0
        self.samples = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        extra: list[int] = []
        refreshed = 0.0
        while not self._stop_event.is_set():
            self.sample_once()
            if self.extra_pids is not None:
                now = time.monotonic()
                if now - refreshed >= EXTRA_PIDS_EVERY:
                    # the server may be busy or gone: keep the last list
                    with contextlib.suppress(Exception):
                        extra = list(self.extra_pids())
                    refreshed = now
                self.peak_extra = max(self.peak_extra, sum(private_rss_bytes(pid) for pid in extra))
            self._stop_event.wait(SAMPLE_SECONDS)

    def sample_once(self) -> None:
        pids = tree_pids(self.root)
        self.peak_tree = max(self.peak_tree, sum(rss_bytes(pid) for pid in pids))
        self.peak_process = max([self.peak_process, *(high_water_rss_bytes(pid) for pid in pids)])
        self.samples += 1

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


@dataclass
class StepResult:
    step: str
    command: list[str]
    seconds: float
    returncode: int
    peak_rss_mb: float  # the whole child process tree, sampled
    max_process_rss_mb: float  # the largest single process of the tree (its VmHWM, sampled)
    server_peak_rss_mb: float | None  # PostgreSQL backends' private memory, when sampled
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    log_path: str
    extra: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def as_dict(self) -> dict:
        return {
            "step": self.step,
            "command": self.command,
            "seconds": round(self.seconds, 3),
            "returncode": self.returncode,
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "max_process_rss_mb": round(self.max_process_rss_mb, 1),
            "server_peak_rss_mb": None
            if self.server_peak_rss_mb is None
            else round(self.server_peak_rss_mb, 1),
            "load_before": [round(value, 2) for value in self.load_before],
            "load_after": [round(value, 2) for value in self.load_after],
            "log": self.log_path,
            **self.extra,
        }


def run_measured(
    step: str,
    command: Sequence[str],
    env: dict[str, str],
    cwd: Path,
    log_path: Path,
    extra_pids: Callable[[], Iterable[int]] | None = None,
) -> StepResult:
    """Run `command` to completion with output to `log_path`, measuring it."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    with open(log_path, "wb") as log:
        started = time.perf_counter()
        process = subprocess.Popen(list(command), cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
        sampler = TreeSampler(process.pid, extra_pids)
        sampler.start()
        try:
            _, status = os.waitpid(process.pid, 0)
        except BaseException:
            process.kill()
            process.wait()
            sampler.stop()
            raise
        seconds = time.perf_counter() - started
        sampler.stop()
    process.returncode = os.waitstatus_to_exitcode(status)
    return StepResult(
        step=step,
        command=list(command),
        seconds=seconds,
        returncode=process.returncode,
        peak_rss_mb=sampler.peak_tree / 2**20,
        max_process_rss_mb=sampler.peak_process / 2**20,
        server_peak_rss_mb=sampler.peak_extra / 2**20 if extra_pids is not None else None,
        load_before=load_before,
        load_after=os.getloadavg(),
        log_path=str(log_path),
    )


def log_tail(path: str | Path, lines: int = 15) -> str:
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
