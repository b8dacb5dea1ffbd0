"""Revenue scenarios in Stripe's raw layout, built through dbt on DuckDB and on PostgreSQL.

Each account below is one billing story with its monthly MRR and movements computed by hand
(comments show the arithmetic). The same raw rows are loaded into a throwaway DuckDB file and a
throwaway PostgreSQL database; both builds must give exactly these numbers.
"""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from conftest import pg_params, run_dbt

from accountpulse.raw_schema import RAW_TABLES, create_table_sql

AS_OF = "2026-04-10"
SELECT = [
    "+fct_mrr_summary_monthly",
    "+int_account_revenue_current",
    "+mon_billing_customers_unmapped",
    "+dim_accounts",
]
OPEN_END = datetime(9999, 12, 31, 23, 59, 59)


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def add_months(moment: datetime, months: int) -> datetime:
    month_index = moment.month - 1 + months
    return moment.replace(year=moment.year + month_index // 12, month=month_index % 12 + 1)


def monthly_periods(start: str, until: str = AS_OF) -> list[tuple[datetime, datetime]]:
    """Monthly billing periods from `start` whose start is on or before `until` (day ≤ 28)."""
    first, last = ts(start), ts(until + " 23:59:59") if len(until) == 10 else ts(until)
    periods = []
    for n in itertools.count():
        period_start = add_months(first, n)
        if period_start > last:
            return periods
        periods.append((period_start, add_months(first, n + 1)))
    return periods


class StripeFixture:
    """Raw rows for the Stripe and Segment tables, in the loaders' column layout."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict]] = defaultdict(list)
        self._ids = itertools.count(1)

    def next_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):04d}"

    def group(self, account_id: str, name: str) -> None:
        at = ts("2024-12-01 12:00:00")
        self.rows["groups"].append(
            {
                "id": f"grp_{account_id}",
                "user_id": f"user_{account_id}",
                "group_id": account_id,
                "timestamp": at,
                "sent_at": at,
                "received_at": at,
                "name": name,
                "plan": "team",
                "industry": "SaaS",
                "employees": "50",
            }
        )

    def product(self, product_id: str, name: str) -> None:
        self.rows["product"].append({"id": product_id, "name": name})

    def price(
        self,
        price_id: str,
        product_id: str,
        unit_amount: int,
        currency: str = "usd",
        interval: str | None = "month",
        interval_count: int | None = 1,
    ) -> None:
        self.rows["price"].append(
            {
                "id": price_id,
                "product_id": product_id,
                "unit_amount": unit_amount,
                "currency": currency,
                "recurring_interval": interval,
                "recurring_interval_count": interval_count,
                "type": "recurring" if interval else "one_time",
            }
        )

    def customer(self, customer_id: str, metadata: str | None, currency: str = "usd") -> None:
        self.rows["customer"].append(
            {
                "id": customer_id,
                "name": f"Customer {customer_id}",
                "email": f"billing@{customer_id}.example",
                "created": ts("2024-12-01 12:00:00"),
                "currency": currency,
                "is_deleted": False,
                "metadata": metadata,
            }
        )

    def versions(self, subscription_id: str, customer_id: str, states: list[dict]) -> None:
        """Fivetran history rows: each state holds from `at` until the next one starts."""
        for index, state in enumerate(states):
            following = states[index + 1]["at"] if index + 1 < len(states) else None
            period_start, period_end = state["period"]
            self.rows["subscription_history"].append(
                {
                    "id": subscription_id,
                    "customer_id": customer_id,
                    "status": state["status"],
                    "created": states[0]["at"],
                    "start_date": states[0]["at"],
                    "current_period_start": period_start,
                    "current_period_end": period_end,
                    "cancel_at_period_end": state.get("cancel_at_period_end", False),
                    "canceled_at": state.get("canceled_at"),
                    "ended_at": state.get("ended_at"),
                    "trial_start": state.get("trial", (None, None))[0],
                    "trial_end": state.get("trial", (None, None))[1],
                    "_fivetran_start": state["at"],
                    "_fivetran_end": following - timedelta(milliseconds=1) if following else OPEN_END,
                    "_fivetran_active": following is None,
                }
            )

    def item(
        self, item_id: str, subscription_id: str, price_id: str, quantity: int, created: datetime
    ) -> None:
        self.rows["subscription_item"].append(
            {
                "id": item_id,
                "subscription_id": subscription_id,
                "plan_id": price_id,
                "quantity": quantity,
                "created": created,
            }
        )

    def invoice(
        self,
        customer_id: str,
        subscription_id: str | None,
        created: datetime,
        lines: list[dict],
        currency: str = "usd",
        status: str = "paid",
        tax: int = 0,
    ) -> str:
        """One invoice; each line: item, price, quantity, amount, period, and optional proration,
        discount, type. Amounts in the currency's smallest unit."""
        invoice_id = self.next_id("in")
        subtotal = sum(line["amount"] for line in lines)
        discounts = sum(line.get("discount", 0) for line in lines)
        periods = [line["period"] for line in lines]
        self.rows["invoice"].append(
            {
                "id": invoice_id,
                "customer_id": customer_id,
                "subscription_id": subscription_id,
                "status": status,
                "created": created,
                "period_start": min(p[0] for p in periods),
                "period_end": max(p[1] for p in periods),
                "currency": currency,
                "subtotal": subtotal,
                "total": subtotal - discounts + tax,
            }
        )
        for line in lines:
            self.rows["invoice_line_item"].append(
                {
                    "id": self.next_id("il"),
                    "invoice_id": invoice_id,
                    "subscription_id": subscription_id,
                    "subscription_item_id": line.get("item"),
                    "plan_id": line["price"],
                    "amount": line["amount"],
                    "currency": currency,
                    "quantity": line["quantity"],
                    "period_start": line["period"][0],
                    "period_end": line["period"][1],
                    "proration": line.get("proration", False),
                    "type": line.get("type", "subscription"),
                    "discount_amount": line.get("discount", 0),
                }
            )
        return invoice_id

    def coupon(
        self, coupon_id: str, duration: str, percent_off=None, amount_off=None, currency=None, months=None
    ):
        self.rows["coupon"].append(
            {
                "id": coupon_id,
                "amount_off": amount_off,
                "percent_off": percent_off,
                "currency": currency,
                "duration": duration,
                "duration_in_months": months,
            }
        )

    def discount(self, discount_id, coupon_id, customer_id, subscription_id, start, end, invoice_ids) -> None:
        """The subscription's discount row plus one row per invoice it touched (as Fivetran lands them)."""
        base = {
            "id": discount_id,
            "coupon_id": coupon_id,
            "customer_id": customer_id,
            "subscription_id": subscription_id,
            "start": start,
            "end": end,
        }
        self.rows["discount"].append(
            {**base, "type": "subscription", "type_id": subscription_id, "invoice_id": None}
        )
        for invoice_id in invoice_ids:
            self.rows["discount"].append(
                {**base, "type": "invoice", "type_id": invoice_id, "invoice_id": invoice_id}
            )

    def monthly_subscription(
        self,
        customer_id: str,
        subscription_id: str,
        item_id: str,
        price_id: str,
        quantity: int,
        unit_amount: int,
        start: str,
        until: str = AS_OF,
        currency: str = "usd",
        discount: int = 0,
    ) -> list[str]:
        """Regular invoices of a one-item monthly subscription; returns the invoice ids."""
        invoices = []
        for period in monthly_periods(start, until):
            invoices.append(
                self.invoice(
                    customer_id,
                    subscription_id,
                    period[0],
                    [
                        {
                            "item": item_id,
                            "price": price_id,
                            "quantity": quantity,
                            "amount": quantity * unit_amount,
                            "period": period,
                            "discount": discount,
                        }
                    ],
                    currency=currency,
                )
            )
        self.item(item_id, subscription_id, price_id, quantity, ts(start))
        return invoices


def build_fixture() -> StripeFixture:
    fx = StripeFixture()
    fx.product("prod_team", "Team")
    fx.product("prod_business", "Business")
    fx.product("prod_setup", "Setup fee")
    fx.price("price_business_year", "prod_business", 50_000, interval="year")  # $500 / seat / year
    fx.price("price_team_30", "prod_team", 3_000)  # $30 / seat / month
    fx.price("price_team_100", "prod_team", 10_000)
    fx.price("price_team_20", "prod_team", 2_000)
    fx.price("price_team_200", "prod_team", 20_000)
    fx.price("price_team_eur_100", "prod_team", 10_000, currency="eur")
    fx.price("price_team_jpy", "prod_team", 12_000, currency="jpy")  # ¥12,000: JPY has no minor unit
    fx.price("price_team_15", "prod_team", 1_500)
    fx.price("price_team_250", "prod_team", 25_000)
    fx.price("price_team_80", "prod_team", 8_000)
    fx.price("price_team_40", "prod_team", 4_000)
    fx.price("price_team_10", "prod_team", 1_000)
    fx.price("price_setup", "prod_setup", 50_000, interval=None, interval_count=None)
    for account in "abcdefghilm":
        fx.group(f"acct_{account}", f"Account {account.upper()}")
    for account in "abcdghilm":
        fx.customer(f"cus_{account}", json.dumps({"account_id": f"acct_{account}"}))
    fx.customer("cus_e", '{"account_id": "acct_e"}', currency="eur")
    fx.customer("cus_f", '{"account_id": "acct_f"}', currency="jpy")
    fx.customer("cus_j", '{"account_id": "acct_billing_only"}')  # no Segment group: billing-only
    fx.customer("cus_k", '{"plan": "team"}')  # no account_id: an account of its own

    # A: four $500/year seats billed $2,000 -> 2000 / 12 = 166.67 (Jan 2025, new).
    year = (ts("2025-01-15 09:00:00"), ts("2026-01-15 09:00:00"))
    fx.versions(
        "sub_a1",
        "cus_a",
        [
            {"at": year[0], "status": "active", "period": year},
            # cancel at period end: still paying until 2026-01-15 09:00 -> churn at the end of Jan 2026
            {
                "at": ts("2025-11-01 10:00:00"),
                "status": "active",
                "period": year,
                "cancel_at_period_end": True,
                "canceled_at": ts("2025-11-01 10:00:00"),
            },
            {
                "at": year[1],
                "status": "canceled",
                "period": year,
                "cancel_at_period_end": True,
                "canceled_at": ts("2025-11-01 10:00:00"),
                "ended_at": year[1],
            },
        ],
    )
    fx.invoice(
        "cus_a",
        "sub_a1",
        year[0],
        [{"item": "si_a1", "price": "price_business_year", "quantity": 4, "amount": 200_000, "period": year}],
    )
    fx.item("si_a1", "sub_a1", "price_business_year", 4, year[0])
    # A: two $30/month seats on a second subscription (Mar 2025: expansion 60), cancelled at the
    # end of the period running to 2025-06-10 (Jun 2025: contraction 60, sub_a1 remains).
    a2_periods = monthly_periods("2025-03-10 09:00:00", "2025-05-31")
    fx.monthly_subscription(
        "cus_a", "sub_a2", "si_a2", "price_team_30", 2, 3_000, "2025-03-10 09:00:00", "2025-05-31"
    )
    fx.versions(
        "sub_a2",
        "cus_a",
        [{"at": p[0], "status": "active", "period": p} for p in a2_periods]
        + [
            {
                "at": ts("2025-05-20 16:00:00"),
                "status": "active",
                "period": a2_periods[-1],
                "cancel_at_period_end": True,
                "canceled_at": ts("2025-05-20 16:00:00"),
            },
            {
                "at": a2_periods[-1][1],
                "status": "canceled",
                "period": a2_periods[-1],
                "cancel_at_period_end": True,
                "canceled_at": ts("2025-05-20 16:00:00"),
                "ended_at": a2_periods[-1][1],
            },
        ],
    )
    # A: subscribing again, 3 × $30 (Mar 2026: reactivation 90).
    a3_periods = monthly_periods("2026-03-05 09:00:00")
    fx.monthly_subscription("cus_a", "sub_a3", "si_a3", "price_team_30", 3, 3_000, "2026-03-05 09:00:00")
    fx.versions("sub_a3", "cus_a", [{"at": p[0], "status": "active", "period": p} for p in a3_periods])

    # B: $100/month from 2025-03-01 00:00, cancelled immediately on 2025-05-10 14:00 (May: churn 100).
    b_periods = monthly_periods("2025-03-01 00:00:00", "2025-05-31")
    fx.monthly_subscription(
        "cus_b", "sub_b1", "si_b1", "price_team_100", 1, 10_000, "2025-03-01 00:00:00", "2025-05-31"
    )
    cancel_b = ts("2025-05-10 14:00:00")
    fx.versions(
        "sub_b1",
        "cus_b",
        [{"at": p[0], "status": "active", "period": p} for p in b_periods]
        + [
            {
                "at": cancel_b,
                "status": "canceled",
                "period": b_periods[-1],
                "canceled_at": cancel_b,
                "ended_at": cancel_b,
            }
        ],
    )

    # C: 5 seats at $20 = 100 (Feb 2025, new); 5 -> 8 on 2025-04-20 12:00 (Apr: expansion 60 -> 160).
    # Proration share of the period 2025-04-10 09:00 .. 2025-05-10 09:00 left: 477 h / 720 h = 0.6625.
    c_periods = monthly_periods("2025-02-10 09:00:00")
    change_c = ts("2025-04-20 12:00:00")
    for period in c_periods:
        quantity = 5 if period[0] < change_c else 8
        fx.invoice(
            "cus_c",
            "sub_c1",
            period[0],
            [
                {
                    "item": "si_c1",
                    "price": "price_team_20",
                    "quantity": quantity,
                    "amount": quantity * 2_000,
                    "period": period,
                }
            ],
        )
        if period[0] < change_c < period[1]:
            rest = (change_c, period[1])
            fx.invoice(
                "cus_c",
                "sub_c1",
                change_c,
                [
                    {
                        "item": "si_c1",
                        "price": "price_team_20",
                        "quantity": 5,
                        "amount": -6_625,
                        "period": rest,
                        "proration": True,
                    },
                    {
                        "item": "si_c1",
                        "price": "price_team_20",
                        "quantity": 8,
                        "amount": 10_600,
                        "period": rest,
                        "proration": True,
                    },
                ],
            )
    fx.item("si_c1", "sub_c1", "price_team_20", 8, c_periods[0][0])
    fx.versions("sub_c1", "cus_c", [{"at": c_periods[0][0], "status": "active", "period": c_periods[0]}])

    # D: $200/month with 25% off for 3 months from 2025-01-05 09:00 -> 150 (Jan, new);
    # 1 -> 3 seats on 2025-02-17 15:00 -> 3 × 200 × 0.75 = 450 (Feb, expansion 300);
    # coupon over: the 2025-04-05 invoice is full price -> 600 (Apr, expansion 150).
    fx.coupon("LAUNCH25", "repeating", percent_off=25.0, months=3)
    d_periods = monthly_periods("2025-01-05 09:00:00")
    change_d = ts("2025-02-17 15:00:00")
    discounted = []
    for period in d_periods:
        quantity = 1 if period[0] < change_d else 3
        coupon_on = period[0] < ts("2025-04-05 09:00:00")
        amount = quantity * 20_000
        invoice_id = fx.invoice(
            "cus_d",
            "sub_d1",
            period[0],
            [
                {
                    "item": "si_d1",
                    "price": "price_team_200",
                    "quantity": quantity,
                    "amount": amount,
                    "period": period,
                    "discount": amount // 4 if coupon_on else 0,
                }
            ],
        )
        if coupon_on:
            discounted.append(invoice_id)
        if period[0] < change_d < period[1]:
            # 378 h of 672 h left = 0.5625: -112.50 and +337.50, not discounted (as in Stripe); the
            # coupon in force still takes 25% off the new quantity
            rest = (change_d, period[1])
            fx.invoice(
                "cus_d",
                "sub_d1",
                change_d,
                [
                    {
                        "item": "si_d1",
                        "price": "price_team_200",
                        "quantity": 1,
                        "amount": -11_250,
                        "period": rest,
                        "proration": True,
                    },
                    {
                        "item": "si_d1",
                        "price": "price_team_200",
                        "quantity": 3,
                        "amount": 33_750,
                        "period": rest,
                        "proration": True,
                    },
                ],
            )
    fx.item("si_d1", "sub_d1", "price_team_200", 3, d_periods[0][0])
    fx.versions("sub_d1", "cus_d", [{"at": d_periods[0][0], "status": "active", "period": d_periods[0]}])
    fx.discount("di_d", "LAUNCH25", "cus_d", "sub_d1", d_periods[0][0], ts("2025-04-05 09:00:00"), discounted)

    # E: EUR 100/month with EUR 10 off forever from 2025-06-01 -> 90 × 1.08 = 97.20 (Jun, new);
    # the 2026-01-01 rate 1.10 -> 99.00 (Jan 2026, expansion 1.80).
    fx.coupon("PARTNER10", "forever", amount_off=1_000, currency="eur")
    e_invoices = fx.monthly_subscription(
        "cus_e",
        "sub_e1",
        "si_e1",
        "price_team_eur_100",
        1,
        10_000,
        "2025-06-01 00:00:00",
        currency="eur",
        discount=1_000,
    )
    fx.versions(
        "sub_e1",
        "cus_e",
        [
            {
                "at": ts("2025-06-01 00:00:00"),
                "status": "active",
                "period": monthly_periods("2025-06-01 00:00:00")[0],
            }
        ],
    )
    fx.discount("di_e", "PARTNER10", "cus_e", "sub_e1", ts("2025-06-01 00:00:00"), None, e_invoices)

    # F: JPY 12,000/month from 2025-09-15 09:00 -> 12000 × 0.0067 = 80.40 (Sep, new);
    # 12000 × 0.0065 = 78.00 from 2026 (Jan 2026, contraction 2.40).
    fx.monthly_subscription(
        "cus_f", "sub_f1", "si_f1", "price_team_jpy", 1, 12_000, "2025-09-15 09:00:00", currency="jpy"
    )
    fx.versions(
        "sub_f1",
        "cus_f",
        [
            {
                "at": ts("2025-09-15 09:00:00"),
                "status": "active",
                "period": monthly_periods("2025-09-15 09:00:00")[0],
            }
        ],
    )

    # G: a 14-day trial of 10 seats at $15 from 2025-06-20 09:00 ($0 line; no MRR in June), converting
    # on 2025-07-04 09:00 -> 150 (Jul, new).
    trial = (ts("2025-06-20 09:00:00"), ts("2025-07-04 09:00:00"))
    fx.invoice(
        "cus_g",
        "sub_g1",
        trial[0],
        [{"item": "si_g1", "price": "price_team_15", "quantity": 10, "amount": 0, "period": trial}],
    )
    fx.monthly_subscription("cus_g", "sub_g1", "si_g1", "price_team_15", 10, 1_500, "2025-07-04 09:00:00")
    fx.versions(
        "sub_g1",
        "cus_g",
        [
            {"at": trial[0], "status": "trialing", "period": trial, "trial": trial},
            {
                "at": trial[1],
                "status": "active",
                "period": monthly_periods("2025-07-04 09:00:00")[0],
                "trial": trial,
            },
        ],
    )

    # H: $250/month from 2025-08-01 with a $500 one-time setup fee and 7.25% tax on the first
    # invoice -> 250 (Aug, new): neither the fee nor the tax is MRR.
    h_periods = monthly_periods("2025-08-01 00:00:00")
    for index, period in enumerate(h_periods):
        lines = [
            {"item": "si_h1", "price": "price_team_250", "quantity": 1, "amount": 25_000, "period": period}
        ]
        if index == 0:
            lines.append(
                {
                    "price": "price_setup",
                    "quantity": 1,
                    "amount": 50_000,
                    "period": (period[0], period[0]),
                    "type": "invoiceitem",
                }
            )
        fx.invoice(
            "cus_h", "sub_h1", period[0], lines, tax=round(sum(line["amount"] for line in lines) * 0.0725)
        )
    fx.item("si_h1", "sub_h1", "price_team_250", 1, h_periods[0][0])
    fx.versions("sub_h1", "cus_h", [{"at": h_periods[0][0], "status": "active", "period": h_periods[0]}])

    # I: $80/month from 2025-10-01 -> 80 (Oct, new); past_due from 2025-11-01 01:00 still counts
    # (Nov, unchanged 80); unpaid from 2025-12-15 does not (Dec, churn 80).
    i_periods = monthly_periods("2025-10-01 00:00:00", "2025-12-31")
    for index, period in enumerate(i_periods):
        fx.invoice(
            "cus_i",
            "sub_i1",
            period[0],
            [{"item": "si_i1", "price": "price_team_80", "quantity": 1, "amount": 8_000, "period": period}],
            status="paid" if index == 0 else "open",
        )
    fx.item("si_i1", "sub_i1", "price_team_80", 1, i_periods[0][0])
    fx.versions(
        "sub_i1",
        "cus_i",
        [
            {"at": i_periods[0][0], "status": "active", "period": i_periods[0]},
            {"at": i_periods[1][0], "status": "active", "period": i_periods[1]},
            {"at": ts("2025-11-01 01:00:00"), "status": "past_due", "period": i_periods[1]},
            {"at": i_periods[2][0], "status": "past_due", "period": i_periods[2]},
            {"at": ts("2025-12-15 00:00:00"), "status": "unpaid", "period": i_periods[2]},
        ],
    )

    # J: billing-only account (no Segment group), $40/month from 2026-02-01 -> 40 (Feb 2026, new).
    fx.monthly_subscription("cus_j", "sub_j1", "si_j1", "price_team_40", 1, 4_000, "2026-02-01 00:00:00")
    fx.versions(
        "sub_j1",
        "cus_j",
        [
            {
                "at": ts("2026-02-01 00:00:00"),
                "status": "active",
                "period": monthly_periods("2026-02-01 00:00:00")[0],
            }
        ],
    )

    # K: no account_id in metadata, $10/month from 2026-03-01 -> account cus_k, 10 (Mar 2026, new).
    fx.monthly_subscription("cus_k", "sub_k1", "si_k1", "price_team_10", 1, 1_000, "2026-03-01 00:00:00")
    fx.versions(
        "sub_k1",
        "cus_k",
        [
            {
                "at": ts("2026-03-01 00:00:00"),
                "status": "active",
                "period": monthly_periods("2026-03-01 00:00:00")[0],
            }
        ],
    )

    # L: a trial running on the as-of date (never paid yet). M: a customer that never subscribed.
    trial_l = (ts("2026-04-01 09:00:00"), ts("2026-04-15 09:00:00"))
    fx.invoice(
        "cus_l",
        "sub_l1",
        trial_l[0],
        [{"item": "si_l1", "price": "price_team_20", "quantity": 3, "amount": 0, "period": trial_l}],
    )
    fx.item("si_l1", "sub_l1", "price_team_20", 3, trial_l[0])
    fx.versions(
        "sub_l1", "cus_l", [{"at": trial_l[0], "status": "trialing", "period": trial_l, "trial": trial_l}]
    )
    return fx


def month(text: str) -> date:
    return date.fromisoformat(text + "-01")


def months_between(first: str, last: str) -> list[date]:
    start = month(first)
    result = []
    while start <= month(last):
        result.append(start)
        start = date(start.year + (start.month // 12), start.month % 12 + 1, 1)
    return result


# account -> (first month, {month: (month-end MRR, movement, movement amount)}); the months not listed
# keep the previous MRR ('unchanged', amount 0). Rows run to the as-of month.
EXPECTED_MOVEMENTS = {
    "acct_a": (
        "2025-01",
        {
            "2025-01": ("166.67", "new", "166.67"),
            "2025-03": ("226.67", "expansion", "60.00"),
            "2025-06": ("166.67", "contraction", "60.00"),
            "2026-01": ("0.00", "churn", "166.67"),
            "2026-03": ("90.00", "reactivation", "90.00"),
        },
    ),
    "acct_b": ("2025-03", {"2025-03": ("100.00", "new", "100.00"), "2025-05": ("0.00", "churn", "100.00")}),
    "acct_c": (
        "2025-02",
        {"2025-02": ("100.00", "new", "100.00"), "2025-04": ("160.00", "expansion", "60.00")},
    ),
    "acct_d": (
        "2025-01",
        {
            "2025-01": ("150.00", "new", "150.00"),
            "2025-02": ("450.00", "expansion", "300.00"),
            "2025-04": ("600.00", "expansion", "150.00"),
        },
    ),
    "acct_e": ("2025-06", {"2025-06": ("97.20", "new", "97.20"), "2026-01": ("99.00", "expansion", "1.80")}),
    "acct_f": (
        "2025-09",
        {"2025-09": ("80.40", "new", "80.40"), "2026-01": ("78.00", "contraction", "2.40")},
    ),
    "acct_g": ("2025-07", {"2025-07": ("150.00", "new", "150.00")}),
    "acct_h": ("2025-08", {"2025-08": ("250.00", "new", "250.00")}),
    "acct_i": ("2025-10", {"2025-10": ("80.00", "new", "80.00"), "2025-12": ("0.00", "churn", "80.00")}),
    "acct_billing_only": ("2026-02", {"2026-02": ("40.00", "new", "40.00")}),
    "cus_k": ("2026-03", {"2026-03": ("10.00", "new", "10.00")}),
}
MOVEMENT_COLUMNS = {
    "new": "new_mrr",
    "expansion": "expansion_mrr",
    "contraction": "contraction_mrr",
    "churn": "churned_mrr",
    "reactivation": "reactivation_mrr",
}


def expected_account_months(movements: dict | None = None) -> dict[tuple[str, date], dict]:
    expected = {}
    for account, (first, events) in (EXPECTED_MOVEMENTS if movements is None else movements).items():
        previous = Decimal("0")
        for month_start in months_between(first, AS_OF[:7]):
            mrr, movement, amount = events.get(
                month_start.strftime("%Y-%m"), (str(previous), "unchanged", "0")
            )
            row = {
                "mrr": Decimal(mrr),
                "arr": Decimal(mrr) * 12,
                "previous_mrr": previous,
                "movement_type": movement,
                **{column: Decimal("0") for column in MOVEMENT_COLUMNS.values()},
            }
            if movement in MOVEMENT_COLUMNS:
                row[MOVEMENT_COLUMNS[movement]] = Decimal(amount)
            expected[(account, month_start)] = row
            previous = Decimal(mrr)
    return expected


# Billing state on the as-of date (2026-04-10).
EXPECTED_CURRENT = {
    # account: (current_mrr, licensed_seats, next_renewal_date, billing_currency, lifecycle_status,
    #           first_paid_date)
    "acct_a": ("90.00", 3, "2026-05-05", "usd", "paying", "2025-01-15"),
    "acct_b": ("0.00", None, None, "usd", "churned", "2025-03-01"),
    "acct_c": ("160.00", 8, "2026-05-10", "usd", "paying", "2025-02-10"),
    "acct_d": ("600.00", 3, "2026-05-05", "usd", "paying", "2025-01-05"),
    "acct_e": ("99.00", 1, "2026-05-01", "eur", "paying", "2025-06-01"),
    "acct_f": ("78.00", 1, "2026-04-15", "jpy", "paying", "2025-09-15"),
    "acct_g": ("150.00", 10, "2026-05-04", "usd", "paying", "2025-07-04"),
    "acct_h": ("250.00", 1, "2026-05-01", "usd", "paying", "2025-08-01"),
    "acct_i": ("0.00", None, None, "usd", "churned", "2025-10-01"),
    "acct_billing_only": ("40.00", 1, "2026-05-01", "usd", "paying", "2026-02-01"),
    "cus_k": ("10.00", 1, "2026-05-01", "usd", "paying", "2026-03-01"),
    "acct_l": ("0.00", None, None, "usd", "trial", None),
    "acct_m": ("0.00", None, None, "usd", "never_paid", None),
}


def _ordered(raw_name: str, rows: list[dict]) -> tuple[list[str], list[tuple]]:
    raw = next(table for table in RAW_TABLES if table.name == raw_name)
    names = raw.column_names
    return names, [tuple(row.get(name) for name in names) for row in rows]


def write_duckdb(path: Path, fixture: StripeFixture) -> None:
    con = duckdb.connect(str(path))
    for raw in RAW_TABLES:
        con.execute(f'create schema if not exists "{raw.schema_key}"')
        con.execute(create_table_sql(raw))
        names, rows = _ordered(raw.name, fixture.rows.get(raw.name, []))
        if rows:
            marks = ", ".join("?" for _ in names)
            con.executemany(f'insert into "{raw.schema_key}"."{raw.name}" values ({marks})', rows)
    con.close()


def write_postgres(dbname: str, fixture: StripeFixture) -> None:
    import psycopg2

    conn = psycopg2.connect(**pg_params(dbname))
    conn.autocommit = True
    with conn.cursor() as cur:
        for raw in RAW_TABLES:
            cur.execute(f'create schema if not exists "{raw.schema_key}"')
            cur.execute(create_table_sql(raw))
            names, rows = _ordered(raw.name, fixture.rows.get(raw.name, []))
            if rows:
                marks = ", ".join("%s" for _ in names)
                cur.executemany(f'insert into "{raw.schema_key}"."{raw.name}" values ({marks})', rows)
    conn.close()


ACCOUNT_MONTH_SQL = """
select account_id, month_start, mrr, arr, previous_mrr, movement_type,
       new_mrr, expansion_mrr, contraction_mrr, churned_mrr, reactivation_mrr
from marts.fct_account_mrr_monthly
"""
SUMMARY_SQL = """
select month_start, starting_mrr, new_mrr, expansion_mrr, contraction_mrr, churned_mrr,
       reactivation_mrr, ending_mrr, paying_accounts, nrr, grr
from marts.fct_mrr_summary_monthly
"""
CURRENT_SQL = """
select account_id, current_mrr, licensed_seats, next_renewal_date, billing_currency, lifecycle_status,
       first_paid_date
from intermediate.int_account_revenue_current
"""
DIM_SQL = """
select account_id, account_name, current_mrr, current_arr, licensed_seats, seat_utilization,
       next_renewal_date, lifecycle_status, is_billing_only
from marts.dim_accounts
"""
UNMAPPED_SQL = """
select customer_id, mapping_status, account_id, current_mrr from monitoring.mon_billing_customers_unmapped
"""


def _normalise(value):
    if isinstance(value, float):
        return round(value, 6)  # ratios: safe_divide works in single precision on DuckDB
    if isinstance(value, Decimal):
        return value.quantize(Decimal("0.01"))
    if isinstance(value, datetime):
        return value.date()
    return value


def _results(fetch) -> dict[str, list[tuple]]:
    return {
        name: sorted(tuple(_normalise(value) for value in row) for row in fetch(sql))
        for name, sql in {
            "account_months": ACCOUNT_MONTH_SQL,
            "summary": SUMMARY_SQL,
            "current": CURRENT_SQL,
            "unmapped": UNMAPPED_SQL,
            "dim_accounts": DIM_SQL,
        }.items()
    }


def build_args(dbt_vars: dict | None = None) -> list[str]:
    """`dbt build` of the revenue models at the fixture's as-of date (plus `dbt_vars`)."""
    return [
        "build",
        "--select",
        *SELECT,
        "--indirect-selection",
        "cautious",
        "--vars",
        json.dumps({"as_of_date": AS_OF, **(dbt_vars or {})}),
    ]


def build_duckdb(
    workdir: Path, fixture: StripeFixture | None = None, dbt_vars: dict | None = None
) -> dict[str, list[tuple]]:
    db = workdir / "revenue.duckdb"
    write_duckdb(db, build_fixture() if fixture is None else fixture)
    run_dbt(build_args(dbt_vars), target="duckdb", workdir=workdir, duckdb_path=db)
    con = duckdb.connect(str(db), read_only=True)
    try:
        return _results(lambda sql: con.execute(sql).fetchall())
    finally:
        con.close()


def build_postgres(
    workdir: Path, dbname: str, fixture: StripeFixture, dbt_vars: dict | None = None
) -> dict[str, list[tuple]]:
    import psycopg2

    write_postgres(dbname, fixture)
    run_dbt(build_args(dbt_vars), target="postgres", workdir=workdir, pg_dbname=dbname)
    conn = psycopg2.connect(**pg_params(dbname))

    def fetch(sql: str) -> list[tuple]:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()

    try:
        return _results(fetch)
    finally:
        conn.close()


def check_results(results: dict[str, list[tuple]]) -> None:
    # every account-month, hand-computed
    expected = expected_account_months()
    got = {(row[0], row[1]): row for row in results["account_months"]}
    assert sorted(got) == sorted(expected), set(got) ^ set(expected)
    for key, want in expected.items():
        row = got[key]
        actual = dict(
            zip(
                ["mrr", "arr", "previous_mrr", "movement_type", *MOVEMENT_COLUMNS.values()],
                [row[2], row[3], row[4], row[5], row[6], row[7], row[8], row[9], row[10]],
                strict=True,
            )
        )
        assert actual == want, (key, actual, want)

    summary = {row[0]: row for row in results["summary"]}
    assert sorted(summary) == months_between("2025-01", AS_OF[:7])
    # Dec 2025 ends at 166.67 + 160 + 600 + 97.20 + 80.40 + 150 + 250 = 1504.27; in Jan 2026 A churns
    # (166.67), E gains 1.80 and F loses 2.40 on the new FX rates: 1504.27 - 166.67 + 1.80 - 2.40 = 1337.00
    jan = summary[date(2026, 1, 1)]
    assert jan[1:9] == (
        Decimal("1504.27"),
        Decimal("0.00"),
        Decimal("1.80"),
        Decimal("2.40"),
        Decimal("166.67"),
        Decimal("0.00"),
        Decimal("1337.00"),
        6,
    )
    assert jan[9] == pytest.approx(1337.00 / 1504.27)  # NRR
    assert jan[10] == pytest.approx(1335.20 / 1504.27)  # GRR leaves the expansion out
    # Mar 2026: K is new (10), A comes back (90): 1377.00 + 10 + 90 = 1477.00
    mar = summary[date(2026, 3, 1)]
    assert mar[1:9] == (
        Decimal("1377.00"),
        Decimal("10.00"),
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("90.00"),
        Decimal("1477.00"),
        9,
    )
    assert mar[9] == pytest.approx(1.0) and mar[10] == pytest.approx(1.0)
    first = summary[date(2025, 1, 1)]
    assert first[1] == Decimal("0.00") and first[9] is None and first[10] is None  # nothing to retain yet

    current = {row[0]: row[1:] for row in results["current"]}
    want_current = {
        account: (
            Decimal(mrr),
            seats,
            date.fromisoformat(renewal) if renewal else None,
            currency,
            status,
            date.fromisoformat(first_paid) if first_paid else None,
        )
        for account, (mrr, seats, renewal, currency, status, first_paid) in EXPECTED_CURRENT.items()
    }
    assert current == want_current

    # dim_accounts: every Segment account plus the billing-only ones, with the same billing state;
    # nobody is active in these fixtures, so seat utilization is 0 where seats are paid for
    dim = {row[0]: row[1:] for row in results["dim_accounts"]}
    assert sorted(dim) == sorted(EXPECTED_CURRENT)
    for account, (mrr, seats, renewal, _, status, _) in EXPECTED_CURRENT.items():
        billing_names = {"acct_billing_only": "Customer cus_j", "cus_k": "Customer cus_k"}
        billing_only = account in billing_names
        name = billing_names.get(account, f"Account {account[-1].upper()}")
        assert dim[account] == (
            name,
            Decimal(mrr),
            Decimal(mrr) * 12,
            seats,
            0.0 if seats else None,
            date.fromisoformat(renewal) if renewal else None,
            status,
            billing_only,
        ), account

    assert sorted(results["unmapped"]) == [
        ("cus_j", "billing_only", "acct_billing_only", Decimal("40.00")),
        ("cus_k", "no_account_id", "cus_k", Decimal("10.00")),
    ]


@pytest.fixture(scope="module")
def duckdb_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple]]:
    return build_duckdb(tmp_path_factory.mktemp("revenue_duckdb"))


@pytest.mark.slow
def test_revenue_scenarios_duckdb(duckdb_results: dict[str, list[tuple]]) -> None:
    check_results(duckdb_results)


@pytest.mark.slow
@pytest.mark.postgres
def test_revenue_scenarios_postgres_match_duckdb(
    tmp_path: Path, pg_database: str, duckdb_results: dict[str, list[tuple]]
) -> None:
    postgres = build_postgres(tmp_path, pg_database, build_fixture())
    check_results(postgres)
    assert postgres == duckdb_results


# ------------------------------------------------------------------------------------------------
# Negative recurring lines: prorations, reversals, re-bills, credit notes (one fixture of its own)
# ------------------------------------------------------------------------------------------------


def build_credit_fixture(partial_credit: bool = False) -> StripeFixture:
    """Three $20-a-seat monthly subscriptions from 2025-11-01 whose December is credited."""
    fx = StripeFixture()
    fx.product("prod_team", "Team")
    fx.product("prod_credit", "Credit note")
    fx.price("price_team_20", "prod_team", 2_000)
    fx.price("price_team_30", "prod_team", 3_000)
    fx.price("price_credit", "prod_credit", 3_000, interval=None, interval_count=None)
    for account in "nop":
        fx.group(f"acct_{account}", f"Account {account.upper()}")
        fx.customer(f"cus_{account}", json.dumps({"account_id": f"acct_{account}"}))
    start = "2025-11-01 00:00:00"
    periods = monthly_periods(start)
    december = periods[1]

    # N: 5 seats = 100 (Nov, new). On 2025-12-20 the December charge is reversed in full (-100, same
    # item, price, period, quantity) and not billed again: a credit, a cash event. The subscription
    # still runs at 5 seats, so MRR stays 100 (unchanged every month; a sum of the lines would read
    # 100 - 100 = 0 at the end of December: churn, then reactivation in January).
    fx.monthly_subscription("cus_n", "sub_n1", "si_n1", "price_team_20", 5, 2_000, start)
    fx.invoice(
        "cus_n",
        "sub_n1",
        ts("2025-12-20 10:00:00"),
        [{"item": "si_n1", "price": "price_team_20", "quantity": 5, "amount": -10_000, "period": december}],
    )
    if partial_credit:
        # a $30 credit on February's 5 seats: no rule says what it does to MRR -> the build stops
        fx.invoice(
            "cus_n",
            "sub_n1",
            ts("2026-02-12 10:00:00"),
            [
                {
                    "item": "si_n1",
                    "price": "price_team_20",
                    "quantity": 5,
                    "amount": -3_000,
                    "period": periods[3],
                }
            ],
        )
    fx.versions("sub_n1", "cus_n", [{"at": periods[0][0], "status": "active", "period": periods[0]}])

    # O: 5 seats = 100 (Nov, new). December is billed at 5, then corrected on 2025-12-03: the charge is
    # reversed (-100) and re-billed at 8 seats (+160); 8 seats from January -> 160 (Dec, expansion 60).
    for period in periods:
        quantity = 5 if period[0] < december[1] else 8
        fx.invoice(
            "cus_o",
            "sub_o1",
            period[0],
            [
                {
                    "item": "si_o1",
                    "price": "price_team_20",
                    "quantity": quantity,
                    "amount": quantity * 2_000,
                    "period": period,
                }
            ],
        )
    fx.invoice(
        "cus_o",
        "sub_o1",
        ts("2025-12-03 10:00:00"),
        [
            {"item": "si_o1", "price": "price_team_20", "quantity": 5, "amount": -10_000, "period": december},
            {"item": "si_o1", "price": "price_team_20", "quantity": 8, "amount": 16_000, "period": december},
        ],
    )
    fx.item("si_o1", "sub_o1", "price_team_20", 8, periods[0][0])
    fx.versions("sub_o1", "cus_o", [{"at": periods[0][0], "status": "active", "period": periods[0]}])

    # P: 1 seat at $30 = 30 (Nov, new); a $30 credit note on 2025-12-10 (a negative one-time line) is
    # a cash event: MRR stays 30.
    fx.monthly_subscription("cus_p", "sub_p1", "si_p1", "price_team_30", 1, 3_000, start)
    credit_at = ts("2025-12-10 10:00:00")
    fx.invoice(
        "cus_p",
        "sub_p1",
        credit_at,
        [
            {
                "price": "price_credit",
                "quantity": 1,
                "amount": -3_000,
                "period": (credit_at, credit_at),
                "type": "invoiceitem",
            }
        ],
    )
    fx.versions("sub_p1", "cus_p", [{"at": periods[0][0], "status": "active", "period": periods[0]}])
    return fx


CREDIT_MOVEMENTS = {
    "acct_n": ("2025-11", {"2025-11": ("100.00", "new", "100.00")}),
    "acct_o": (
        "2025-11",
        {"2025-11": ("100.00", "new", "100.00"), "2025-12": ("160.00", "expansion", "60.00")},
    ),
    "acct_p": ("2025-11", {"2025-11": ("30.00", "new", "30.00")}),
}
CREDIT_CURRENT = {
    # account: (current_mrr, licensed_seats, next_renewal_date, billing_currency, lifecycle_status,
    #           first_paid_date)
    "acct_n": (Decimal("100.00"), 5, date(2026, 5, 1), "usd", "paying", date(2025, 11, 1)),
    "acct_o": (Decimal("160.00"), 8, date(2026, 5, 1), "usd", "paying", date(2025, 11, 1)),
    "acct_p": (Decimal("30.00"), 1, date(2026, 5, 1), "usd", "paying", date(2025, 11, 1)),
}


def check_credit_results(results: dict[str, list[tuple]]) -> None:
    expected = expected_account_months(CREDIT_MOVEMENTS)
    got = {
        (row[0], row[1]): dict(
            zip(
                ["mrr", "arr", "previous_mrr", "movement_type", *MOVEMENT_COLUMNS.values()],
                row[2:],
                strict=True,
            )
        )
        for row in results["account_months"]
    }
    assert got == expected
    summary = {row[0]: row[1:9] for row in results["summary"]}
    # December: 100 + 100 + 30 = 230 at the start, O's re-bill +60 -> 290; nothing churns or comes back
    assert summary[date(2025, 12, 1)] == (
        Decimal("230.00"),
        Decimal("0.00"),
        Decimal("60.00"),
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("290.00"),
        3,
    )
    assert {row[0]: row[1:] for row in results["current"]} == CREDIT_CURRENT


@pytest.fixture(scope="module")
def credit_duckdb_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple]]:
    return build_duckdb(tmp_path_factory.mktemp("credit_duckdb"), build_credit_fixture())


