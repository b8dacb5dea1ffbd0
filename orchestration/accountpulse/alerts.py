"""Alert delivery: open alerts from the `account_alerts` mart to an outbox file and a webhook.

Every open alert not delivered yet is appended to the outbox (JSON lines) and, when
ACCOUNTPULSE_ALERT_WEBHOOK is set, POSTed as a Slack-compatible message, with retries and
exponential backoff on 5xx, 429 and network errors. A ledger keyed by alert_id records each
channel's delivery, so an alert is never sent twice on the same channel. The webhook URL is a
secret: it is only ever shown masked.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pandas as pd

from accountpulse.state import read_json, state_file, write_json
from accountpulse.warehouse import Warehouse

ALERTS_MODEL = "account_alerts"  # the mart's public name (SPEC.md)
OUTBOX_FILE = "alerts_outbox.jsonl"
LEDGER_FILE = "alerts_ledger.json"
STANDARD_COLUMNS = (
    "alert_id",
    "account_id",
    "alert_type",
    "severity",
    "opened_date",
    "last_seen_date",
    "closed_date",
    "mrr_at_stake",
)
RETRY_STATUSES = {429, 500, 502, 503, 504}

log = logging.getLogger("accountpulse.alerts")


def mask_url(url: str | None) -> str | None:
    """scheme://host[:port]/*** — the path of a webhook URL is its secret."""
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/***" if parts.netloc else "***"


@dataclass(frozen=True)
class AlertsRelation:
    schema: str
    table: str


@dataclass
class DeliveryReport:
    mart_found: bool
    open_alerts: int = 0
    new_alerts: int = 0
    outboxed: int = 0
    posted: int = 0
    failed: list[str] = field(default_factory=list)
    webhook: str | None = None
    outbox_path: str = ""

    def summary(self) -> str:
        if not self.mart_found:
            return "Nothing to deliver: the account_alerts mart does not exist yet."
        text = (
            f"{self.open_alerts} open alerts, {self.new_alerts} new: "
            f"{self.outboxed} written to {self.outbox_path}"
        )
        if self.webhook:
            text += f", {self.posted} posted to {self.webhook}"
            if self.failed:
                text += f", {len(self.failed)} failed (retried next run)"
        return text + "."


def read_open_alerts(warehouse: Warehouse, relation: AlertsRelation | None) -> pd.DataFrame | None:
    """Open alerts (closed_date is null), oldest first; None when the mart does not exist."""
    if relation is None or not warehouse.table_exists(relation.schema, relation.table):
        return None
    frame = warehouse.query(
        f'select * from "{relation.schema}"."{relation.table}" where closed_date is null '
        "order by opened_date, alert_id"
    )
    return frame


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    records = json.loads(frame.to_json(orient="records", date_format="iso", date_unit="s"))
    for record in records:  # *_date columns are dates: 2026-11-15, not 2026-11-15T00:00:00
        for key, value in record.items():
            if key.endswith("_date") and isinstance(value, str) and value.endswith("T00:00:00"):
                record[key] = value[:10]
    return records


def _money(value: Any) -> str:
    try:
        return f"${float(value):,.2f}"
    except (TypeError, ValueError):
        return "n/a"


def _day(value: Any) -> str:
    return str(value)[:10] if value else "n/a"


def slack_payload(alert: Mapping[str, Any]) -> dict[str, Any]:
    """A Slack-compatible message: `text` for notifications, `blocks` for the layout."""
    account = alert.get("account_name") or alert.get("account_id")
    kind = str(alert.get("alert_type", "alert")).replace("_", " ")
    severity = str(alert.get("severity", "")).upper()
    evidence = [
        f"• *{key.replace('_', ' ')}*: {value}"
        for key, value in alert.items()
        if key not in STANDARD_COLUMNS and key != "account_name" and value is not None
    ]
    text = f"[{severity}] {kind} — {account} (MRR at stake {_money(alert.get('mrr_at_stake'))})"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"{kind.capitalize()} · {account}"[:150]}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*Severity*\n{severity or 'n/a'}"},
                {"type": "mrkdwn", "text": f"*MRR at stake*\n{_money(alert.get('mrr_at_stake'))}"},
                {"type": "mrkdwn", "text": f"*Opened*\n{_day(alert.get('opened_date'))}"},
                {"type": "mrkdwn", "text": f"*Last seen*\n{_day(alert.get('last_seen_date'))}"},
            ],
        },
    ]
    if evidence:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(evidence)[:2900]}})
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"account {alert.get('account_id')} · alert {alert.get('alert_id')}",
                }
            ],
        }
    )
    return {"text": text, "blocks": blocks}


class _MaskWebhook(logging.Filter):
    def __init__(self, url: str) -> None:
        super().__init__()
        self.path = urlsplit(url).path

    def filter(self, record: logging.LogRecord) -> bool:
        if self.path and self.path != "/":
            message = record.getMessage()
            if self.path in message:
                record.msg, record.args = message.replace(self.path, "/***"), ()
        return True


@contextmanager
def _urllib3_masked(url: str) -> Iterator[None]:
    """urllib3 logs request paths at DEBUG; the path is the webhook's secret."""
    logger = logging.getLogger("urllib3.connectionpool")
    mask = _MaskWebhook(url)
    logger.addFilter(mask)
    try:
        yield
    finally:
        logger.removeFilter(mask)


def post_with_retries(
    url: str,
    payload: Mapping[str, Any],
    *,
    max_attempts: int = 4,
    backoff_seconds: float = 1.0,
    timeout_seconds: float = 10.0,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[bool, int, str]:
    """POST JSON, retrying 5xx/429/network errors with exponential backoff.

    Returns (delivered, attempts, last error).
    """
    import requests

    last_error = ""
    for attempt in range(1, max_attempts + 1):
        retry_after: float | None = None
        try:
            response = requests.post(url, json=payload, timeout=timeout_seconds)
        except requests.RequestException as error:  # the message would contain the URL: keep the class
            last_error = type(error).__name__
        else:
            if 200 <= response.status_code < 300:
                return True, attempt, ""
            last_error = f"HTTP {response.status_code}"
            if response.status_code not in RETRY_STATUSES:
                return False, attempt, last_error
            header = response.headers.get("Retry-After")
            if header and header.isdigit():
                retry_after = min(float(header), 30.0)
        if attempt < max_attempts:
            delay = retry_after if retry_after is not None else backoff_seconds * 2 ** (attempt - 1)
            log.info("webhook %s: %s, retry %d in %.1fs", mask_url(url), last_error, attempt, delay)
            sleep(delay)
    return False, max_attempts, last_error


def deliver(
    warehouse: Warehouse,
    relation: AlertsRelation | None,
    *,
    webhook_url: str | None = None,
    max_attempts: int = 4,
    backoff_seconds: float = 1.0,
    timeout_seconds: float = 10.0,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryReport:
    outbox = state_file(OUTBOX_FILE)
    ledger_path = state_file(LEDGER_FILE)
    report = DeliveryReport(mart_found=False, webhook=mask_url(webhook_url), outbox_path=str(outbox))
    frame = read_open_alerts(warehouse, relation)
    if frame is None:
        return report
    report.mart_found = True
    alerts = _records(frame)
    report.open_alerts = len(alerts)
    ledger: dict[str, dict[str, str]] = read_json(ledger_path, {})
    pending = [
        alert
        for alert in alerts
        if "outbox_at" not in ledger.get(str(alert["alert_id"]), {})
        or (webhook_url and "webhook_at" not in ledger.get(str(alert["alert_id"]), {}))
    ]
    report.new_alerts = len(pending)
    now = datetime.now(UTC).isoformat(timespec="seconds")

    fresh = [alert for alert in pending if "outbox_at" not in ledger.get(str(alert["alert_id"]), {})]
    if fresh:
        outbox.parent.mkdir(parents=True, exist_ok=True)
        with outbox.open("a") as out:
            for alert in fresh:
                out.write(json.dumps({**alert, "outboxed_at": now}, sort_keys=True) + "\n")
                ledger.setdefault(str(alert["alert_id"]), {})["outbox_at"] = now
        write_json(ledger_path, ledger)
        report.outboxed = len(fresh)

    if webhook_url:
        with _urllib3_masked(webhook_url):
            for alert in pending:
                alert_id = str(alert["alert_id"])
                if "webhook_at" in ledger.get(alert_id, {}):
                    continue
                ok, attempts, error = post_with_retries(
                    webhook_url,
                    slack_payload(alert),
                    max_attempts=max_attempts,
                    backoff_seconds=backoff_seconds,
                    timeout_seconds=timeout_seconds,
                    sleep=sleep,
                )
                if ok:
                    ledger.setdefault(alert_id, {})["webhook_at"] = datetime.now(UTC).isoformat(
                        timespec="seconds"
                    )
                    write_json(ledger_path, ledger)  # after each post: a crash never re-sends
                    report.posted += 1
                else:
                    log.warning(
                        "alert %s not delivered to %s after %d attempts: %s",
                        alert_id,
                        report.webhook,
                        attempts,
                        error,
                    )
                    report.failed.append(alert_id)
    return report
