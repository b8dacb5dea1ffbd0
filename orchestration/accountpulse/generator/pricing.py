"""The demo company's Stripe price book: products, prices and coupons.

Amounts are in the currency's smallest unit (cents; JPY has none). Ids are Stripe-shaped and fixed
(derived from the price key, not from the seed), so the price book is the same in every data set.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from fractions import Fraction

ZERO_DECIMAL = frozenset({"jpy", "krw", "vnd", "clp"})
TIERS = ("starter", "team", "business", "enterprise")


def _stable_id(prefix: str, key: str, length: int = 24) -> str:
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    value = zlib.crc32(key.encode()) * 2654435761 + len(key)
    chars = []
    for _ in range(length):
        value, digit = divmod(value * 6364136223846793005 + 1442695040888963407, 62)
        value %= 2**64
        chars.append(alphabet[digit])
    return prefix + "".join(chars)


def minor_per_major(currency: str) -> int:
    return 1 if currency.lower() in ZERO_DECIMAL else 100


@dataclass(frozen=True)
class Product:
    key: str
    name: str
    tier: str | None  # the group `plan` trait this product stands for; None for add-ons and fees

    @property
    def id(self) -> str:
        return _stable_id("prod_", self.key, 14)


@dataclass(frozen=True)
class Price:
    key: str
    product: Product
    unit_amount: int
    currency: str
    interval: str | None  # month, year, week; None for one-time prices
    interval_count: int | None

    @property
    def id(self) -> str:
        return _stable_id("price_", self.key)

    @property
    def type(self) -> str:
        return "one_time" if self.interval is None else "recurring"

    def monthly_factor(self) -> Fraction:
        """Multiply one interval's amount by this to get a month's worth (the MRR normalisation)."""
        if self.interval is None or not self.interval_count:
            return Fraction(0)
        per_interval = {"month": Fraction(1), "year": Fraction(1, 12), "week": Fraction(52, 12)}
        if self.interval == "day":
            return Fraction(365, 12) / self.interval_count
        return per_interval[self.interval] / self.interval_count


@dataclass(frozen=True)
class Coupon:
    id: str
    percent_off: float | None
    amount_off: int | None
    currency: str | None
    duration: str  # once, repeating, forever
    duration_in_months: int | None


PRODUCTS = {
    p.key: p
    for p in (
        Product("starter", "Starter", "starter"),
        Product("team", "Team", "team"),
        Product("business", "Business", "business"),
        Product("enterprise", "Enterprise", "enterprise"),
        Product("workspace_addon", "Extra Workspace", None),
        Product("priority_support", "Priority Support", None),
        Product("setup_fee", "Setup fee", None),
    )
}


def _price(
    key: str, product: str, amount: int, currency: str, interval: str | None, count: int | None
) -> Price:
    return Price(key, PRODUCTS[product], amount, currency, interval, count)


PRICES = {
    p.key: p
    for p in (
        # per seat, monthly
        _price("starter_month_usd", "starter", 2_000, "usd", "month", 1),
        _price("starter_month_eur", "starter", 1_900, "eur", "month", 1),
        _price("starter_month_jpy", "starter", 3_000, "jpy", "month", 1),
        _price("team_month_usd", "team", 3_000, "usd", "month", 1),
        _price("team_month_eur", "team", 2_800, "eur", "month", 1),
        _price("team_month_jpy", "team", 4_500, "jpy", "month", 1),
        # per seat, every 3 months (recurring_interval month, count 3)
        _price("team_quarter_usd", "team", 8_100, "usd", "month", 3),
        _price("enterprise_quarter_usd", "enterprise", 22_500, "usd", "month", 3),
        _price("enterprise_quarter_eur", "enterprise", 21_000, "eur", "month", 3),
        # per seat, yearly
        _price("business_year_usd", "business", 50_000, "usd", "year", 1),
        _price("business_year_eur", "business", 46_000, "eur", "year", 1),
        _price("business_year_jpy", "business", 75_000, "jpy", "year", 1),
        _price("enterprise_year_usd", "enterprise", 90_000, "usd", "year", 1),
        _price("enterprise_year_eur", "enterprise", 84_000, "eur", "year", 1),
        # add-ons
        _price("workspace_addon_month_usd", "workspace_addon", 5_000, "usd", "month", 1),
        _price("priority_support_week_usd", "priority_support", 2_500, "usd", "week", 1),
        # one-time
        _price("setup_fee_usd", "setup_fee", 50_000, "usd", None, None),
        _price("setup_fee_eur", "setup_fee", 45_000, "eur", None, None),
        # a retired price nobody is on any more: present in the price book, never billed
        _price("team_month_usd_2023", "team", 2_500, "usd", "month", 1),
    )
}

COUPON_REPEATING = Coupon("LAUNCH25-3M", 25.0, None, None, "repeating", 3)
COUPON_FOREVER = Coupon("PARTNER-50-FOREVER", None, 5_000, "usd", "forever", None)
COUPON_UNUSED = Coupon("WELCOME10-ONCE", 10.0, None, None, "once", None)
COUPONS = (COUPON_REPEATING, COUPON_FOREVER, COUPON_UNUSED)

TAX_RATES = {"usd": (0.0, 0.0725), "eur": (0.19,), "jpy": (0.10,)}


def plan_price(tier: str, interval: str, currency: str) -> Price | None:
    """The per-seat price of a tier billed every `interval` ('month', 'quarter', 'year'), if sold."""
    return PRICES.get(f"{tier}_{interval}_{currency}")


def best_plan_price(tier: str, interval: str, currency: str) -> Price:
    """plan_price, else the same tier on another interval in the same currency (a customer bills in
    one currency), else the tier in usd."""
    for cur in (currency, "usd"):
        for option in (interval, "month", "year", "quarter"):
            price = plan_price(tier, option, cur)
            if price is not None:
                return price
    raise KeyError(f"no price for tier {tier!r}")


def setup_fee_price(currency: str) -> Price:
    return PRICES.get(f"setup_fee_{currency}", PRICES["setup_fee_usd"])
