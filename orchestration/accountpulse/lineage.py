"""OpenLineage events for each dbt invocation of a build (openlineage-dbt), off unless configured.

On when ACCOUNTPULSE_OPENLINEAGE_FILE names a file (events appended as JSON lines) or OpenLineage's
own configuration is set in the environment (OPENLINEAGE_URL, OPENLINEAGE_CONFIG or
OPENLINEAGE__TRANSPORT__*: HTTP, Kafka, ... as the OpenLineage client reads them).
OPENLINEAGE_DISABLED=true turns it off whatever else is set.

After each dbt step of the Dagster job, openlineage-dbt's artifact processor reads that invocation's
manifest.json and run_results.json and turns every model, seed and test it ran into START and
COMPLETE (or FAIL) events with input and output datasets; a wrapping run per step carries the
Dagster run as its parent, so a lineage backend groups one build's steps together.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from accountpulse.paths import PROJECT_DIR

FILE_ENV = "ACCOUNTPULSE_OPENLINEAGE_FILE"
NAMESPACE_ENV = "OPENLINEAGE_NAMESPACE"
DEFAULT_NAMESPACE = "accountpulse"
_OPENLINEAGE_SETTINGS = ("OPENLINEAGE_URL", "OPENLINEAGE_CONFIG")


def lineage_enabled() -> bool:
    if os.environ.get("OPENLINEAGE_DISABLED", "").strip().lower() == "true":
        return False
    if os.environ.get(FILE_ENV):
        return True
    if any(os.environ.get(name) for name in _OPENLINEAGE_SETTINGS):
        return True
    return any(name.startswith("OPENLINEAGE__TRANSPORT") for name in os.environ)


def lineage_client() -> Any:
    """The file transport when ACCOUNTPULSE_OPENLINEAGE_FILE is set, else OpenLineage's own config."""
    from openlineage.client.client import OpenLineageClient

    path = os.environ.get(FILE_ENV)
    if path:
        from openlineage.client.transport.file import FileConfig, FileTransport

        Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        config = FileConfig(log_file_path=str(Path(path).expanduser()), append=True)
        return OpenLineageClient(transport=FileTransport(config))
    return OpenLineageClient()


@dataclass(frozen=True)
class ParentRun:
    """The orchestrating run (the Dagster run) the dbt steps belong to."""

    job_name: str
    run_id: str


def emit_dbt_invocation(
    target_path: Path, *, target: str, step: str, parent: ParentRun | None, succeeded: bool
) -> int:
    """Emit the events of one finished dbt invocation; returns how many were emitted."""
    from openlineage.common.provider.dbt import DbtLocalArtifactProcessor, ParentRunMetadata
    from openlineage.common.provider.dbt.utils import PRODUCER
    from openlineage.dbt import dbt_run_event_end, dbt_run_event_failed, dbt_run_event_start

    namespace = os.environ.get(NAMESPACE_ENV, DEFAULT_NAMESPACE)
    processor = DbtLocalArtifactProcessor(
        producer=PRODUCER,
        job_namespace=namespace,
        project_dir=str(PROJECT_DIR),
        target=target,
        target_path=str(target_path),
        logger=logging.getLogger("accountpulse.lineage"),
        openlineage_job_name=f"accountpulse.{step}",
    )
    parent_meta = (
        ParentRunMetadata(run_id=parent.run_id, job_name=parent.job_name, job_namespace=namespace)
        if parent
        else None
    )
    start = dbt_run_event_start(
        job_name=processor.job_name, job_namespace=namespace, parent_run_metadata=parent_meta
    )
    processor.dbt_run_metadata = ParentRunMetadata(
        run_id=start.run.runId,
        job_name=start.job.name,
        job_namespace=start.job.namespace,
        root_parent_run_id=parent.run_id if parent else start.run.runId,
        root_parent_job_name=parent.job_name if parent else start.job.name,
        root_parent_job_namespace=namespace,
    )
    events = processor.parse().events()
    end = (dbt_run_event_end if succeeded else dbt_run_event_failed)(
        run_id=start.run.runId,
        job_namespace=start.job.namespace,
        job_name=start.job.name,
        parent_run_metadata=parent_meta,
    )
    client = lineage_client()
    try:
        for event in (start, *events, end):
            client.emit(event)
    finally:
        client.close(timeout=30)
    return len(events) + 2