@pytest.mark.slow
def test_reversed_and_rebilled_lines_give_the_subscription_mrr_duckdb(
    credit_duckdb_results: dict[str, list[tuple]],
) -> None:
    check_credit_results(credit_duckdb_results)


@pytest.mark.slow
@pytest.mark.postgres
def test_reversed_and_rebilled_lines_postgres_match_duckdb(
    tmp_path: Path, pg_database: str, credit_duckdb_results: dict[str, list[tuple]]
) -> None:
    postgres = build_postgres(tmp_path, pg_database, build_credit_fixture())
    check_credit_results(postgres)
    assert postgres == credit_duckdb_results


@pytest.mark.slow
def test_a_partial_credit_line_stops_the_build_naming_it(tmp_path: Path) -> None:
    db = tmp_path / "revenue.duckdb"
    write_duckdb(db, build_credit_fixture(partial_credit=True))
    result = run_dbt(
        build_args(),
        target="duckdb",
        workdir=tmp_path,
        duckdb_path=db,
        check=False,
    )
    assert result.returncode != 0
    assert "Failure in test assert_no_unclassified_negative_recurring_lines" in result.stdout
    assert "Got 1 result" in result.stdout
    with duckdb.connect(str(db), read_only=True) as con:
        # the test's rows name the line; nothing downstream of the lines was built
        compiled = next(
            (tmp_path / "target" / "compiled").rglob("assert_no_unclassified_negative_recurring_lines.sql")
        )
        named = con.execute(compiled.read_text()).fetchall()
        assert [(row[2], row[6]) for row in named] == [("sub_n1", Decimal("-30.00"))]
        built = {
            row[0]
            for row in con.execute(
                "select table_name from information_schema.tables"
                " where table_schema in ('intermediate', 'marts')"
            ).fetchall()
        }
    assert "int_subscription_items_mrr_daily" not in built and "fct_account_mrr_monthly" not in built


