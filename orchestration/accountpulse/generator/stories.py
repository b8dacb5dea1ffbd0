"""The planted stories (SPEC "Runs"): which accounts carry them and how their people behave.

`cast` shapes the story accounts before their members exist (size, age, plan); `plant` tunes the
members' habits afterwards; `describe` writes what a reader of the manifest needs to find them.
Story accounts take the first account slots and never lend users to the two-group/moving messes,
so each story is exactly as described here (the other messes touch them like any account).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from accountpulse.generator.catalog import Catalog
from accountpulse.generator.clock import (
    MS_DAY,
    MS_HOUR,
    day_date,
    day_number,
    last_complete_week_starts,
    ms_of,
)
from accountpulse.generator.ids import rng_for
from accountpulse.generator.population import AWKWARD_NAMES, Account, Members

BETA_FEATURE = "ai_assistant"
DECLINE_WEEKS = 6
# a sharp, deepening drop: every planted week is at least 45% below its 8-week baseline
DECLINE_FACTORS = (0.50, 0.40, 0.32, 0.26, 0.21, 0.17)
CHAMPION_SILENT_DAYS = 20
DORMANT_SILENT_DAYS = 40
RENEWAL_AFTER_END_DAYS = 35
RENEWAL_DECLINE_DAYS = 120
# engagement at the end date, relative to before the decline: every month loses > 10 points of adoption
RENEWAL_ENGAGED_AT_END = 0.25
BETA_ADOPTER_SHARE = 0.8
BETA_EVENT_SHARE = 0.3

STORIES = (
    "power_user_masking",
    "big_account_declining",
    "cheap_account_using_everything",
    "beta_feature_launch",
    "steady_healthy",
    "champion_gone_silent",
    "renewal_risk",
    "dormant",
)


@dataclass(frozen=True)
class Slot:
    story: str
    users: int
    tier: str
    interval: str
    currency: str
    seats: int | None = None  # None: one seat per user
    setup_fee: bool = False


SLOTS = (
    Slot("big_account_declining", 240, "enterprise", "year", "usd"),
    Slot("beta_feature_launch", 120, "business", "year", "usd"),
    Slot("beta_feature_launch", 150, "enterprise", "quarter", "eur"),
    Slot("beta_feature_launch", 210, "enterprise", "year", "usd"),
    Slot("power_user_masking", 40, "team", "month", "usd", setup_fee=True),
    Slot("cheap_account_using_everything", 6, "starter", "month", "usd", seats=4),
    # steady accounts bought seats with headroom (75-83% taken): not an expansion signal
    Slot("steady_healthy", 18, "team", "month", "usd", seats=24),
    Slot("steady_healthy", 25, "team", "quarter", "usd", seats=30),
    Slot("steady_healthy", 32, "business", "year", "jpy", seats=40),
    Slot("champion_gone_silent", 12, "team", "month", "usd"),
    Slot("renewal_risk", 60, "business", "year", "usd"),
    Slot("dormant", 8, "team", "month", "eur"),
)


def story_accounts(accounts: list[Account], story: str) -> list[Account]:
    return [account for account in accounts if account.story == story]


def renewal_moment(end_day: int) -> datetime:
    """When the renewal-risk account's yearly term ends: 35 days after the end date, 15:00 UTC."""
    return datetime.combine(day_date(end_day + RENEWAL_AFTER_END_DAYS), datetime.min.time()) + timedelta(
        hours=15
    )


def cast(accounts: list[Account], catalog: Catalog, start_day: int, end_day: int, seed: int) -> None:
    """Turn the first accounts into the story accounts, the next three get the awkward names."""
    rng = rng_for(seed, "stories", "cast")
    start_ms = start_day * MS_DAY
    for slot, account in zip(SLOTS, accounts, strict=False):
        account.story = slot.story
        account.n_users = slot.users
        account.allow_links = False
        account.preexisting_share = 1.0
        account.leaver_rate = 0.0
        account.onboarding_rate = 1.0
        account.created_ms = start_ms - int(rng.uniform(60, 400) * MS_DAY) + int(rng.integers(0, MS_DAY))
        employees = slot.users * int(rng.integers(8, 20))
        account.employees = str(int(float(f"{employees:.2g}")))
        hint: dict[str, Any] = {
            "tier": slot.tier,
            "interval": slot.interval,
            "currency": slot.currency,
            "seats": slot.seats or slot.users,
            "setup_fee": slot.setup_fee,
        }
        if slot.story == "renewal_risk":
            anchor = renewal_moment(end_day).replace(year=renewal_moment(end_day).year - 2)
            hint["start_ms"] = ms_of(anchor)
            account.created_ms = ms_of(anchor) - 3 * MS_DAY
        else:
            hint["start_ms"] = account.created_ms + int(rng.integers(1, 72)) * MS_HOUR
        account.billing_hint = hint
    for name, account in zip(AWKWARD_NAMES, accounts[len(SLOTS) :], strict=False):
        account.name = name


