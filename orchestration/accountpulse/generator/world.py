"""The simulated company and its customers, built once per config: accounts, people, billing.

Everything is a pure function of the config's generation fields (seed, sizes, end date, rates), so
`append_days` can rebuild the same world later and carry on where the data stops.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from accountpulse.generator import stories
from accountpulse.generator.billing import BillingBook, plan_billing
from accountpulse.generator.catalog import Catalog, load_catalog
from accountpulse.generator.clock import MS_DAY, datetime_of, day_number, ms_of
from accountpulse.generator.config import GeneratorConfig
from accountpulse.generator.credit_notes import add_credit_notes
from accountpulse.generator.ids import hex_ids, rng_for, uuids
from accountpulse.generator.population import (
    Account,
    Members,
    Users,
    finish_names,
    link_accounts,
    make_accounts,
    make_members,
    share_devices,
)
from accountpulse.generator.pricing import TIERS
from accountpulse.generator.stripe import StripeData, simulate
from accountpulse.generator.stripe_layout import add_layout_customers, land_fivetran_layout

UNRESOLVED_USERS_MIN = 3


@dataclass
class World:
    config: GeneratorConfig
    catalog: Catalog
    start_day: int
    end_day: int  # the last event day (inclusive)
    accounts: list[Account]
    members: Members
    users: Users
    links: dict[str, list[dict[str, Any]]]
    book: BillingBook
    stripe: StripeData
    tier_ms: dict[int, tuple[np.ndarray, np.ndarray]]  # account -> (change ms, TIERS code)

    def rng(self, *labels: int | str) -> np.random.Generator:
        return rng_for(self.config.seed, *labels)


def seats_counter(members: Members) -> Callable[[int, datetime], int]:
    """How many members an account has at a moment (what its seat count follows)."""

    def seats_at(account_index: int, moment: datetime) -> int:
        sl = members.of(account_index)
        at = ms_of(moment)
        present = (members.start_ms[sl] <= at) & (members.end_day[sl] * MS_DAY > at)
        return int(present.sum())

    return seats_at


def build_world(config: GeneratorConfig) -> World:
    seed = config.seed
    catalog = load_catalog()
    start_day, end_day = day_number(config.start_date), day_number(config.end_date)

    exclusive = stories.beta_mask(catalog)
    accounts, spare_ids = make_accounts(config.accounts, catalog, start_day, end_day, seed, exclusive)
    stories.cast(accounts, catalog, start_day, end_day, seed)
    finish_names(accounts)
    book = plan_billing(accounts, start_day, end_day, seed, spare_ids)
    add_layout_customers(book, accounts, start_day)

    parts: list[Members] = []
    identities: dict[str, list] = {"user_id": [], "anonymous_id": [], "name": [], "email": [], "role": []}
    for account in accounts:
        part, who = make_members(
            account, catalog, start_day, end_day, len(identities["user_id"]), config.anonymous_rate, seed
        )
        parts.append(part)
        for key, values in who.items():
            identities[key].extend(values)
    extra, links = link_accounts(accounts, parts, end_day, start_day, seed)
    members = Members.concat(parts + extra, len(accounts))

    # users that no group call ever names: they produce the unresolved events
    rng = rng_for(seed, "unresolved-users")
    n_orphans = max(UNRESOLVED_USERS_MIN, config.accounts // 20)
    unresolved = np.zeros(len(identities["user_id"]) + n_orphans, dtype=bool)
    unresolved[len(identities["user_id"]) :] = True
    identities["user_id"] += hex_ids(rng, n_orphans, "usr_", 12)
    identities["anonymous_id"] += list(uuids(rng, n_orphans))
    identities["name"] += [None] * n_orphans
    identities["email"] += [None] * n_orphans
    identities["role"] += [None] * n_orphans
    if len(set(identities["user_id"])) != len(identities["user_id"]):
        raise RuntimeError("user id collision; choose another seed")
    users = Users(unresolved=unresolved, **identities)

    stories.plant(accounts, members, catalog, end_day, seed)
    links["shared_devices"] = share_devices(accounts, members, start_day, end_day, seed)

    stripe = simulate(book, end_day, seed, seats_counter(members))
    land_fivetran_layout(stripe, datetime_of((end_day + 1) * MS_DAY))
    add_credit_notes(stripe.tables, seed, datetime_of((end_day + 1) * MS_DAY))
    tier_ms = {
        account: (
            np.array([ms_of(at) for at, _ in changes], dtype=np.int64),
            np.array([TIERS.index(tier) for _, tier in changes], dtype=np.int64),
        )
        for account, changes in stripe.tier_changes.items()
    }
    return World(config, catalog, start_day, end_day, accounts, members, users, links, book, stripe, tier_ms)