# ------------------------------------------------------------------------------------------------
# Reporting currency: cross rates through seeds/fx_rates.csv (quoted in usd)
# ------------------------------------------------------------------------------------------------

# The main fixture reported in eur. Seed: eur 1.08 usd until 2025-12-31, 1.10 from 2026-01-01; jpy
# 0.0067 then 0.0065 usd. Month-end MRR in eur = MRR in usd / the eur rate of that day:
EUR_ACCOUNT_MONTHS = {
    # D, $600: 600 / 1.08 = 555.555… -> 555.56; 600 / 1.10 = 545.4545… -> 545.45 (an FX contraction)
    ("acct_d", date(2025, 12, 1)): (Decimal("555.56"), "unchanged"),
    ("acct_d", date(2026, 1, 1)): (Decimal("545.45"), "contraction"),
    # E, EUR 90: 90 × 1.08 / 1.08 = 90 and 90 × 1.10 / 1.10 = 90; in usd January is an FX expansion,
    # in its own currency nothing moved
    ("acct_e", date(2025, 12, 1)): (Decimal("90.00"), "unchanged"),
    ("acct_e", date(2026, 1, 1)): (Decimal("90.00"), "unchanged"),
    # F, JPY 12,000: 12000 × 0.0067 / 1.08 = 74.444… -> 74.44; 12000 × 0.0065 / 1.10 = 70.909… -> 70.91
    ("acct_f", date(2025, 12, 1)): (Decimal("74.44"), "unchanged"),
    ("acct_f", date(2026, 1, 1)): (Decimal("70.91"), "contraction"),
}