def beta_mask(catalog: Catalog) -> np.ndarray:
    """The beta feature (absent when the seeds do not define it): nobody else ever uses it."""
    return catalog.feature_mask((BETA_FEATURE,))


def _broad_pref(rng: np.random.Generator, catalog: Catalog, concentration: float) -> np.ndarray:
    pref = rng.dirichlet(np.full(catalog.n_features, concentration))
    pref[beta_mask(catalog)] = 0.0
    return pref / pref.sum()


def plant(accounts: list[Account], members: Members, catalog: Catalog, end_day: int, seed: int) -> None:
    """Give the story accounts' members their habits."""
    rng = rng_for(seed, "stories", "plant")
    m = members.columns
    core = catalog.core_mask()
    beta = beta_mask(catalog)
    for account in accounts:
        if account.story is None:
            continue
        rows = np.arange(members.of(account.index).start, members.of(account.index).stop)
        n = len(rows)
        story = account.story
        if story == "big_account_declining":
            m["p_base"][rows] = np.clip(0.55 * rng.lognormal(0, 0.15, n), 0.3, 0.9)
            weeks = [day_number(w) for w in last_complete_week_starts(day_date(end_day), DECLINE_WEEKS)]
            points = [(float(weeks[0] - 1), 1.0)]
            for week, factor in zip(weeks, DECLINE_FACTORS, strict=True):
                points += [(float(week), factor), (float(week + 6), factor)]
            account.set_curve(points)
        elif story == "beta_feature_launch":
            m["p_base"][rows] = np.clip(0.38 * rng.lognormal(0, 0.25, n), 0.1, 0.9)
            adopters = rng.random(n) < BETA_ADOPTER_SHARE
            if beta.any():
                f = int(np.argmax(beta))
                others = members.pref[rows].sum(axis=1) - members.pref[rows, f]
                weight = BETA_EVENT_SHARE / (1 - BETA_EVENT_SHARE) * others
                members.pref[rows, f] = np.where(adopters, weight, 0.0)
                members.pref[rows] /= members.pref[rows].sum(axis=1, keepdims=True)
        elif story == "power_user_masking":
            champion, rest = rows[0], rows[1:]
            m["p_base"][champion] = 0.95
            m["feat_mu"][champion] = 25.0
            m["page_mu"][champion] = 6.0
            pref = np.where(core, 1.0, 0.0)
            members.pref[champion] = pref / pref.sum()
            members.climb[champion] = 7.0
            m["p_base"][rest] = np.clip(0.12 * rng.lognormal(0, 0.2, len(rest)), 0.05, 0.25)
            m["feat_mu"][rest] = 0.12
            m["page_mu"][rest] = 0.8
            m["scalable"][rest] = False
            m["depth_cap"][rest] = 1
        elif story == "cheap_account_using_everything":
            m["p_base"][rows] = 0.85
            m["feat_mu"][rows] = 9.0
            pref = np.where(beta, 0.0, 1.0)
            members.pref[rows] = pref / pref.sum()
            members.climb[rows] = rng.uniform(3.0, 6.0, (n, catalog.n_features))
        elif story == "steady_healthy":
            m["p_base"][rows] = np.clip(0.42 * rng.lognormal(0, 0.2, n), 0.15, 0.8)
            m["feat_mu"][rows] = 2.8
            account.pref = _broad_pref(rng, catalog, 6.0)
            members.pref[rows] = account.pref[None, :] * rng.lognormal(0, 0.2, (n, catalog.n_features))
            members.pref[rows] /= members.pref[rows].sum(axis=1, keepdims=True)
        elif story == "champion_gone_silent":
            champion, rest = rows[0], rows[1:]
            m["p_base"][champion] = 0.95
            m["feat_mu"][champion] = 30.0
            m["page_mu"][champion] = 8.0
            m["silent_from"][champion] = end_day - CHAMPION_SILENT_DAYS + 1
            # the others log in and browse a little: the champion keeps > 50% even at --scale 0.1
            m["p_base"][rest] = np.clip(0.15 * rng.lognormal(0, 0.2, len(rest)), 0.05, 0.3)
            m["feat_mu"][rest] = 1.5
        elif story == "renewal_risk":
            account.set_curve(
                [(float(end_day - RENEWAL_DECLINE_DAYS), 1.0), (float(end_day), RENEWAL_ENGAGED_AT_END)]
            )
            m["depth_cap"][rows] = 2
            # habitual report users: an engaged user adopts, so the adoption rate follows the curve
            m["feat_mu"][rows] = 6.0
            favourites = np.argsort(-account.pref)[:2]
            pref = np.zeros(catalog.n_features)
            pref[favourites] = (0.7, 0.3)
            members.pref[rows] = pref
        elif story == "dormant":
            m["silent_from"][rows] = end_day - DORMANT_SILENT_DAYS + 1


