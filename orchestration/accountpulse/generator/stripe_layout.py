"""What a real Stripe account landed by Fivetran has beyond the simulated subscriptions.

`add_layout_customers` adds to the billing book, before anything is simulated:
- a legacy plan: the customer without an account id is billed through a `plan` (id `plan_...`, in
  the `plan` table, not in `price`) at the same amount as before, so its MRR is unchanged;
- a metered price (usage billed per unit, `recurring_usage_type = metered`): a second subscription of
  the billing-only customer; usage revenue, never MRR;
- a deleted customer with past revenue: its subscription ran on a price since deleted, and ended
  when the customer was deleted (Stripe cancels a deleted customer's subscriptions);
- a test-mode customer (`livemode = false`) whose metadata names a real paying account, on a test-mode
  price: if test-mode rows reached the revenue models they would inflate that account's MRR.

`land_fivetran_layout` then rewrites the simulated tables into Fivetran's layout: `plan_id` (not
`price_id`) on subscription items and invoice lines, `livemode`, `is_deleted`, `_fivetran_deleted`
and `_fivetran_synced` on every row, `unit_amount_excluding_tax` (a decimal string) on invoice lines,
the price/product/plan columns of the published schema, `discount.amount` on invoice discounts,
`subscription_discount` rows, and the removed subscription items (landed with `_fivetran_deleted`).
Taxes are exclusive in the demo, so `unit_amount_excluding_tax` is the line's amount / quantity.

Seats as a real catalogue shows them: every price is `billing_scheme = per_unit` (Stripe's flat prices
are per-unit prices bought once), the plan products carry `unit_label = seat`, the flat add-ons (extra
workspace, priority support) none and the metered API product its own unit, so the models find the
seats from the labels with no var set (macro is_seat_price).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from accountpulse.generator.billing import BillingBook, CustomerPlan, SubscriptionPlan
from accountpulse.generator.clock import FIVETRAN_OPEN_END, MS_DAY, MS_HOUR
from accountpulse.generator.population import Account
from accountpulse.generator.pricing import PRICES, PRODUCTS, Price, Product
from accountpulse.raw_schema import STRIPE_TABLES

SYNC_DELAY = timedelta(minutes=20)

API_REQUESTS = Product("api_requests", "API requests", None)
UNIT_LABELS = {
    "starter": "seat",
    "team": "seat",
    "business": "seat",
    "enterprise": "seat",
    "api_requests": "1k requests",
}


@dataclass(frozen=True)
class LayoutPrice(Price):
    """A price of the layout accounts: metered, deleted, test-mode, or a legacy plan."""

    usage_type: str = "licensed"
    is_deleted: bool = False
    livemode: bool = True
    legacy_plan: bool = False

    @property
    def id(self) -> str:
        return super().id.replace("price_", "plan_", 1) if self.legacy_plan else super().id


LEGACY_STARTER_PLAN = LayoutPrice(
    "starter_monthly_2019", PRODUCTS["starter"], 2_000, "usd", "month", 1, legacy_plan=True
)
METERED_API_REQUESTS = LayoutPrice(
    "api_requests_metered_usd", API_REQUESTS, 40, "usd", "month", 1, usage_type="metered"
)
DELETED_STARTER_PRICE = LayoutPrice(
    "starter_month_usd_2022", PRODUCTS["starter"], 1_800, "usd", "month", 1, is_deleted=True
)
TEST_MODE_TEAM_PRICE = LayoutPrice(
    "team_month_usd_test", PRODUCTS["team"], 3_000, "usd", "month", 1, livemode=False
)
LAYOUT_PRICES = (LEGACY_STARTER_PLAN, METERED_API_REQUESTS, DELETED_STARTER_PRICE, TEST_MODE_TEAM_PRICE)
METERED_USAGE = 1_500  # thousands of API requests a month, billed at the metered price


def is_metered(price: Price) -> bool:
    return isinstance(price, LayoutPrice) and price.usage_type == "metered"


def add_layout_customers(book: BillingBook, accounts: list[Account], start_day: int) -> None:
    """The legacy plan, metered price, deleted customer and test-mode customer (see module doc).
    Deterministic and drawn from no random stream, so every other plan stays as it was."""
    window_start_ms = start_day * MS_DAY
    by_key = {customer.key: customer for customer in book.customers}
    unlinked = by_key["no-account-id"]
    unlinked.subscriptions[0].price = LEGACY_STARTER_PLAN
    billing_only = by_key["billing-only"]
    billing_only.subscriptions.append(
        SubscriptionPlan(
            "usage",
            window_start_ms - 120 * MS_DAY + 9 * MS_HOUR,
            METERED_API_REQUESTS,
            quantity=METERED_USAGE,
        )
    )
    deleted = CustomerPlan(
        key="deleted-with-history",
        account_index=None,
        account_id=None,
        metadata=None,
        name="Brightwater Studio Ltd",
        email="finance@brightwater-studio.example",
        currency="usd",
        created_ms=window_start_ms - 190 * MS_DAY,
        tax_rate=0.0,
        is_deleted=True,
    )
    ran = SubscriptionPlan(
        "main", window_start_ms - 190 * MS_DAY + 2 * MS_HOUR, DELETED_STARTER_PRICE, quantity=4
    )
    # an add-on item added, then removed (Fivetran keeps the removed item, marked _fivetran_deleted)
    ran.actions.append((window_start_ms - 150 * MS_DAY, "add_item", (PRICES["workspace_addon_month_usd"], 1)))
    ran.actions.append((window_start_ms - 120 * MS_DAY, "remove_item", (1,)))
    ran.actions.append((window_start_ms - 20 * MS_DAY + 5 * MS_HOUR, "cancel_now", ()))
    deleted.subscriptions.append(ran)
    # an ordinary paying account (no story, no scenario): what its MRR must stay at is plain
    in_scenarios = {account_id for ids in book.scenarios.values() for account_id in ids}
    ordinary = {a.index for a in accounts if a.story is None and a.account_id not in in_scenarios}
    linked = [c for c in book.customers if c.account_index is not None]
    shadowed = next((c for c in linked if c.account_index in ordinary), linked[-1])
    test_mode = CustomerPlan(
        key="test-mode",
        account_index=None,
        account_id=shadowed.account_id,
        metadata=json.dumps({"account_id": shadowed.account_id}),
        name=f"{shadowed.name} (test mode)",
        email="qa+stripe@accountpulse-demo.example",
        currency="usd",
        created_ms=window_start_ms - 60 * MS_DAY,
        tax_rate=0.0,
        livemode=False,
    )
    test_mode.subscriptions.append(
        SubscriptionPlan("main", window_start_ms - 60 * MS_DAY + MS_HOUR, TEST_MODE_TEAM_PRICE, quantity=25)
    )
    book.customers += [deleted, test_mode]
    book.scenarios["legacy_plan_customer"] = [unlinked.key]
    book.scenarios["deleted_customer_with_revenue"] = [deleted.key]
    book.scenarios["test_mode_customer"] = [test_mode.key]


def _synced(row: dict[str, Any], horizon: datetime) -> datetime:
    """When Fivetran last wrote the row: a little after its latest time (after the version's start for
    a history row, so versions order the same by either), never after the end."""
    if "_fivetran_start" in row:
        return row["_fivetran_start"] + SYNC_DELAY
    times = [v for v in row.values() if isinstance(v, datetime) and v != FIVETRAN_OPEN_END]
    latest = max(times) + SYNC_DELAY if times else horizon - timedelta(days=1)
    return min(latest, horizon - timedelta(minutes=1))


def _excluding_tax(amount: int, quantity: int | None) -> str:
    """Stripe's unit_amount_excluding_tax: the line's amount per unit as a decimal string."""
    value = Decimal(amount) / Decimal(quantity or 1)
    text = format(value.quantize(Decimal("0.000000000001")).normalize(), "f")
    return "0" if text in ("-0", "") else text


def _price_row(price: Price, plan: bool) -> dict[str, Any]:
    usage = getattr(price, "usage_type", "licensed") if price.interval else None
    row: dict[str, Any] = {
        "id": price.id,
        "product_id": price.product.id,
        "currency": price.currency,
        "billing_scheme": "per_unit",
        "is_deleted": getattr(price, "is_deleted", False),
        "livemode": getattr(price, "livemode", True),
        "_fivetran_deleted": False,
    }
    if plan:
        row.update(
            amount=price.unit_amount,
            interval=price.interval,
            interval_count=price.interval_count,
            usage_type=usage,
        )
    else:
        row.update(
            unit_amount=price.unit_amount,
            unit_amount_decimal=str(price.unit_amount),
            recurring_interval=price.interval,
            recurring_interval_count=price.interval_count,
            recurring_usage_type=usage,
            type=price.type,
        )
    return row


def land_fivetran_layout(data: Any, horizon: datetime) -> None:
    """Rewrite a StripeData's tables into Fivetran's Stripe layout (see module doc), in place."""
    tables = data.tables
    test_customers = {data.customer_ids[run.customer.key] for run in data.runs if not run.customer.livemode}
    test_invoices = {row["id"] for row in tables["invoice"] if row["customer_id"] in test_customers}

    for row in tables["customer"]:
        row["livemode"] = row["id"] not in test_customers
    for row in tables["subscription_history"]:
        row["livemode"] = row["customer_id"] not in test_customers
    for run in data.runs:
        for item in run.items:
            if item.removed:
                # a removed item no longer exists in Stripe: Fivetran keeps its last state, marked deleted
                tables["subscription_item"].append(
                    {
                        "id": item.id,
                        "subscription_id": run.id,
                        "price_id": item.price.id,
                        "quantity": item.quantity,
                        "created": item.created,
                        "_fivetran_deleted": True,
                    }
                )
    metered_ids = {p.id for p in LAYOUT_PRICES if is_metered(p)}
    for row in tables["subscription_item"]:
        _plan_id(row)
        row.setdefault("_fivetran_deleted", False)
        if row["plan_id"] in metered_ids:
            row["quantity"] = None  # a metered item has no quantity: usage is reported per period
    for row in tables["invoice"]:
        row["livemode"] = row["id"] not in test_invoices
        row["is_deleted"] = False
    invoice_discounts: dict[str, int] = {}
    for row in tables["invoice_line_item"]:
        _plan_id(row)
        row["livemode"] = row["invoice_id"] not in test_invoices
        row["unique_id"] = row["id"]
        row["discountable"] = not row["proration"]
        row["unit_amount_excluding_tax"] = _excluding_tax(row["amount"], row["quantity"])
        invoice_discounts[row["invoice_id"]] = invoice_discounts.get(row["invoice_id"], 0) + (
            row["discount_amount"] or 0
        )
    for row in tables["discount"]:
        row["amount"] = invoice_discounts.get(row["invoice_id"], 0) if row["type"] == "invoice" else None
        row["invoice_item_id"] = None
    tables["subscription_discount"] = [
        {
            "id": row["id"],
            "subscription_id": row["subscription_id"],
            "coupon_id": row["coupon_id"],
            "customer_id": row["customer_id"],
            "start": row["start"],
            "end": row["end"],
        }
        for row in tables["discount"]
        if row["type"] == "subscription"
    ]

    tables["price"] = [_price_row(price, plan=False) for price in PRICES.values()]
    tables["price"] += [_price_row(price, plan=False) for price in LAYOUT_PRICES if not price.legacy_plan]
    tables["plan"] = [_price_row(price, plan=True) for price in LAYOUT_PRICES if price.legacy_plan]
    tables["product"].append({"id": API_REQUESTS.id, "name": API_REQUESTS.name})
    keys = {product.id: key for key, product in {**PRODUCTS, API_REQUESTS.key: API_REQUESTS}.items()}
    for row in tables["product"]:
        row.update(unit_label=UNIT_LABELS.get(keys.get(row["id"], "")), is_deleted=False, livemode=True)
    contract = {raw.name: set(raw.column_names) for raw in STRIPE_TABLES}
    for name, rows in tables.items():
        columns = contract.get(name, set())
        for row in rows:
            for flag, default in (("livemode", True), ("_fivetran_deleted", False)):
                if flag in columns:
                    row.setdefault(flag, default)
                elif row.get(flag, default) == default:
                    row.pop(flag, None)  # a column this table does not have in Fivetran's layout
            row["_fivetran_synced"] = _synced(row, horizon)


def _plan_id(row: dict[str, Any]) -> None:
    """Fivetran lands an item's or line's price id as plan_id (a price id or a legacy plan id)."""
    if "price_id" in row:
        row["plan_id"] = row.pop("price_id")
