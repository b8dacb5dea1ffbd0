"""Ground truth: the MRR the generator intended, per account and month, in the reporting currency.

MRR at a moment = for each subscription that is `active` or `past_due` at that moment: the sum over
its items of unit_amount x quantity normalised to a month (year / 12, week x 52 / 12, divided by the
interval count), net of a coupon in force (percent off, or amount off per billing interval
normalised the same way), converted with the FX rate in force that day. Trials, one-time charges,
taxes, metered prices (usage revenue) and test-mode customers are excluded; `unpaid` and `canceled`
count nothing. Monthly MRR is taken at the end of the month's last day (the end date for the last
month), from the account's first paid month on.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from accountpulse.generator.catalog import Catalog
from accountpulse.generator.clock import day_start, month_start, month_starts, next_month_start
from accountpulse.generator.pricing import minor_per_major
from accountpulse.generator.stripe import COUNTED_STATUSES, StripeData, SubscriptionRun, snapshot_at
from accountpulse.generator.stripe_layout import is_metered

JUST_BEFORE = timedelta(microseconds=1)


def run_mrr_minor(run: SubscriptionRun, moment: datetime) -> Fraction:
    """A subscription's MRR at `moment`, in its currency's minor units."""
    snap = snapshot_at(run, moment)
    if snap is None or snap.status not in COUNTED_STATUSES or not snap.items:
        return Fraction(0)
    if not run.customer.livemode:
        return Fraction(0)  # test-mode rows are never revenue
    licensed = [(p, q) for p, q in snap.items if not is_metered(p)]  # metered usage is never MRR
    gross = sum((Fraction(p.unit_amount * q) * p.monthly_factor() for p, q in licensed), Fraction(0))
    coupon = run.coupon
    if coupon is not None and run.discount_in_force(moment):
        if coupon.percent_off is not None:
            gross *= 1 - Fraction(str(coupon.percent_off)) / 100
        elif coupon.amount_off:
            gross -= Fraction(coupon.amount_off) * snap.items[0][0].monthly_factor()
    return max(gross, Fraction(0))


def _first_paid(runs: Iterable[SubscriptionRun]) -> datetime | None:
    firsts = [
        snap.at
        for run in runs
        for snap in run.snapshots
        if snap.status in COUNTED_STATUSES and run_mrr_minor(run, snap.at) > 0
    ]
    return min(firsts) if firsts else None


def account_key(run: SubscriptionRun, customer_ids: dict[str, str]) -> str:
    """The account a subscription's revenue belongs to: metadata account_id, else the customer id."""
    return run.customer.account_id or customer_ids[run.customer.key]


def mrr_at_day_end(runs: list[SubscriptionRun], day: date, catalog: Catalog) -> Decimal:
    moment = day_start(day) + timedelta(days=1) - JUST_BEFORE
    total = Decimal(0)
    for run in runs:
        minor = run_mrr_minor(run, moment)
        if minor:
            major = (
                Decimal(minor.numerator) / Decimal(minor.denominator) / minor_per_major(run.customer.currency)
            )
            total += major * catalog.fx_rate(run.customer.currency, day)
    return total.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def expected_mrr(stripe: StripeData, catalog: Catalog, end: date) -> list[dict[str, object]]:
    by_account: dict[str, list[SubscriptionRun]] = {}
    for run in stripe.runs:
        by_account.setdefault(account_key(run, stripe.customer_ids), []).append(run)
    rows: list[dict[str, object]] = []
    for account_id in sorted(by_account):
        runs = by_account[account_id]
        first = _first_paid(runs)
        if first is None or first.date() > end:
            continue
        for month in month_starts(month_start(first.date()), end):
            last_day = min(next_month_start(month) - timedelta(days=1), end)
            mrr = mrr_at_day_end(runs, last_day, catalog)
            rows.append({"account_id": account_id, "month_start": month.isoformat(), "mrr": float(mrr)})
    return rows
