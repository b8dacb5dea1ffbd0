"""Dagster resources: build settings (run config), the warehouse, alert delivery settings."""

from __future__ import annotations

import json
import os

import dagster as dg
from pydantic import Field, field_validator

from accountpulse.as_of import parse_as_of_date
from accountpulse.warehouse import Warehouse


class BuildSettings(dg.ConfigurableResource):
    """What one build run does; set per run (the daily schedule sets `as_of_date`)."""

    as_of_date: str | None = Field(
        default=None,
        description=(
            "Date every 'as of' metric is measured on (YYYY-MM-DD, not after today UTC); "
            "none = latest event date"
        ),
    )
    full_refresh: bool = Field(default=False, description="Rebuild incremental models from scratch")

    @field_validator("as_of_date")
    @classmethod
    def _iso_date(cls, value: str | None) -> str | None:
        if value:
            return parse_as_of_date(value).isoformat()
        return None

    def dbt_args(self) -> list[str]:
        args: list[str] = []
        if self.as_of_date:
            args += ["--vars", json.dumps({"as_of_date": self.as_of_date})]
        if self.full_refresh:
            args.append("--full-refresh")
        return args


class WarehouseResource(dg.ConfigurableResource):
    """The warehouse the project builds into; connection details come from the environment."""

    target: str = Field(default="duckdb", description="duckdb or postgres")

    def get(self) -> Warehouse:
        return Warehouse.from_env(self.target)


class AlertSettings(dg.ConfigurableResource):
    """Where new alerts go: always the outbox file, and a webhook when ACCOUNTPULSE_ALERT_WEBHOOK is set."""

    webhook_url: str | None = Field(
        default=None,
        description="Override of ACCOUNTPULSE_ALERT_WEBHOOK; leave empty so the secret never lands in config",
    )
    max_attempts: int = Field(default=4, description="POST attempts per alert (retries on 5xx, 429, network)")
    backoff_seconds: float = Field(default=1.0, description="First retry delay; doubles each attempt")
    timeout_seconds: float = Field(default=10.0)

    def resolved_webhook(self) -> str | None:
        """Read at run time, so the URL appears in no run config and no UI page."""
        return self.webhook_url or os.environ.get("ACCOUNTPULSE_ALERT_WEBHOOK") or None
