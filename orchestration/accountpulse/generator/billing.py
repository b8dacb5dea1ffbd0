"""Who pays for what: a billing plan per account (customers, subscriptions, scripted changes).

The plan is decided before anything is simulated so that the product usage can follow it (accounts
that churn wind down, trials that lapse go quiet). `stripe.py` then plays each plan out the way
Stripe would and lands the Fivetran tables.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from accountpulse.generator.clock import MS_DAY, MS_HOUR
from accountpulse.generator.ids import rng_for
from accountpulse.generator.population import Account
from accountpulse.generator.pricing import (
    COUPON_FOREVER,
    COUPON_REPEATING,
    PRICES,
    TAX_RATES,
    Coupon,
    Price,
    best_plan_price,
)

FREE_SHARE = 0.35  # of the ordinary accounts left after the scenarios are handed out ...
FREE_MAX_USERS = 30  # ... that are small: bigger organizations pay

# Fates of the plain paying accounts (no scenario), so that health can be tested against outcomes
# (rpt_health_backtest). Each draws one fate from its own random stream: churn (cancels at once),
# contract (cuts its seats by CONTRACT_SEAT_CUT), a false alarm (usage dips, then recovers; billing
# unchanged) or none. Of the churning and contracting accounts, WARNED_SHARE show it first in usage:
# their engaged users fall to DECLINE_FLOOR over the WARNING_DAYS before the billing event; the others
# give no warning (healthy accounts that churn). README "Demo data" documents the rates.
FATE_SHARES = {"churn": 0.15, "contract": 0.15, "false_alarm": 0.12}
WARNED_SHARE = 0.8
WARNING_DAYS = (30, 80)  # the drop starts this many days before the billing event ...
DROP_DAYS = 10.0  # ... and takes this long
DECLINE_FLOOR = 0.15  # engaged share at the bottom of the drop (churn and false alarms)
CONTRACT_FLOOR = 0.3  # ... of a contraction, which recovers to CONTRACT_AFTER in the 30 days after it
CONTRACT_AFTER = 0.6
CONTRACT_SEAT_CUT = 0.5

# Scenarios handed out in this order to ordinary accounts that fit them (small data sets get the
# first ones). A second round repeats the common ones.
SCENARIO_QUEUE = (
    "upgrade",
    "cancel_at_period_end",
    "trial_converts",
    "past_due_recovered",
    "repeating_coupon",
    "reactivation",
    "downgrade",
    "cancel_immediately",
    "setup_fee",
    "trial_expires",
    "quarterly",
    "past_due_open",
    "forever_coupon",
    "weekly_support",
    "addon_item",
    "past_due_unpaid",
    "two_customers",
    "seat_reduction",
    "upgrade",
    "cancel_at_period_end",
    "trial_converts",
    "repeating_coupon",
    "setup_fee",
    "past_due_recovered",
    "cancel_immediately",
    "trial_converts",
    "downgrade",
    "reactivation",
)


@dataclass
class SubscriptionPlan:
    label: str
    start_ms: int
    price: Price
    quantity: int | None = None  # None: the account's seats at the start (plus a little slack)
    trial_days: int = 0
    trial_converts: bool = True
    coupon: Coupon | None = None
    setup_fee: bool = False
    seat_sync: bool = False  # seat count follows the account's members, changed mid-period
    actions: list[tuple[int, str, tuple]] = field(default_factory=list)  # (ms, kind, args)
    fail_renewal_after_ms: int | None = None  # the first renewal at/after this fails ...
    fail_outcome: str = "recover"  # ... and recovers, goes unpaid (then canceled), or stays open
    fail_days: int = 7
    fail_last_renewal: bool = False  # the last renewal before the end date fails and stays open


@dataclass
class CustomerPlan:
    key: str  # stable label for the random stream
    account_index: int | None  # Segment account, None for billing-only / unlinked customers
    account_id: str | None  # metadata account_id; None: no account_id in metadata
    metadata: str | None
    name: str
    email: str
    currency: str
    created_ms: int
    tax_rate: float
    is_deleted: bool = False
    livemode: bool = True  # False: a Stripe test-mode customer (its rows land beside the live ones)
    subscriptions: list[SubscriptionPlan] = field(default_factory=list)


@dataclass
class BillingBook:
    customers: list[CustomerPlan]
    scenarios: dict[str, list[str]]  # scenario -> account ids (customer key when unlinked)
    free_accounts: list[str]


def _tier_for(size: int, rng: np.random.Generator) -> tuple[str, str]:
    if size <= 4:
        return "starter", "month"
    if size <= 25:
        return "team", ("quarter" if rng.random() < 0.15 else "month")
    if size <= 80:
        return "business", "year"
    return "enterprise", ("quarter" if rng.random() < 0.3 else "year")


def _currency(rng: np.random.Generator) -> str:
    return str(rng.choice(["usd", "eur", "jpy"], p=[0.7, 0.2, 0.1]))


def _tax(rng: np.random.Generator, currency: str) -> float:
    options = TAX_RATES.get(currency, (0.0,))
    return float(options[int(rng.integers(len(options)))])


def _between(rng: np.random.Generator, lo: int, hi: int) -> int | None:
    return int(rng.integers(lo, hi)) if lo < hi else None


@dataclass
class _Context:
    account: Account
    start_ms: int  # first subscription starts
    window_start_ms: int
    end_ms: int  # end of the last day (exclusive)

    @property
    def created_in_window(self) -> bool:
        return self.account.created_ms >= self.window_start_ms + MS_DAY

    def span(self, after_start_days: float, margin_days: float, window_days: float = 0) -> tuple[int, int]:
        lo = max(
            self.start_ms + int(after_start_days * MS_DAY), self.window_start_ms + int(window_days * MS_DAY)
        )
        return lo, self.end_ms - int(margin_days * MS_DAY)


def _fits(scenario: str, ctx: _Context) -> bool:
    month = 31 * MS_DAY
    checks: dict[str, Callable[[], bool]] = {
        "upgrade": lambda: _ok(ctx.span(35, 10, 7)),
        "downgrade": lambda: _ok(ctx.span(35, 10, 7)),
        "cancel_at_period_end": lambda: _ok(ctx.span(60, 30, 14)),
        "cancel_immediately": lambda: _ok(ctx.span(60, 5, 14)),
        "reactivation": lambda: _ok(ctx.span(45, 100, 7)),
        "past_due_recovered": lambda: _ok(ctx.span(30, 30)),
        "past_due_unpaid": lambda: _ok(ctx.span(30, 45)),
        "past_due_open": lambda: ctx.start_ms < ctx.end_ms - 2 * month,
        "trial_converts": lambda: ctx.created_in_window and ctx.account.created_ms < ctx.end_ms - 40 * MS_DAY,
        "trial_expires": lambda: ctx.created_in_window and ctx.account.created_ms < ctx.end_ms - 40 * MS_DAY,
        "weekly_support": lambda: _ok(ctx.span(14, 90, -20)),
        "addon_item": lambda: _ok(ctx.span(30, 60)),
        "two_customers": lambda: _ok(ctx.span(30, 30)),
        "seat_reduction": lambda: _ok(ctx.span(30, 10)),
        # old enough that the data shows the repeating coupon expire / the forever one carry on
        "repeating_coupon": lambda: ctx.start_ms < ctx.end_ms - 120 * MS_DAY,
        "forever_coupon": lambda: ctx.start_ms < ctx.end_ms - 90 * MS_DAY,
    }
    return checks.get(scenario, lambda: True)()


def _ok(span: tuple[int, int]) -> bool:
    return span[0] < span[1]


def _monthly(tier: str, currency: str) -> Price:
    return best_plan_price(tier, "month", currency)


def _wind_down(account: Account, churn_ms: int, quiet_after_days: int) -> None:
    """Usage fades in the two months before a churn and stops a little after it."""
    churn_day = churn_ms // MS_DAY
    account.set_curve([(churn_day - 60.0, 1.0), (float(churn_day), 0.5), (churn_day + quiet_after_days, 0.0)])
    account.activity_end_day = min(account.activity_end_day, churn_day + quiet_after_days + 1)


def _draw_fate(rng: np.random.Generator) -> str | None:
    draw = rng.random()
    for fate, share in FATE_SHARES.items():
        if draw < share:
            return fate
        draw -= share
    return None


def _plant_fate(
    account: Account, sub: SubscriptionPlan, ctx: _Context, currency: str, seed: int
) -> str | None:
    """Give a plain paying account its fate (FATE_SHARES); returns its scenario name, None for none."""
    rng = rng_for(seed, "billing", "fate", account.index)
    fate = _draw_fate(rng)
    span = ctx.span(90, 5, 30)
    at = _between(rng, *span)
    if fate is None or at is None:
        return None
    day = at // MS_DAY
    warned = rng.random() < WARNED_SHARE
    warning = float(rng.integers(*WARNING_DAYS))
    if fate == "false_alarm":
        account.set_curve(
            [
                (day - warning, 1.0),
                (day - warning + DROP_DAYS, DECLINE_FLOOR),
                (float(day), DECLINE_FLOOR),
                (day + DROP_DAYS, 1.0),
            ]
        )
        return "false_alarm"
    if fate == "churn":
        sub.actions.append((at, "cancel_now", ()))
        account.activity_end_day = min(account.activity_end_day, day + int(rng.integers(3, 15)))
    else:
        sub.price, sub.seat_sync = _monthly("team", currency), False
        sub.quantity = max(account.n_users + 2, 6)
        sub.actions.append((at, "quantity", (0, max(1, round(sub.quantity * (1 - CONTRACT_SEAT_CUT))))))
    if warned and fate == "churn":
        account.set_curve([(day - warning, 1.0), (day - warning + DROP_DAYS, DECLINE_FLOOR)])
    elif warned:
        account.set_curve(
            [
                (day - warning, 1.0),
                (day - warning + DROP_DAYS, CONTRACT_FLOOR),
                (float(day), CONTRACT_FLOOR),
                (day + 30.0, CONTRACT_AFTER),
            ]
        )
    return f"{fate}_{'warned' if warned else 'unwarned'}"


def plan_billing(
    accounts: list[Account], start_day: int, end_day: int, seed: int, spare_ids: list[str]
) -> BillingBook:
    rng = rng_for(seed, "billing", "plan")
    window_start_ms, end_ms = start_day * MS_DAY, (end_day + 1) * MS_DAY
    customers: list[CustomerPlan] = []
    scenarios: dict[str, list[str]] = {}
    free: list[str] = []

    def customer_for(account: Account, currency: str, created_ms: int, suffix: str = "") -> CustomerPlan:
        return CustomerPlan(
            key=f"account-{account.index}{suffix}",
            account_index=account.index,
            account_id=account.account_id,
            metadata=json.dumps({"account_id": account.account_id}),
            name=account.name,
            email=f"billing@{account.domain}",
            currency=currency,
            created_ms=created_ms,
            tax_rate=_tax(rng, currency),
        )

    # ---- story accounts: a fixed plan, no drama
    for account in accounts:
        hint = account.billing_hint
        if not hint:
            continue
        price = best_plan_price(hint["tier"], hint["interval"], hint["currency"])
        customer = customer_for(account, price.currency, hint["start_ms"] - MS_HOUR)
        customer.subscriptions.append(
            SubscriptionPlan(
                "main", hint["start_ms"], price, quantity=hint["seats"], setup_fee=hint["setup_fee"]
            )
        )
        customers.append(customer)

    # ---- ordinary accounts: scenarios first, then plain paying or free
    ordinary = [a for a in accounts if a.story is None]
    order = [ordinary[i] for i in rng.permutation(len(ordinary))]
    assigned: dict[int, str] = {}
    contexts = {
        a.index: _Context(a, a.created_ms + int(rng.integers(1, 72)) * MS_HOUR, window_start_ms, end_ms)
        for a in order
    }
    for scenario in SCENARIO_QUEUE:
        for account in order:
            if account.index in assigned:
                continue
            if _fits(scenario, contexts[account.index]):
                assigned[account.index] = scenario
                break
    for account in order:
        ctx = contexts[account.index]
        scenario = assigned.get(account.index)
        if scenario is None and account.n_users < FREE_MAX_USERS and rng.random() < FREE_SHARE:
            free.append(account.account_id)
            continue
        tier, interval = _tier_for(account.n_users, rng)
        currency = _currency(rng)
        sub = SubscriptionPlan(
            "main", ctx.start_ms, best_plan_price(tier, interval, currency), seat_sync=True
        )
        extra_subs: list[SubscriptionPlan] = []
        extra_customer: CustomerPlan | None = None
        if scenario in ("upgrade", "downgrade"):
            old, new = ("starter", "team") if scenario == "upgrade" else ("team", "starter")
            sub.price = _monthly(old, currency)
            at = _between(rng, *ctx.span(35, 10, 7))
            sub.actions.append((at, "price", (0, _monthly(new, currency))))
        elif scenario in ("cancel_at_period_end", "cancel_immediately", "reactivation", "past_due_unpaid"):
            sub.price = _monthly(tier if tier in ("starter", "team") else "team", currency)
            if scenario == "cancel_immediately":
                at = _between(rng, *ctx.span(60, 5, 14))
                sub.actions.append((at, "cancel_now", ()))
                _wind_down(account, at, 7)
            elif scenario == "past_due_unpaid":
                at = _between(rng, *ctx.span(30, 45))
                sub.fail_renewal_after_ms, sub.fail_outcome, sub.fail_days = at, "unpaid", 14
                _wind_down(account, at + 40 * MS_DAY, 7)
            else:
                margin = 30 if scenario == "cancel_at_period_end" else 100
                at = _between(rng, *ctx.span(60 if margin == 30 else 45, margin, 14 if margin == 30 else 7))
                sub.actions.append((at, "cancel_at_period_end", ()))
                if scenario == "cancel_at_period_end":
                    _wind_down(account, at + 31 * MS_DAY, 14)
                else:
                    again = at + 31 * MS_DAY + int(rng.uniform(20, 50) * MS_DAY)
                    extra_subs.append(SubscriptionPlan("reactivated", again, sub.price, seat_sync=True))
                    dip = at // MS_DAY
                    account.set_curve([(dip - 30.0, 1.0), (dip + 20.0, 0.3), (again // MS_DAY + 10.0, 1.0)])
        elif scenario == "past_due_recovered":
            sub.price = _monthly(tier if tier in ("starter", "team") else "team", currency)
            sub.fail_renewal_after_ms = _between(rng, *ctx.span(30, 30))
            sub.fail_outcome, sub.fail_days = "recover", int(rng.integers(3, 13))
        elif scenario == "past_due_open":
            sub.price = _monthly(tier if tier in ("starter", "team") else "team", currency)
            sub.fail_last_renewal = True
        elif scenario in ("trial_converts", "trial_expires"):
            sub.start_ms = account.created_ms + int(rng.integers(5, 120)) * 60_000
            sub.trial_days = 14
            sub.trial_converts = scenario == "trial_converts"
            if not sub.trial_converts:
                trial_end = sub.start_ms + 14 * MS_DAY
                account.activity_end_day = trial_end // MS_DAY + int(rng.integers(5, 30))
        elif scenario == "repeating_coupon":
            sub.price = _monthly(tier if tier in ("starter", "team") else "team", currency)
            sub.coupon = COUPON_REPEATING
        elif scenario == "forever_coupon":
            currency = "usd"
            sub.price, sub.quantity, sub.seat_sync = _monthly("team", "usd"), max(3, account.n_users), False
            sub.coupon = COUPON_FOREVER
        elif scenario == "setup_fee":
            sub.setup_fee = True
        elif scenario == "quarterly":
            currency = "usd"
            sub.price = PRICES["team_quarter_usd"]
        elif scenario == "weekly_support":
            currency = "usd"
            sub.price = best_plan_price(tier, interval, "usd")
            begin = _between(rng, *ctx.span(14, 90, -20))
            support = SubscriptionPlan("support", begin, PRICES["priority_support_week_usd"], quantity=1)
            support.actions.append((begin + int(rng.uniform(40, 85) * MS_DAY), "cancel_now", ()))
            extra_subs.append(support)
        elif scenario == "addon_item":
            currency = "usd"
            sub.price = _monthly(tier if tier in ("starter", "team") else "team", "usd")
            added = _between(rng, *ctx.span(30, 60))
            removed = added + int(rng.uniform(25, 50) * MS_DAY)
            sub.actions.append((added, "add_item", (PRICES["workspace_addon_month_usd"], 1)))
            sub.actions.append((removed, "remove_item", (1,)))
        elif scenario == "two_customers":
            begin = _between(rng, *ctx.span(30, 30))
            extra_customer = customer_for(account, "eur", begin - MS_HOUR, suffix="-eu")
            extra_customer.name = f"{account.name} (EU)"
            extra_customer.email = f"billing-eu@{account.domain}"
            extra_customer.subscriptions.append(
                SubscriptionPlan("eu", begin, _monthly("team", "eur"), quantity=3)
            )
        elif scenario == "seat_reduction":
            sub.price, sub.seat_sync = _monthly("team", currency), False
            sub.quantity = max(account.n_users + 3, 5)
            at = _between(rng, *ctx.span(30, 10))
            sub.actions.append((at, "quantity", (0, max(1, sub.quantity - int(rng.integers(2, 5))))))
        elif scenario is None:
            fate = _plant_fate(account, sub, ctx, currency, seed)
            if fate is not None:
                scenarios.setdefault(fate, []).append(account.account_id)
        customer = customer_for(account, sub.price.currency, min(sub.start_ms, ctx.start_ms) - MS_HOUR)
        customer.subscriptions = [sub, *extra_subs]
        customers.append(customer)
        if extra_customer is not None:
            customers.append(extra_customer)
        if scenario:
            scenarios.setdefault(scenario, []).append(account.account_id)

    # ---- customers that are not (or not visibly) a Segment account
    billing_only_id = spare_ids[0]
    billing_only = CustomerPlan(
        key="billing-only",
        account_index=None,
        account_id=billing_only_id,
        metadata=json.dumps({"account_id": billing_only_id}),
        name="Meridian Freight Ltd",
        email="accounts@meridian-freight.example",
        currency="usd",
        created_ms=window_start_ms - 150 * MS_DAY,
        tax_rate=0.0,
    )
    billing_only.subscriptions.append(
        SubscriptionPlan(
            "main", window_start_ms - 150 * MS_DAY + 9 * MS_HOUR, PRICES["team_month_usd"], quantity=10
        )
    )
    unlinked = CustomerPlan(
        key="no-account-id",
        account_index=None,
        account_id=None,
        metadata=json.dumps({"crm_id": "0065g00000XyZ12", "signed_by": "sales"}),
        name="Halvorsen Consulting AS",
        email="post@halvorsen-consulting.example",
        currency="usd",
        created_ms=window_start_ms - 200 * MS_DAY,
        tax_rate=0.0,
    )
    unlinked.subscriptions.append(
        SubscriptionPlan(
            "main", window_start_ms - 200 * MS_DAY + 14 * MS_HOUR, PRICES["starter_month_usd"], quantity=3
        )
    )
    deleted = CustomerPlan(
        key="deleted-test",
        account_index=None,
        account_id=None,
        metadata=None,
        name="Test customer (do not use)",
        email="qa+stripe@accountpulse-demo.example",
        currency="usd",
        created_ms=window_start_ms - 300 * MS_DAY,
        tax_rate=0.0,
        is_deleted=True,
    )
    customers += [billing_only, unlinked, deleted]
    scenarios["billing_only_customer"] = [billing_only_id]
    return BillingBook(customers=customers, scenarios=scenarios, free_accounts=sorted(free))