@pytest.fixture(scope="module")
def eur_duckdb_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple]]:
    return build_duckdb(tmp_path_factory.mktemp("revenue_eur"), dbt_vars={"reporting_currency": "eur"})


@pytest.mark.slow
def test_reporting_currency_eur_converts_through_cross_rates(
    eur_duckdb_results: dict[str, list[tuple]], duckdb_results: dict[str, list[tuple]]
) -> None:
    eur = eur_duckdb_results
    got = {(row[0], row[1]): row for row in eur["account_months"]}
    for key, (mrr, movement) in EUR_ACCOUNT_MONTHS.items():
        assert (got[key][2], got[key][5]) == (mrr, movement), key
    current = {row[0]: row[1] for row in eur["current"]}
    assert (current["acct_d"], current["acct_e"], current["acct_f"]) == (
        Decimal("545.45"),
        Decimal("90.00"),
        Decimal("70.91"),
    )
    # every account-month: the usd MRR (rounded to cents) over the eur rate of its month end, to the cent
    usd = {(row[0], row[1]): row[2] for row in duckdb_results["account_months"]}
    assert sorted(got) == sorted(usd)
    for (account, month_start), usd_mrr in usd.items():
        rate = Decimal("1.08") if month_start.year == 2025 else Decimal("1.10")
        assert abs(got[(account, month_start)][2] - usd_mrr / rate) <= Decimal("0.01"), (account, month_start)


