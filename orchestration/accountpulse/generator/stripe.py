"""Play each billing plan out the way Stripe does and land the tables the way Fivetran does.

Rules followed (the revenue models derive MRR from them):
- An invoice at every period start, one `subscription` line per item (period = the billing period,
  amount = unit_amount x quantity, `discount_amount` = the coupon's share of that line). Like Stripe,
  the invoice's own period_start/period_end describe the *previous* period on renewals (and are both
  the creation time on a first invoice); use the lines for the billing period.
- `subtotal` = sum of the line amounts; `total` = subtotal - discounts + tax. Tax is never a line.
- A mid-period change at time t is invoiced at once (Stripe's `always_invoice`): `invoiceitem` lines
  with `proration` = true over t -> current period end, prorated by time: "unused time" (negative,
  old quantity/price) and "remaining time" (positive, new quantity/price) on the same subscription
  item; an added item has only the positive line, a removed item only the negative one. Prorations
  are not discountable (as in Stripe).
- `subscription_item` holds the current state only: current quantity and price; removed items are
  absent (they appear on invoice lines only); items of canceled subscriptions keep their last state.
- `subscription_history` gets a version for every change of its columns (Fivetran history mode):
  `_fivetran_start` = the change, `_fivetran_end` = next start - 1 ms, 9999-12-31 23:59:59 and
  `_fivetran_active` for the current one. Nothing after the end date is landed.
- Invoice status: `paid`; `open` while the subscription is past_due (still open at the end date),
  `uncollectible` when dunning gave up (unpaid, then canceled).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from accountpulse.generator.billing import BillingBook, CustomerPlan, SubscriptionPlan
from accountpulse.generator.clock import FIVETRAN_OPEN_END, MS_DAY, datetime_of, period_boundary
from accountpulse.generator.ids import rng_for, unique_stripe_ids
from accountpulse.generator.pricing import COUPONS, PRICES, PRODUCTS, TIERS, Coupon, Price, setup_fee_price

COUNTED_STATUSES = ("active", "past_due")
LIVE_STATUSES = ("active", "past_due", "trialing")
HISTORY_FIELDS = (
    "status",
    "current_period_start",
    "current_period_end",
    "cancel_at_period_end",
    "canceled_at",
    "ended_at",
    "trial_start",
    "trial_end",
)


def _second(ms: int) -> datetime:
    """Stripe keeps whole seconds."""
    return datetime_of(ms - ms % 1000)


def _round(value: Fraction) -> int:
    quotient = Decimal(value.numerator) / Decimal(value.denominator)
    return int(quotient.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass
class Item:
    id: str
    price: Price
    quantity: int
    created: datetime
    removed: bool = False


@dataclass
class Snapshot:
    """State that decides MRR, valid from `at` until the next snapshot."""

    at: datetime
    status: str
    items: tuple[tuple[Price, int], ...]


@dataclass
class SubscriptionRun:
    """One subscription as played out: its history and what it billed."""

    id: str
    customer: CustomerPlan
    plan: SubscriptionPlan
    coupon: Coupon | None = None
    discount_start: datetime | None = None
    discount_end: datetime | None = None
    snapshots: list[Snapshot] = field(default_factory=list)
    versions: list[tuple[datetime, dict[str, Any]]] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)
    current_period_end: datetime | None = None
    status: str = "incomplete"

    def discount_in_force(self, at: datetime) -> bool:
        if self.coupon is None or self.discount_start is None or at < self.discount_start:
            return False
        return self.discount_end is None or at < self.discount_end


@dataclass
class StripeData:
    tables: dict[str, list[dict[str, Any]]]
    runs: list[SubscriptionRun]
    customer_ids: dict[str, str]  # customer plan key -> cus_ id
    tier_changes: dict[int, list[tuple[datetime, str]]]  # account index -> (from, plan trait)


class _Simulator:
    def __init__(
        self,
        customer: CustomerPlan,
        customer_id: str,
        plan: SubscriptionPlan,
        horizon: datetime,
        seed: int,
        seats_at: Callable[[int, datetime], int],
        tables: dict[str, list[dict[str, Any]]],
        taken: set[str],
    ) -> None:
        self.customer, self.customer_id, self.plan = customer, customer_id, plan
        self.horizon, self.tables, self.taken = horizon, tables, taken
        self.rng = rng_for(seed, "stripe", customer.key, plan.label)
        self.seats_at = seats_at
        self.sub_id = self._id("sub_")
        self.run = SubscriptionRun(self.sub_id, customer, plan)
        self.state: dict[str, Any] = {}
        self.queue: list[tuple[datetime, int, str, tuple]] = []
        self.sequence = 0
        self.anchor: datetime | None = None
        self.period_index = 0
        self.open_invoice: dict[str, Any] | None = None
        self.failed_once = False
        self.setup_billed = False
        self.discount_id = self._id("di_")

    # ------------------------------------------------------------------------------------ helpers
    def _id(self, prefix: str) -> str:
        return unique_stripe_ids(self.rng, 1, prefix, self.taken)[0]

    def _push(self, at: datetime, kind: str, args: tuple = ()) -> None:
        self.sequence += 1
        heapq.heappush(self.queue, (at, self.sequence, kind, args))

    def _record(self, at: datetime) -> None:
        """A history version (if a tracked column changed) and an MRR snapshot (if state changed)."""
        fields_now = {name: self.state.get(name) for name in HISTORY_FIELDS}
        versions = self.run.versions
        if versions and versions[-1][0] == at:
            versions[-1] = (at, fields_now)
        elif not versions or versions[-1][1] != fields_now:
            versions.append((at, fields_now))
        items = tuple((item.price, item.quantity) for item in self.run.items if not item.removed)
        snap = Snapshot(at, self.state["status"], items)
        snaps = self.run.snapshots
        if snaps and snaps[-1].at == at:
            snaps[-1] = snap
        elif not snaps or (snaps[-1].status, snaps[-1].items) != (snap.status, snap.items):
            snaps.append(snap)
        self.run.status = self.state["status"]
        self.run.current_period_end = self.state["current_period_end"]

    def _boundary(self, index: int) -> datetime:
        price = self.run.items[0].price
        assert self.anchor is not None and price.interval is not None
        return period_boundary(self.anchor, price.interval, price.interval_count or 1, index)

    def _line(self, invoice_id: str, **values: Any) -> dict[str, Any]:
        row = {
            "id": self._id("il_"),
            "invoice_id": invoice_id,
            "subscription_id": self.sub_id,
            "subscription_item_id": None,
            "price_id": None,
            "amount": 0,
            "currency": self.customer.currency,
            "quantity": None,
            "period_start": None,
            "period_end": None,
            "proration": False,
            "type": "subscription",
            "discount_amount": 0,
        }
        row.update(values)
        row["plan_id"] = row.pop("price_id")  # Fivetran lands an item's price id as plan_id
        return row

    def _invoice(
        self,
        at: datetime,
        lines: list[dict[str, Any]],
        period: tuple[datetime, datetime],
        status: str = "paid",
    ) -> dict[str, Any]:
        invoice_id = lines[0]["invoice_id"]
        discount = 0
        if self.run.discount_in_force(at):
            coupon = self.run.coupon
            assert coupon is not None
            remaining = coupon.amount_off or 0
            for line in lines:
                if line["proration"] or line["type"] != "subscription" or line["amount"] <= 0:
                    continue
                if coupon.percent_off is not None:
                    share = _round(Fraction(line["amount"]) * Fraction(str(coupon.percent_off)) / 100)
                else:
                    share = min(remaining, line["amount"])
                    remaining -= share
                line["discount_amount"] = share
                discount += share
        subtotal = sum(line["amount"] for line in lines)
        tax = _round(Fraction(subtotal - discount) * Fraction(str(self.customer.tax_rate)))
        invoice = {
            "id": invoice_id,
            "customer_id": self.customer_id,
            "subscription_id": self.sub_id,
            "status": status,
            "created": at,
            "period_start": period[0],
            "period_end": period[1],
            "currency": self.customer.currency,
            "subtotal": subtotal,
            "total": subtotal - discount + tax,
        }
        self.tables["invoice"].append(invoice)
        self.tables["invoice_line_item"].extend(lines)
        if discount:
            self._discount_row("invoice", invoice_id, invoice_id)
        return invoice

    def _discount_row(self, kind: str, type_id: str, invoice_id: str | None) -> None:
        run = self.run
        assert run.coupon is not None and run.discount_start is not None
        self.tables["discount"].append(
            {
                "id": self.discount_id,
                "type": kind,
                "type_id": type_id,
                "coupon_id": run.coupon.id,
                "customer_id": self.customer_id,
                "subscription_id": self.sub_id,
                "invoice_id": invoice_id,
                "start": run.discount_start,
                "end": run.discount_end,
            }
        )

    def _period_lines(
        self, invoice_id: str, start: datetime, end: datetime, trial: bool = False
    ) -> list[dict]:
        return [
            self._line(
                invoice_id,
                subscription_item_id=item.id,
                price_id=item.price.id,
                amount=0 if trial else item.price.unit_amount * item.quantity,
                quantity=item.quantity,
                period_start=start,
                period_end=end,
            )
            for item in self.run.items
            if not item.removed
        ]

    def _bill_period(
        self, at: datetime, previous: tuple[datetime, datetime] | None, status: str = "paid"
    ) -> None:
        invoice_id = self._id("in_")
        start, end = self.state["current_period_start"], self.state["current_period_end"]
        lines = self._period_lines(invoice_id, start, end, trial=self.state["status"] == "trialing")
        if self.plan.setup_fee and not self.setup_billed and self.state["status"] != "trialing":
            fee = setup_fee_price(self.customer.currency)
            lines.append(
                self._line(
                    invoice_id,
                    price_id=fee.id,
                    amount=fee.unit_amount,
                    quantity=1,
                    period_start=at,
                    period_end=at,
                    type="invoiceitem",
                )
            )
            self.setup_billed = True
        invoice = self._invoice(at, lines, previous or (at, at), status)
        if status == "open":
            self.open_invoice = invoice

    def _prorate(self, at: datetime, changes: list[tuple[Item, Price, int, int]]) -> None:
        """changes: (item, price, old quantity, new quantity); 0 = absent on that side."""
        if self.state["status"] not in ("active", "past_due"):
            return
        start, end = self.state["current_period_start"], self.state["current_period_end"]
        share = Fraction(int((end - at).total_seconds() * 1000), int((end - start).total_seconds() * 1000))
        invoice_id = self._id("in_")
        lines = []
        for item, old_price, old_qty, new_qty in changes:
            if old_qty:
                lines.append(
                    self._line(
                        invoice_id,
                        subscription_item_id=item.id,
                        price_id=old_price.id,
                        amount=-_round(old_price.unit_amount * old_qty * share),
                        quantity=old_qty,
                        period_start=at,
                        period_end=end,
                        proration=True,
                        type="invoiceitem",
                    )
                )
            if new_qty:
                lines.append(
                    self._line(
                        invoice_id,
                        subscription_item_id=item.id,
                        price_id=item.price.id,
                        amount=_round(item.price.unit_amount * new_qty * share),
                        quantity=new_qty,
                        period_start=at,
                        period_end=end,
                        proration=True,
                        type="invoiceitem",
                    )
                )
        if lines:
            self._invoice(at, lines, (at, at))

    # ---------------------------------------------------------------------------------------- run
    def simulate(self) -> SubscriptionRun:
        plan = self.plan
        start = _second(plan.start_ms)
        if start >= self.horizon:
            return self.run
        quantity = plan.quantity
        if quantity is None:
            account = self.customer.account_index
            seats = self.seats_at(account, start) if account is not None else 1
            quantity = max(1, seats) + int(self.rng.integers(0, 3))
        self.run.items.append(Item(self._id("si_"), plan.price, quantity, start))
        self.state = {
            "created": start,
            "start_date": start,
            "status": "active",
            "current_period_start": start,
            "current_period_end": None,
            "cancel_at_period_end": False,
            "canceled_at": None,
            "ended_at": None,
            "trial_start": None,
            "trial_end": None,
        }
        if plan.coupon is not None:
            self.run.coupon = plan.coupon
            self.run.discount_start = start
            if plan.coupon.duration == "repeating" and plan.coupon.duration_in_months:
                self.run.discount_end = period_boundary(start, "month", plan.coupon.duration_in_months, 1)
        if plan.trial_days:
            trial_end = start + timedelta(days=plan.trial_days)
            self.state.update(
                status="trialing", current_period_end=trial_end, trial_start=start, trial_end=trial_end
            )
        else:
            self.anchor = start
            self.state["current_period_end"] = self._boundary(1)
        self._record(start)
        self._bill_period(start, None)
        if plan.coupon is not None:
            self._discount_row("subscription", self.sub_id, None)
        for at_ms, kind, args in plan.actions:
            if at_ms is not None:
                self._push(_second(at_ms), kind, args)
        if plan.seat_sync:
            self._schedule_seat_check()

        while True:
            if self.state["status"] in ("canceled", "incomplete_expired"):
                break
            boundary = self.state["current_period_end"]
            next_action = self.queue[0][0] if self.queue else None
            if next_action is not None and next_action < boundary:
                at, _, kind, args = heapq.heappop(self.queue)
                if at >= self.horizon:
                    break
                self._act(at, kind, args)
            else:
                if boundary >= self.horizon:
                    break
                self._period_end(boundary)
        return self.run

    def _schedule_seat_check(self) -> None:
        start, end = self.state["current_period_start"], self.state["current_period_end"]
        frac = float(self.rng.uniform(0.2, 0.8))
        self._push(start + timedelta(seconds=int((end - start).total_seconds() * frac)), "seat_check", ())

    def _period_end(self, at: datetime) -> None:
        state = self.state
        previous = (state["current_period_start"], state["current_period_end"])
        if state["status"] == "trialing":
            if not self.plan.trial_converts:
                state.update(status="canceled", canceled_at=at, ended_at=at)
                self._record(at)
                return
            self.anchor = at
            self.period_index = 0
            state.update(status="active", current_period_start=at, current_period_end=self._boundary(1))
            self._record(at)
            self._bill_period(at, previous)
            if self.plan.seat_sync:
                self._schedule_seat_check()
            return
        if state["cancel_at_period_end"] or state["status"] == "unpaid":
            state.update(status="canceled", ended_at=at)
            if state["canceled_at"] is None:
                state["canceled_at"] = at
            self._record(at)
            return
        self.period_index += 1
        state.update(current_period_start=at, current_period_end=self._boundary(self.period_index + 1))
        fails = self._renewal_fails(at)
        if fails:
            state["status"] = "past_due"
        self._record(at)
        self._bill_period(at, previous, status="open" if fails else "paid")
        if fails:
            self.failed_once = True
            outcome = "open" if self.plan.fail_last_renewal else self.plan.fail_outcome
            if outcome == "recover":
                self._push(at + timedelta(days=self.plan.fail_days, hours=3), "recover", ())
            elif outcome == "unpaid":
                self._push(at + timedelta(days=self.plan.fail_days, hours=1), "unpaid", ())
        if self.plan.seat_sync:
            self._schedule_seat_check()

    def _renewal_fails(self, at: datetime) -> bool:
        if self.failed_once:
            return False
        if self.plan.fail_last_renewal:
            return self.state["current_period_end"] >= self.horizon
        after = self.plan.fail_renewal_after_ms
        return after is not None and at >= datetime_of(after)

    def _act(self, at: datetime, kind: str, args: tuple) -> None:
        state = self.state
        live = state["status"] in LIVE_STATUSES
        items = self.run.items
        if kind == "seat_check":
            if state["status"] == "active" and self.customer.account_index is not None:
                target = max(1, self.seats_at(self.customer.account_index, at))
                main = items[0]
                if target > main.quantity or (main.quantity - target >= 3 and self.rng.random() < 0.5):
                    self._change_quantity(at, main, target)
            return
        if kind == "quantity" and live:
            self._change_quantity(at, items[args[0]], args[1])
        elif kind == "price" and live:
            item, new_price = items[args[0]], args[1]
            old_price = item.price
            item.price = new_price
            self._prorate(at, [(item, old_price, item.quantity, item.quantity)])
            self._record(at)
        elif kind == "add_item" and live:
            price, quantity = args
            item = Item(self._id("si_"), price, quantity, at)
            items.append(item)
            self._prorate(at, [(item, price, 0, quantity)])
            self._record(at)
        elif kind == "remove_item" and live:
            item = items[args[0]]
            if not item.removed:
                item.removed = True
                self._prorate(at, [(item, item.price, item.quantity, 0)])
                self._record(at)
        elif kind == "cancel_at_period_end" and live:
            state.update(cancel_at_period_end=True, canceled_at=at)
            self._record(at)
        elif kind == "cancel_now" and state["status"] != "canceled":
            state.update(status="canceled", canceled_at=at, ended_at=at)
            if self.open_invoice is not None:
                self.open_invoice["status"] = "uncollectible"
            self._record(at)
        elif kind == "recover" and state["status"] == "past_due":
            state["status"] = "active"
            if self.open_invoice is not None:
                self.open_invoice["status"] = "paid"
                self.open_invoice = None
            self._record(at)
        elif kind == "unpaid" and state["status"] == "past_due":
            state["status"] = "unpaid"
            self._record(at)
            self._push(at + timedelta(days=10), "cancel_now", ())

    def _change_quantity(self, at: datetime, item: Item, quantity: int) -> None:
        if quantity == item.quantity or item.removed:
            return
        old = item.quantity
        item.quantity = quantity
        self._prorate(at, [(item, item.price, old, quantity)])
        self._record(at)


def simulate(
    book: BillingBook, end_day: int, seed: int, seats_at: Callable[[int, datetime], int]
) -> StripeData:
    horizon = datetime_of((end_day + 1) * MS_DAY)
    tables: dict[str, list[dict[str, Any]]] = {
        name: []
        for name in (
            "customer",
            "subscription_history",
            "subscription_item",
            "price",
            "product",
            "coupon",
            "discount",
            "invoice",
            "invoice_line_item",
        )
    }
    taken: set[str] = set()
    runs: list[SubscriptionRun] = []
    customer_ids: dict[str, str] = {}
    for customer in book.customers:
        rng = rng_for(seed, "stripe", customer.key, "customer")
        customer_id = unique_stripe_ids(rng, 1, "cus_", taken)[0]
        customer_ids[customer.key] = customer_id
        created = _second(customer.created_ms)
        if created >= horizon:
            continue
        tables["customer"].append(
            {
                "id": customer_id,
                "name": customer.name,
                "email": customer.email,
                "created": created,
                "currency": customer.currency,
                "is_deleted": customer.is_deleted,
                "metadata": customer.metadata,
            }
        )
        for plan in customer.subscriptions:
            sim = _Simulator(customer, customer_id, plan, horizon, seed, seats_at, tables, taken)
            run = sim.simulate()
            if not run.versions:
                continue
            runs.append(run)
            _land_history(run, customer_id, sim.state, tables)
            for item in run.items:
                if not item.removed:
                    tables["subscription_item"].append(
                        {
                            "id": item.id,
                            "subscription_id": run.id,
                            "plan_id": item.price.id,
                            "quantity": item.quantity,
                            "created": item.created,
                        }
                    )
    for product in PRODUCTS.values():
        tables["product"].append({"id": product.id, "name": product.name})
    for price in PRICES.values():
        tables["price"].append(
            {
                "id": price.id,
                "product_id": price.product.id,
                "unit_amount": price.unit_amount,
                "currency": price.currency,
                "recurring_interval": price.interval,
                "recurring_interval_count": price.interval_count,
                "type": price.type,
            }
        )
    for coupon in COUPONS:
        tables["coupon"].append(
            {
                "id": coupon.id,
                "amount_off": coupon.amount_off,
                "percent_off": coupon.percent_off,
                "currency": coupon.currency,
                "duration": coupon.duration,
                "duration_in_months": coupon.duration_in_months,
            }
        )
    return StripeData(tables, runs, customer_ids, _tier_changes(runs))


def _land_history(
    run: SubscriptionRun, customer_id: str, state: dict[str, Any], tables: dict[str, list[dict]]
) -> None:
    versions = run.versions
    for k, (at, fields_at) in enumerate(versions):
        last = k == len(versions) - 1
        tables["subscription_history"].append(
            {
                "id": run.id,
                "customer_id": customer_id,
                "created": state["created"],
                "start_date": state["start_date"],
                **fields_at,
                "_fivetran_start": at,
                "_fivetran_end": FIVETRAN_OPEN_END
                if last
                else versions[k + 1][0] - timedelta(milliseconds=1),
                "_fivetran_active": last,
                "_fivetran_synced": at,
            }
        )


def _tier_changes(runs: list[SubscriptionRun]) -> dict[int, list[tuple[datetime, str]]]:
    """The group `plan` trait over time: the highest tier among live subscriptions, else starter."""
    by_account: dict[int, list[SubscriptionRun]] = {}
    for run in runs:
        if run.customer.account_index is not None:
            by_account.setdefault(run.customer.account_index, []).append(run)
    out: dict[int, list[tuple[datetime, str]]] = {}
    for account, account_runs in sorted(by_account.items()):
        moments = sorted({snap.at for run in account_runs for snap in run.snapshots})
        changes: list[tuple[datetime, str]] = []
        for moment in moments:
            best = -1
            for run in account_runs:
                snap = _snapshot_at(run, moment)
                if snap is None or snap.status not in LIVE_STATUSES:
                    continue
                for price, _ in snap.items:
                    if price.product.tier is not None:
                        best = max(best, TIERS.index(price.product.tier))
            tier = TIERS[best] if best >= 0 else "starter"
            if not changes or changes[-1][1] != tier:
                changes.append((moment, tier))
        out[account] = changes
    return out


def _snapshot_at(run: SubscriptionRun, moment: datetime) -> Snapshot | None:
    """The snapshot in force at `moment` (the last one at or before it)."""
    chosen = None
    for snap in run.snapshots:
        if snap.at <= moment:
            chosen = snap
        else:
            break
    return chosen


snapshot_at = _snapshot_at
