"""Conformance: Stripe tables exactly as Fivetran lands them build with `dbt build` (no views).

Small literal fixtures in Fivetran's Stripe layout, each table with only the columns Fivetran
writes: with history mode (subscription_history has _fivetran_start/_fivetran_end/_fivetran_active)
and without (no such columns: the versions are ordered by _fivetran_synced). Beside the live rows
sit the rows that must not change MRR: a test-mode customer (livemode = false) whose metadata names
account A, with its own subscription, invoices and price; a metered price on A (usage revenue, not
MRR); a draft invoice deleted at the source (_fivetran_deleted). Account B bills through a legacy
plan (the `plan` table, no price), with a 25 % discount landed in `subscription_discount`; C is a
deleted customer on a deleted price, whose past revenue stays; D pays a tax-inclusive price.

Hand-computed MRR per account and month (as of 2026-03-15):
- A: 3 seats × $20 = 60.00 in Jan, Feb, Mar (new in Jan). The test-mode subscription (10 × $99)
  and the deleted draft (5 more seats from Mar 10) would make it 1050.00 / 160.00: they must not.
  Usage revenue: Jan 0 (first invoice, no usage yet), Feb 1200 calls × $0.05 = 60.00, Mar 800 × $0.05 = 40.00.
- B: legacy plan $40 × 2 = 80.00 in Jan (new); 25 % off from Feb 1: 60.00 in Feb (contraction 20), Mar.
- C: deleted price $15 × 1 from 2025-12-01 = 15.00 in Dec (new), Jan; canceled 2026-02-15 when the
  customer was deleted: 0 in Feb (churn 15), Mar.
- D: $125 a month tax-inclusive (25 % VAT, unit_amount_excluding_tax 10000): 100.00 in Jan (new),
  Feb, Mar; not 125.00.
Summary ending MRR: Dec 15.00, Jan 255.00, Feb 220.00, Mar 220.00; usage revenue Feb 60.00, Mar 40.00.

Seats with no var set, on product names the project has never seen ("Seats", "API calls", "Seats (VAT
incl.)"): the catalogue labels its seats (unit_label seat), so A has 3 seats, B 2 (its legacy plan's
product is labelled seat), D 1; C's subscription ended, so null. In the history-mode DuckDB build,
four users of A are active (Segment tracks) on its 3 seats: seat utilization 4 / 3, an expansion signal.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from conftest import pg_params, run_dbt

from accountpulse.raw_schema import SEGMENT_TABLES, create_table_sql

AS_OF = "2026-03-15"
OPEN_END = datetime(9999, 12, 31, 23, 59, 59)
SYNC = timedelta(minutes=20)

TIMESTAMPS = {
    "created",
    "start_date",
    "current_period_start",
    "current_period_end",
    "cancel_at",
    "canceled_at",
    "ended_at",
    "trial_start",
    "trial_end",
    "_fivetran_start",
    "_fivetran_end",
    "_fivetran_synced",
    "period_start",
    "period_end",
    "start",
    "end",
    "due_date",
}
BOOLEANS = {
    "livemode",
    "is_deleted",
    "_fivetran_deleted",
    "_fivetran_active",
    "cancel_at_period_end",
    "proration",
    "discountable",
}
INTEGERS = {
    "quantity",
    "amount",
    "unit_amount",
    "interval_count",
    "recurring_interval_count",
    "subtotal",
    "total",
    "amount_due",
    "amount_paid",
    "amount_off",
    "duration_in_months",
}


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def sql_type(column: str) -> str:
    if column in TIMESTAMPS:
        return "timestamp"
    if column in BOOLEANS:
        return "boolean"
    if column in INTEGERS:
        return "bigint"
    if column == "percent_off":
        return "double precision"
    return "varchar"  # ids, enums, metadata JSON, decimal strings (unit_amount_excluding_tax)


class FivetranStripe:
    """Literal rows per Stripe table; each table gets exactly the columns its rows carry."""

    def __init__(self, history_mode: bool) -> None:
        self.history_mode = history_mode
        self.rows: dict[str, list[dict]] = {}

    def add(self, table: str, **row: object) -> None:
        self.rows.setdefault(table, []).append(row)

    def versions(self, subscription_id: str, customer_id: str, livemode: bool, states: list[dict]) -> None:
        for index, state in enumerate(states):
            following = states[index + 1]["at"] if index + 1 < len(states) else None
            row = {
                "id": subscription_id,
                "customer_id": customer_id,
                "status": state["status"],
                "created": states[0]["at"],
                "start_date": states[0]["at"],
                "current_period_start": state["period"][0],
                "current_period_end": state["period"][1],
                "cancel_at_period_end": False,
                "canceled_at": state.get("ended_at"),
                "ended_at": state.get("ended_at"),
                "trial_start": None,
                "trial_end": None,
                "quantity": 1,
                "billing": "charge_automatically",
                "livemode": livemode,
                "metadata": "{}",
                "_fivetran_synced": state["at"] + SYNC,
            }
            if self.history_mode:
                row["_fivetran_start"] = state["at"]
                row["_fivetran_end"] = following - timedelta(milliseconds=1) if following else OPEN_END
                row["_fivetran_active"] = following is None
            self.add("subscription_history", **row)

    def invoice(
        self,
        invoice_id: str,
        customer_id: str,
        subscription_id: str,
        created: str,
        lines: list[dict],
        livemode: bool = True,
        deleted: bool = False,
    ) -> None:
        subtotal = sum(line["amount"] for line in lines)
        self.add(
            "invoice",
            id=invoice_id,
            customer_id=customer_id,
            subscription_id=subscription_id,
            status="draft" if deleted else "paid",
            billing_reason="subscription_cycle",
            created=ts(created),
            period_start=ts(created),
            period_end=ts(created),
            due_date=None,
            currency="usd",
            subtotal=subtotal,
            total=subtotal,
            amount_due=subtotal,
            amount_paid=0 if deleted else subtotal,
            is_deleted=False,
            livemode=livemode,
            _fivetran_deleted=deleted,
            _fivetran_synced=ts(created) + SYNC,
        )
        for number, line in enumerate(lines, start=1):
            quantity = line["quantity"]
            self.add(
                "invoice_line_item",
                id=f"il_{invoice_id}_{number}",
                invoice_id=invoice_id,
                unique_id=f"il_{invoice_id}_{number}",
                subscription_id=subscription_id,
                subscription_item_id=line["item"],
                plan_id=line["plan"],
                amount=line["amount"],
                currency="usd",
                quantity=quantity,
                period_start=ts(line["period"][0]),
                period_end=ts(line["period"][1]),
                proration=False,
                type="subscription",
                discountable=True,
                livemode=livemode,
                unit_amount_excluding_tax=line.get(
                    "excl", str(line["amount"] // quantity) if quantity else "0"
                ),
                _fivetran_deleted=deleted,
                _fivetran_synced=ts(created) + SYNC,
            )

    def monthly(
        self, sub: str, customer: str, item: str, plan: str, quantity: int, unit: int, starts: list[str], **kw
    ) -> None:
        """One invoice per period start (periods a month long), one line each."""
        for number, start in enumerate(starts):
            end = starts[number + 1] if number + 1 < len(starts) else _next_month(start)
            line = {
                "item": item,
                "plan": plan,
                "quantity": quantity,
                "amount": quantity * unit,
                "period": (start, end),
            }
            if "excl" in kw:
                line["excl"] = kw["excl"]
            self.invoice(
                f"in_{sub}_{number}", customer, sub, start, [line], livemode=kw.get("livemode", True)
            )


def _next_month(moment: str) -> str:
    at = ts(moment)
    month = at.month % 12 + 1
    return at.replace(year=at.year + (at.month == 12), month=month).isoformat(sep=" ")


def build_fixture(history_mode: bool) -> FivetranStripe:
    fx = FivetranStripe(history_mode)
    synced = ts("2026-03-15 06:00:00")
    for product_id, name, label in (
        ("prod_seat", "Seats", "seat"),
        ("prod_api", "API calls", "call"),
        ("prod_vat", "Seats (VAT incl.)", "seat"),
    ):
        fx.add(
            "product",
            id=product_id,
            name=name,
            unit_label=label,
            is_deleted=False,
            livemode=True,
            _fivetran_synced=synced,
        )
    for price_id, product, amount, usage, deleted, live in (
        ("price_seat", "prod_seat", 2000, "licensed", False, True),
        ("price_api", "prod_api", 5, "metered", False, True),
        ("price_old", "prod_seat", 1500, "licensed", True, True),  # deleted, still billed by C's lines
        ("price_vat", "prod_vat", 12500, "licensed", False, True),
        ("price_test", "prod_seat", 9900, "licensed", False, False),  # test mode
    ):
        fx.add(
            "price",
            id=price_id,
            product_id=product,
            active=not deleted,
            billing_scheme="per_unit",
            currency="usd",
            unit_amount=amount,
            unit_amount_decimal=str(amount),
            recurring_interval="month",
            recurring_interval_count=1,
            recurring_usage_type=usage,
            type="recurring",
            is_deleted=deleted,
            livemode=live,
            _fivetran_synced=synced,
        )
    fx.add(
        "plan",
        id="plan_legacy_seat",
        product_id="prod_seat",
        amount=4000,
        currency="usd",
        interval="month",
        interval_count=1,
        usage_type="licensed",
        billing_scheme="per_unit",
        active=True,
        is_deleted=False,
        livemode=True,
        _fivetran_synced=synced,
    )
    for customer_id, account, deleted, live in (
        ("cus_a", "acct_a", False, True),
        ("cus_b", "acct_b", False, True),
        ("cus_c", "acct_c", True, True),  # deleted: its past revenue stays
        ("cus_d", "acct_d", False, True),
        ("cus_t", "acct_a", False, False),  # test mode, naming a real account
    ):
        fx.add(
            "customer",
            id=customer_id,
            name=f"Customer {customer_id}",
            email=f"billing@{customer_id}.example",
            created=ts("2025-11-20 10:00:00"),
            currency="usd",
            is_deleted=deleted,
            livemode=live,
            metadata=json.dumps({"account_id": account}),
            _fivetran_synced=synced,
        )
    fx.add(
        "coupon",
        id="QUARTER-OFF",
        amount_off=None,
        percent_off=25.0,
        currency=None,
        duration="forever",
        duration_in_months=None,
        livemode=True,
        _fivetran_synced=synced,
    )

    # A: 3 seats at $20 from Jan 10, and a metered item billed in arrears
    a_starts = ["2026-01-10 09:00:00", "2026-02-10 09:00:00", "2026-03-10 09:00:00"]
    period = (a_starts[-1], "2026-04-10 09:00:00")
    fx.versions("sub_a", "cus_a", True, [{"at": ts(a_starts[0]), "status": "active", "period": period}])
    for item, plan, quantity in (("si_a_seat", "price_seat", 3), ("si_a_api", "price_api", None)):
        fx.add(
            "subscription_item",
            id=item,
            subscription_id="sub_a",
            plan_id=plan,
            quantity=quantity,
            created=ts(a_starts[0]),
            current_period_start=ts(period[0]),
            current_period_end=ts(period[1]),
            metadata="{}",
            _fivetran_deleted=False,
            _fivetran_synced=synced,
        )
    usage = [0, 1200, 800]  # calls reported for the period before each invoice
    for number, start in enumerate(a_starts):
        end = a_starts[number + 1] if number + 1 < len(a_starts) else period[1]
        previous = a_starts[number - 1] if number else start
        fx.invoice(
            f"in_sub_a_{number}",
            "cus_a",
            "sub_a",
            start,
            [
                {
                    "item": "si_a_seat",
                    "plan": "price_seat",
                    "quantity": 3,
                    "amount": 6000,
                    "period": (start, end),
                },
                {
                    "item": "si_a_api",
                    "plan": "price_api",
                    "quantity": usage[number],
                    "amount": 5 * usage[number],
                    "period": (previous, start),
                    "excl": "5",
                },
            ],
        )
    # a draft invoice for 5 more seats, deleted before it was finalized: Fivetran marks it deleted
    fx.invoice(
        "in_draft_a",
        "cus_a",
        "sub_a",
        "2026-03-10 10:00:00",
        [{"item": "si_a_seat", "plan": "price_seat", "quantity": 5, "amount": 10000, "period": period}],
        deleted=True,
    )

    # B: a legacy plan ($40 a seat), 2 seats from Jan 5; 25 % off forever from Feb 1 (subscription_discount)
    b_starts = ["2026-01-05 08:00:00", "2026-02-05 08:00:00", "2026-03-05 08:00:00"]
    fx.versions(
        "sub_b",
        "cus_b",
        True,
        [{"at": ts(b_starts[0]), "status": "active", "period": (b_starts[-1], "2026-04-05 08:00:00")}],
    )
    fx.add(
        "subscription_item",
        id="si_b",
        subscription_id="sub_b",
        plan_id="plan_legacy_seat",
        quantity=2,
        created=ts(b_starts[0]),
        current_period_start=ts(b_starts[-1]),
        current_period_end=ts("2026-04-05 08:00:00"),
        metadata="{}",
        _fivetran_deleted=False,
        _fivetran_synced=synced,
    )
    fx.monthly("sub_b", "cus_b", "si_b", "plan_legacy_seat", 2, 4000, b_starts)
    fx.add(
        "subscription_discount",
        id="di_b",
        subscription_id="sub_b",
        coupon_id="QUARTER-OFF",
        customer_id="cus_b",
        start=ts("2026-02-01 00:00:00"),
        end=None,
        _fivetran_synced=synced,
    )

    # the discount as it touched B's invoices (discount rows of type invoice: cash, not MRR)
    for number in (1, 2):
        fx.add(
            "discount",
            id="di_b",
            type="invoice",
            type_id=f"in_sub_b_{number}",
            amount=2000,
            coupon_id="QUARTER-OFF",
            customer_id="cus_b",
            subscription_id="sub_b",
            invoice_id=f"in_sub_b_{number}",
            invoice_item_id=None,
            start=ts("2026-02-01 00:00:00"),
            end=None,
            _fivetran_synced=synced,
        )

    # C: $15 from Dec 1 on a price since deleted; the customer was deleted on Feb 15 (subscription canceled)
    c_starts = ["2025-12-01 00:00:00", "2026-01-01 00:00:00", "2026-02-01 00:00:00"]
    fx.versions(
        "sub_c",
        "cus_c",
        True,
        [
            {"at": ts(c_starts[0]), "status": "active", "period": (c_starts[0], c_starts[1])},
            {"at": ts(c_starts[1]), "status": "active", "period": (c_starts[1], c_starts[2])},
            {"at": ts(c_starts[2]), "status": "active", "period": (c_starts[2], "2026-03-01 00:00:00")},
            {
                "at": ts("2026-02-15 12:00:00"),
                "status": "canceled",
                "period": (c_starts[2], "2026-03-01 00:00:00"),
                "ended_at": ts("2026-02-15 12:00:00"),
            },
        ],
    )
    fx.add(
        "subscription_item",
        id="si_c",
        subscription_id="sub_c",
        plan_id="price_old",
        quantity=1,
        created=ts(c_starts[0]),
        current_period_start=ts(c_starts[2]),
        current_period_end=ts("2026-03-01 00:00:00"),
        metadata="{}",
        _fivetran_deleted=False,
        _fivetran_synced=synced,
    )
    fx.monthly("sub_c", "cus_c", "si_c", "price_old", 1, 1500, c_starts)

    # D: $125 tax-inclusive (25 % VAT): $100 excluding tax, from Jan 20
    d_starts = ["2026-01-20 00:00:00", "2026-02-20 00:00:00"]
    fx.versions(
        "sub_d",
        "cus_d",
        True,
        [{"at": ts(d_starts[0]), "status": "active", "period": (d_starts[-1], "2026-03-20 00:00:00")}],
    )
    fx.add(
        "subscription_item",
        id="si_d",
        subscription_id="sub_d",
        plan_id="price_vat",
        quantity=1,
        created=ts(d_starts[0]),
        current_period_start=ts(d_starts[-1]),
        current_period_end=ts("2026-03-20 00:00:00"),
        metadata="{}",
        _fivetran_deleted=False,
        _fivetran_synced=synced,
    )
    fx.monthly("sub_d", "cus_d", "si_d", "price_vat", 1, 12500, d_starts, excl="10000")

    # T: test mode, metadata naming acct_a: 10 seats at $99 from Jan 1 (would add 990 to A)
    t_starts = ["2026-01-01 00:00:00", "2026-02-01 00:00:00", "2026-03-01 00:00:00"]
    fx.versions(
        "sub_t",
        "cus_t",
        False,
        [{"at": ts(t_starts[0]), "status": "active", "period": (t_starts[-1], "2026-04-01 00:00:00")}],
    )
    fx.add(
        "subscription_item",
        id="si_t",
        subscription_id="sub_t",
        plan_id="price_test",
        quantity=10,
        created=ts(t_starts[0]),
        current_period_start=ts(t_starts[-1]),
        current_period_end=ts("2026-04-01 00:00:00"),
        metadata="{}",
        _fivetran_deleted=False,
        _fivetran_synced=synced,
    )
    fx.monthly("sub_t", "cus_t", "si_t", "price_test", 10, 9900, t_starts, livemode=False)
    return fx


def segment_rows() -> dict[str, list[dict]]:
    """Four users of acct_a, each grouped into it and active on two days of the last 30."""
    rows: dict[str, list[dict]] = {"groups": [], "tracks": []}
    for user in range(1, 5):
        at = ts("2026-01-05 09:00:00")
        rows["groups"].append(
            {
                "id": f"grp_{user}",
                "user_id": f"u{user}",
                "group_id": "acct_a",
                "timestamp": at,
                "sent_at": at,
                "received_at": at,
                "name": "Account A",
            }
        )
        for day in ("2026-03-02", "2026-03-12"):
            at = ts(f"{day} 10:0{user}:00")
            rows["tracks"].append(
                {
                    "id": f"trk_{user}_{day}",
                    "user_id": f"u{user}",
                    "event": "dashboard_viewed",
                    "event_text": "Dashboard Viewed",
                    "timestamp": at,
                    "original_timestamp": at,
                    "sent_at": at,
                    "received_at": at,
                    "context_group_id": "acct_a",
                }
            )
    return rows


EXPECTED_MRR = {
    # (account, month): (mrr, movement, usage_revenue)
    ("acct_a", "2026-01"): ("60.00", "new", "0.00"),
    ("acct_a", "2026-02"): ("60.00", "unchanged", "60.00"),
    ("acct_a", "2026-03"): ("60.00", "unchanged", "40.00"),
    ("acct_b", "2026-01"): ("80.00", "new", "0.00"),
    ("acct_b", "2026-02"): ("60.00", "contraction", "0.00"),
    ("acct_b", "2026-03"): ("60.00", "unchanged", "0.00"),
    ("acct_c", "2025-12"): ("15.00", "new", "0.00"),
    ("acct_c", "2026-01"): ("15.00", "unchanged", "0.00"),
    ("acct_c", "2026-02"): ("0.00", "churn", "0.00"),
    ("acct_c", "2026-03"): ("0.00", "unchanged", "0.00"),
    ("acct_d", "2026-01"): ("100.00", "new", "0.00"),
    ("acct_d", "2026-02"): ("100.00", "unchanged", "0.00"),
    ("acct_d", "2026-03"): ("100.00", "unchanged", "0.00"),
}
EXPECTED_SUMMARY = {
    # month: (ending_mrr, usage_revenue)
    "2025-12": ("15.00", "0.00"),
    "2026-01": ("255.00", "0.00"),
    "2026-02": ("220.00", "60.00"),
    "2026-03": ("220.00", "40.00"),
}
ACCOUNT_SQL = (
    "select account_id, month_start, mrr, movement_type, usage_revenue from marts.fct_account_mrr_monthly"
)
SUMMARY_SQL = "select month_start, ending_mrr, usage_revenue from marts.fct_mrr_summary_monthly"
SEATS_SQL = "select account_id, licensed_seats from intermediate.int_account_revenue_current"
EXPECTED_SEATS = {"acct_a": 3, "acct_b": 2, "acct_c": None, "acct_d": 1}
UTILIZATION_SQL = (
    "select account_id, licensed_seats, active_users_30d, seat_utilization from marts.dim_accounts"
)
EXPANSION_SQL = (
    "select account_id from marts.account_alerts "
    "where alert_type = 'expansion_signal' and closed_date is null"
)
AUDIT_SQL = (
    "select source_table, disposition, reason, row_count from monitoring.mon_source_row_audit "
    "where reason in ('test_mode', 'deleted_at_source', 'deleted_in_stripe')"
)
EXPECTED_AUDIT = {
    ("stripe.customer", "excluded", "test_mode"): 1,
    ("stripe.customer", "flagged", "deleted_in_stripe"): 1,
    ("stripe.price", "excluded", "test_mode"): 1,
    ("stripe.price", "flagged", "deleted_in_stripe"): 1,
    ("stripe.subscription_history", "excluded", "test_mode"): 1,
    ("stripe.invoice", "excluded", "test_mode"): 3,
    ("stripe.invoice", "excluded", "deleted_at_source"): 1,
    ("stripe.invoice_line_item", "excluded", "test_mode"): 3,
    ("stripe.invoice_line_item", "excluded", "deleted_at_source"): 1,
}
BUILD = [
    "build",
    "--select",
    "+fct_mrr_summary_monthly",
    "+mon_source_row_audit",
    "+int_account_revenue_current",
    "--indirect-selection",
    "cautious",
    "--vars",
    json.dumps({"as_of_date": AS_OF}),
]


def _tables(fixture: FivetranStripe) -> list[tuple[str, list[str], list[tuple]]]:
    out = []
    for table, rows in fixture.rows.items():
        columns = list(dict.fromkeys(name for row in rows for name in row))
        out.append((table, columns, [tuple(row.get(name) for name in columns) for row in rows]))
    return out


def _create(table: str, columns: list[str]) -> str:
    typed = ", ".join(f'"{column}" {sql_type(column)}' for column in columns)
    return f'create table "stripe"."{table}" ({typed})'


def _load(
    execute, executemany, fixture: FivetranStripe, mark: str, segment: dict[str, list[dict]] | None = None
) -> None:
    execute('create schema if not exists "stripe"')
    execute('create schema if not exists "segment"')
    for raw in SEGMENT_TABLES:  # empty unless given: the accounts are billing-only
        execute(create_table_sql(raw))
        rows = (segment or {}).get(raw.name, [])
        if rows:
            marks = ", ".join(mark for _ in raw.column_names)
            executemany(
                f'insert into "segment"."{raw.name}" values ({marks})',
                [tuple(row.get(name) for name in raw.column_names) for row in rows],
            )
    for table, columns, rows in _tables(fixture):
        execute(_create(table, columns))
        marks = ", ".join(mark for _ in columns)
        executemany(f'insert into "stripe"."{table}" values ({marks})', rows)


def _normalise(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value.quantize(Decimal("0.01")))
    if isinstance(value, (date, datetime)):
        return value.isoformat()[:7]
    return value


def _collect(fetch) -> dict[str, object]:
    return {
        "accounts": {
            (row[0], _normalise(row[1])): tuple(_normalise(v) for v in row[2:]) for row in fetch(ACCOUNT_SQL)
        },
        "summary": {_normalise(row[0]): tuple(_normalise(v) for v in row[1:]) for row in fetch(SUMMARY_SQL)},
        "audit": {tuple(row[:3]): row[3] for row in fetch(AUDIT_SQL)},
        "seats": {row[0]: row[1] for row in fetch(SEATS_SQL)},
    }


def build_duckdb(workdir: Path, history_mode: bool, with_accounts: bool = False) -> dict[str, object]:
    """with_accounts: Segment rows for acct_a, and dim_accounts and account_alerts built on top."""
    db = workdir / "stripe_conformance.duckdb"
    con = duckdb.connect(str(db))
    _load(
        con.execute,
        con.executemany,
        build_fixture(history_mode),
        "?",
        segment_rows() if with_accounts else None,
    )
    con.close()
    select = BUILD[:2] + ["+dim_accounts", "+account_alerts"] + BUILD[2:] if with_accounts else BUILD
    run_dbt(select, target="duckdb", workdir=workdir, duckdb_path=db)
    con = duckdb.connect(str(db), read_only=True)
    try:
        results = _collect(lambda sql: con.execute(sql).fetchall())
        if with_accounts:
            results["utilization"] = {
                row[0]: (row[1], row[2], None if row[3] is None else round(row[3], 4))
                for row in con.execute(UTILIZATION_SQL).fetchall()
            }
            results["expansion"] = sorted(row[0] for row in con.execute(EXPANSION_SQL).fetchall())
        return results
    finally:
        con.close()


def build_postgres(workdir: Path, dbname: str, history_mode: bool) -> dict[str, object]:
    import psycopg2

    conn = psycopg2.connect(**pg_params(dbname))
    conn.autocommit = True
    with conn.cursor() as cur:
        _load(cur.execute, cur.executemany, build_fixture(history_mode), "%s")
    conn.close()
    run_dbt(BUILD, target="postgres", workdir=workdir, pg_dbname=dbname)
    conn = psycopg2.connect(**pg_params(dbname))

    def fetch(sql: str) -> list[tuple]:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()

    try:
        return _collect(fetch)
    finally:
        conn.close()


def check(results: dict[str, object]) -> None:
    assert results["accounts"] == EXPECTED_MRR
    assert results["summary"] == EXPECTED_SUMMARY
    assert results["audit"] == EXPECTED_AUDIT
    # seats found with no var set, on product names the project has never seen
    assert results["seats"] == EXPECTED_SEATS


def test_fixture_tables_have_only_fivetran_columns() -> None:
    """The fixtures are Fivetran's layout, not ours: no price_id, no discount_amount; history-mode
    columns only with history mode."""
    for history_mode in (True, False):
        tables = {name: columns for name, columns, _ in _tables(build_fixture(history_mode))}
        assert "price_id" not in tables["subscription_item"] + tables["invoice_line_item"]
        assert "discount_amount" not in tables["invoice_line_item"]
        assert ("_fivetran_start" in tables["subscription_history"]) is history_mode
        assert all("_fivetran_synced" in columns for columns in tables.values())


@pytest.mark.slow
@pytest.mark.parametrize("history_mode", [True, False], ids=["history_mode", "no_history_mode"])
def test_fivetran_stripe_layout_duckdb(tmp_path: Path, history_mode: bool) -> None:
    results = build_duckdb(tmp_path, history_mode, with_accounts=history_mode)
    check(results)
    if history_mode:
        # 4 active users on 3 seats: utilization 4 / 3 and an expansion signal; B and D pay for seats
        # nobody uses (0); C pays for nothing (null)
        assert results["utilization"] == {
            "acct_a": (3, 4, round(4 / 3, 4)),
            "acct_b": (2, 0, 0.0),
            "acct_c": (None, 0, None),
            "acct_d": (1, 0, 0.0),
        }
        assert results["expansion"] == ["acct_a"]


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize("history_mode", [True, False], ids=["history_mode", "no_history_mode"])
def test_fivetran_stripe_layout_postgres(tmp_path: Path, pg_database: str, history_mode: bool) -> None:
    check(build_postgres(tmp_path, pg_database, history_mode))