@pytest.mark.slow
@pytest.mark.postgres
def test_reporting_currency_eur_postgres_matches_duckdb(
    tmp_path: Path, pg_database: str, eur_duckdb_results: dict[str, list[tuple]]
) -> None:
    postgres = build_postgres(tmp_path, pg_database, build_fixture(), {"reporting_currency": "eur"})
    assert postgres == eur_duckdb_results


@pytest.mark.slow
def test_reporting_currency_without_a_rate_stops_the_build_naming_currency_and_day(tmp_path: Path) -> None:
    db = tmp_path / "revenue.duckdb"
    write_duckdb(db, build_fixture())
    result = run_dbt(
        build_args({"reporting_currency": "chf"}),
        target="duckdb",
        workdir=tmp_path,
        duckdb_path=db,
        check=False,
    )
    assert result.returncode != 0
    # the first billing day of the fixture is D's first period start, 2025-01-05
    assert "no rate for the reporting currency 'chf' (var reporting_currency) on 2025-01-05" in result.stdout
    # a seed said to be quoted in eur whose eur rows are not 1: the base var is wrong, the build stops
    result = run_dbt(
        [
            "run",
            "--select",
            "int_fx_rates_daily",
            "--vars",
            json.dumps({"as_of_date": AS_OF, "fx_rates_base_currency": "eur", "reporting_currency": "eur"}),
        ],
        target="duckdb",
        workdir=tmp_path,
        duckdb_path=db,
        check=False,
    )
    assert result.returncode != 0
    assert "its 'eur' row valid from 2000-01-01 has rate_to_reporting 1.08, not 1" in result.stdout
    # not a currency code at all
    result = run_dbt(
        ["run", "--select", "int_fx_rates_daily", "--vars", json.dumps({"reporting_currency": "euro"})],
        target="duckdb",
        workdir=tmp_path,
        duckdb_path=db,
        check=False,
    )
    assert result.returncode != 0
    assert "var reporting_currency must be a three-letter ISO 4217 code such as usd or eur, not 'euro'" in (
        result.stdout
    )
