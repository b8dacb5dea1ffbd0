"""How Segment delivers: the four clocks of a message, and the messes real pipelines see.

For a message that really happened at t (milliseconds):
- `original_timestamp` = device clock at t (off by `skew` when the device clock is wrong);
- `sent_at` = device clock when the batch left the device (t + a few seconds, days when queued
  offline = a late arrival), off by the same skew;
- `received_at` = server clock on arrival (true send time + network latency);
- `timestamp` = Segment's correction `received_at - (sent_at - original_timestamp)` = t + latency;
- `uuid_ts` = when the warehouse loader wrote the row.
A message whose `received_at` is after the load horizon has not arrived yet and is left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from accountpulse.generator.clock import MS_DAY, MS_HOUR, MS_MINUTE, MS_SECOND

MIN_SKEW_MS = MS_HOUR
MAX_SKEW_MS = 3 * 365 * MS_DAY
LATE_MIN_MS = MS_DAY
LATE_MAX_MS = 10 * MS_DAY


@dataclass
class Delivery:
    timestamp: np.ndarray
    original_timestamp: np.ndarray
    sent_at: np.ndarray
    received_at: np.ndarray
    uuid_ts: np.ndarray
    late: np.ndarray  # bool
    skewed: np.ndarray  # bool


def deliver(
    rng: np.random.Generator,
    t: np.ndarray,
    late_rate: float,
    skew_cells: np.ndarray | None = None,
    skew_rate: float = 0.0,
) -> Delivery:
    """Clocks for messages that happened at t. Clock skew is drawn per cell (a user's device on one
    day: every message of that cell is off by the same amount); None = never skewed."""
    n = len(t)
    latency = np.clip(rng.lognormal(np.log(250.0), 0.8, n), 15, 5_000).astype(np.int64)
    send_delay = rng.integers(20, 15 * MS_SECOND, n)
    late = rng.random(n) < late_rate
    send_delay = np.where(late, rng.integers(LATE_MIN_MS, LATE_MAX_MS, n), send_delay)
    skew = np.zeros(n, dtype=np.int64)
    skewed = np.zeros(n, dtype=bool)
    if skew_cells is not None and skew_rate > 0 and n:
        keys, cell = np.unique(skew_cells, return_inverse=True)
        cell_skewed = rng.random(len(keys)) < skew_rate
        magnitude = np.exp(rng.uniform(np.log(MIN_SKEW_MS), np.log(MAX_SKEW_MS), len(keys)))
        sign = np.where(rng.random(len(keys)) < 0.5, -1, 1)
        cell_skew = np.where(cell_skewed, sign * magnitude, 0).astype(np.int64)
        skew, skewed = cell_skew[cell], cell_skewed[cell]
    received = t + send_delay + latency
    return Delivery(
        timestamp=t + latency,
        original_timestamp=t + skew,
        sent_at=t + send_delay + skew,
        received_at=received,
        uuid_ts=received + rng.integers(MS_MINUTE, 90 * MS_MINUTE, n),
        late=late,
        skewed=skewed,
    )


@dataclass
class MessCounts:
    """Counted per distinct message id (a duplicated message counts once, in `duplicate_rows`)."""

    rows: int = 0
    duplicate_rows: int = 0  # extra copies of a message id = rows - distinct ids
    late_arrivals: int = 0  # received_at >= timestamp + 1 day
    clock_skew: int = 0  # |original_timestamp - timestamp| >= 1 hour (tracks)
    anonymous: int = 0  # user_id null
    unresolved: int = 0  # user id that no group call names

    def add(self, other: MessCounts) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, int]:
        return {name: int(getattr(self, name)) for name in self.__dataclass_fields__}


@dataclass
class Counts:
    tables: dict[str, MessCounts] = field(
        default_factory=lambda: {
            name: MessCounts() for name in ("tracks", "pages", "identifies", "groups", "screens")
        }
    )

    def add(self, other: Counts) -> None:
        for name, counts in other.tables.items():
            self.tables[name].add(counts)


def duplicate_indices(rng: np.random.Generator, n: int, rate: float) -> np.ndarray:
    """Row positions delivered a second time."""
    if n == 0 or rate <= 0:
        return np.empty(0, dtype=np.int64)
    return np.flatnonzero(rng.random(n) < rate)


def redelivery_lag(rng: np.random.Generator, n: int) -> np.ndarray:
    """How much later the loader wrote a re-delivered copy."""
    return rng.integers(MS_MINUTE, 3 * MS_HOUR, n)
