"""Alert delivery against a real HTTP server on 127.0.0.1: delivered once, retried on a 500,
never re-sent, the webhook URL never logged in full."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import pytest

from accountpulse.alerts import LEDGER_FILE, OUTBOX_FILE, AlertsRelation, deliver, mask_url, slack_payload
from accountpulse.warehouse import Warehouse

SECRET_PATH = "/services/T0000/B0000/s3cr3tT0ken"


class _Hook:
    """A tiny webhook receiver: answers each POST with the next planned status (then 200)."""

    def __init__(self) -> None:
        self.planned: list[int] = []
        self.received: list[dict] = []
        self.attempts = 0
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                hook.attempts += 1
                status = hook.planned.pop(0) if hook.planned else 200
                if status == 200:
                    hook.received.append(json.loads(body))
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"error")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{SECRET_PATH}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> _Hook:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def hook() -> Iterator[_Hook]:
    with _Hook() as server:
        yield server


@pytest.fixture
def alerts_warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Warehouse:
    """A DuckDB file with a hand-made marts.account_alerts (two open alerts, one closed)."""
    path = tmp_path / "alerts.duckdb"
    connection = duckdb.connect(str(path))
    connection.execute("create schema marts")
    connection.execute(
        """
        create table marts.account_alerts as
        select * from (values
            ('a1', 'acc_big', 'engagement_drop', 'high', date '2026-11-10', date '2026-11-14',
                cast(null as date), 4200.0, -0.55),
            ('a2', 'acc_small', 'expansion_signal', 'low', date '2026-11-12', date '2026-11-14',
                cast(null as date), 90.0, null),
            ('a3', 'acc_gone', 'dormant_account', 'medium', date '2026-10-01', date '2026-10-20',
                date '2026-10-21', 300.0, null)
        ) as alerts(alert_id, account_id, alert_type, severity, opened_date, last_seen_date,
                    closed_date, mrr_at_stake, pct_vs_baseline)
        """
    )
    connection.close()
    monkeypatch.setenv("ACCOUNTPULSE_STATE_DIR", str(tmp_path / "state"))
    return Warehouse(target="duckdb", duckdb_file=path)


RELATION = AlertsRelation("marts", "account_alerts")


def _deliver(warehouse: Warehouse, url: str | None, sleeps: list[float] | None = None):
    return deliver(
        warehouse,
        RELATION,
        webhook_url=url,
        max_attempts=3,
        backoff_seconds=0.01,
        timeout_seconds=5,
        sleep=(sleeps.append if sleeps is not None else lambda _: None),
    )


def test_delivered_once_retried_on_500_never_resent(
    alerts_warehouse: Warehouse, hook: _Hook, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    hook.planned = [500]  # the first POST fails, its retry succeeds
    sleeps: list[float] = []

    first = _deliver(alerts_warehouse, hook.url, sleeps)

    assert (first.open_alerts, first.new_alerts, first.outboxed, first.posted) == (2, 2, 2, 2)
    assert first.failed == []
    assert hook.attempts == 3 and len(hook.received) == 2
    assert sleeps == [0.01]  # one backoff, for the 500
    footers = [message["blocks"][-1]["elements"][0]["text"] for message in hook.received]
    ids = sorted(footer.split("alert ")[-1] for footer in footers)
    assert ids == ["a1", "a2"]  # the closed alert a3 is never sent
    assert all(message["text"] and isinstance(message["blocks"], list) for message in hook.received)
    outbox = [json.loads(line) for line in (tmp_path / "state" / OUTBOX_FILE).read_text().splitlines()]
    assert [alert["alert_id"] for alert in outbox] == ["a1", "a2"]
    ledger = json.loads((tmp_path / "state" / LEDGER_FILE).read_text())
    assert set(ledger) == {"a1", "a2"} and all("webhook_at" in entry for entry in ledger.values())

    second = _deliver(alerts_warehouse, hook.url)

    assert (second.new_alerts, second.outboxed, second.posted) == (0, 0, 0)
    assert hook.attempts == 3 and len(hook.received) == 2
    assert len((tmp_path / "state" / OUTBOX_FILE).read_text().splitlines()) == 2

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "s3cr3tT0ken" not in logged
    assert "s3cr3tT0ken" not in first.summary() and mask_url(hook.url) in first.summary()


def test_failed_delivery_is_retried_on_the_next_run(alerts_warehouse: Warehouse, hook: _Hook) -> None:
    hook.planned = [503, 503, 503, 400]  # alert a1: three 503s exhaust its attempts; a2: 400 is final

    first = _deliver(alerts_warehouse, hook.url)

    assert first.posted == 0 and sorted(first.failed) == ["a1", "a2"] and first.outboxed == 2
    assert hook.attempts == 4  # no retry after a 4xx

    second = _deliver(alerts_warehouse, hook.url)

    assert second.posted == 2 and second.outboxed == 0 and second.failed == []
    assert len(hook.received) == 2


def test_outbox_only_without_webhook(alerts_warehouse: Warehouse, tmp_path: Path) -> None:
    report = _deliver(alerts_warehouse, None)
    assert (report.outboxed, report.posted, report.webhook) == (2, 0, None)
    assert _deliver(alerts_warehouse, None).outboxed == 0


def test_nothing_to_deliver_without_the_mart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCOUNTPULSE_STATE_DIR", str(tmp_path))
    path = tmp_path / "empty.duckdb"
    duckdb.connect(str(path)).close()
    report = deliver(Warehouse(target="duckdb", duckdb_file=path), RELATION)
    assert not report.mart_found and "Nothing to deliver" in report.summary()
    assert deliver(Warehouse(target="duckdb", duckdb_file=path), None).mart_found is False


def test_slack_payload_and_mask() -> None:
    payload = slack_payload(
        {
            "alert_id": "a1",
            "account_id": "acc",
            "alert_type": "engagement_drop",
            "severity": "high",
            "opened_date": "2026-11-10T00:00:00",
            "mrr_at_stake": 4200,
            "pct_vs_baseline": -0.55,
        }
    )
    assert payload["text"].startswith("[HIGH] engagement drop") and "$4,200.00" in payload["text"]
    assert any("pct vs baseline" in block.get("text", {}).get("text", "") for block in payload["blocks"])
    assert mask_url("https://hooks.slack.com/services/T/B/X") == "https://hooks.slack.com/***"
    assert mask_url(None) is None


def test_alert_outbox_asset_posts_through_dagster(
    alerts_warehouse: Warehouse, hook: _Hook, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Dagster asset: webhook from the environment, masked in its metadata, nothing sent twice."""
    import dagster as dg

    from accountpulse.definitions import alert_outbox_asset
    from accountpulse.resources import AlertSettings, WarehouseResource
    from accountpulse.translator import AccountpulseTranslator

    monkeypatch.setenv("ACCOUNTPULSE_DUCKDB_PATH", str(alerts_warehouse.duckdb_file))
    monkeypatch.setenv("ACCOUNTPULSE_ALERT_WEBHOOK", hook.url)
    node = {
        "unique_id": "model.accountpulse.account_alerts",
        "resource_type": "model",
        "name": "account_alerts",
        "schema": "marts",
        "alias": "account_alerts",
        "fqn": ["accountpulse", "marts", "success", "account_alerts"],
        "config": {"meta": {}},
        "meta": {},
    }
    asset = alert_outbox_asset({"nodes": {node["unique_id"]: node}}, AccountpulseTranslator())
    resources = {
        "warehouse": WarehouseResource(target="duckdb"),
        "alert_settings": AlertSettings(backoff_seconds=0),
    }
    hook.planned = [500]

    first = dg.materialize([asset], resources=resources)
    second = dg.materialize([asset], resources=resources)

    metadata = first.asset_materializations_for_node("alert_outbox")[0].metadata
    assert metadata["posted_to_webhook"].value == 2 and metadata["new_alerts"].value == 2
    assert metadata["webhook"].value == f"http://127.0.0.1:{hook.server.server_address[1]}/***"
    assert second.asset_materializations_for_node("alert_outbox")[0].metadata["new_alerts"].value == 0
    assert len(hook.received) == 2 and hook.attempts == 3
    outbox = [json.loads(line) for line in (tmp_path / "state" / OUTBOX_FILE).read_text().splitlines()]
    assert outbox[0]["opened_date"] == "2026-11-10"