def describe(
    accounts: list[Account],
    members: Members,
    user_ids: list[str],
    catalog: Catalog,
    end_day: int,
    renewals: dict[int, datetime],
) -> dict[str, Any]:
    """The manifest's `stories` section: account ids and the parameters of each planted story."""
    out: dict[str, Any] = {}

    def ids(story: str) -> list[str]:
        return [a.account_id for a in story_accounts(accounts, story)]

    def first_user(account: Account) -> str:
        return user_ids[int(members.user[members.of(account.index).start])]

    end = day_date(end_day)
    power = story_accounts(accounts, "power_user_masking")
    out["power_user_masking"] = {
        "account_ids": ids("power_user_masking"),
        "champion_user_ids": [first_user(a) for a in power],
        "users": [a.n_users for a in power],
        "note": "one user makes most core-feature events; the others log in and browse but never adopt",
    }
    declining = story_accounts(accounts, "big_account_declining")
    out["big_account_declining"] = {
        "account_ids": ids("big_account_declining"),
        "users": [a.n_users for a in declining],
        "planted_week_starts": [w.isoformat() for w in last_complete_week_starts(end, DECLINE_WEEKS)],
        "weekly_engaged_share": list(DECLINE_FACTORS),
        "note": "steady weekly active users before; in the planted weeks only this share stays engaged",
    }
    cheap = story_accounts(accounts, "cheap_account_using_everything")
    out["cheap_account_using_everything"] = {
        "account_ids": ids("cheap_account_using_everything"),
        "users": [a.n_users for a in cheap],
        "seats": [a.billing_hint["seats"] for a in cheap if a.billing_hint],
    }
    mask = beta_mask(catalog)
    released = catalog.features[int(np.argmax(mask))].released_at if mask.any() else None
    adopters = []
    for account in story_accounts(accounts, "beta_feature_launch"):
        rows = members.of(account.index)
        adopters.append(int((members.pref[rows][:, mask] > 0).sum()))
    out["beta_feature_launch"] = {
        "account_ids": ids("beta_feature_launch"),
        "feature_id": BETA_FEATURE,
        "released_at": released.isoformat() if released else None,
        "released_inside_window": released is not None and released <= end,
        "users": [a.n_users for a in story_accounts(accounts, "beta_feature_launch")],
        "adopting_users_planned": adopters,
    }
    steady = story_accounts(accounts, "steady_healthy")
    out["steady_healthy"] = {
        "account_ids": ids("steady_healthy"),
        "users": [a.n_users for a in steady],
        "seats": [a.billing_hint["seats"] for a in steady if a.billing_hint],
    }
    silent = story_accounts(accounts, "champion_gone_silent")
    out["champion_gone_silent"] = {
        "account_ids": ids("champion_gone_silent"),
        "champion_user_ids": [first_user(a) for a in silent],
        "silent_since": day_date(end_day - CHAMPION_SILENT_DAYS + 1).isoformat(),
        "silent_days": CHAMPION_SILENT_DAYS,
    }
    risk = story_accounts(accounts, "renewal_risk")
    out["renewal_risk"] = {
        "account_ids": ids("renewal_risk"),
        "renewal_at": [renewals[a.index].isoformat(sep=" ") for a in risk if a.index in renewals],
        "days_after_end_date": RENEWAL_AFTER_END_DAYS,
        "note": "yearly plan; engaged users fall to 25% over the last 120 days, depth capped at level 2",
    }
    out["dormant"] = {
        "account_ids": ids("dormant"),
        "last_possible_event_date": day_date(end_day - DORMANT_SILENT_DAYS).isoformat(),
        "silent_days": DORMANT_SILENT_DAYS,
    }
    return out
