"""Accounts (Segment groups) and their people: sizes, names, roles, join dates and habits.

An account is one organization; a membership is one user's life in one account (a user in two
accounts, or moving between accounts, has two memberships). Memberships are held column-wise in
numpy arrays so that the event generator can work on a whole account at once.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import numpy as np

from accountpulse.generator.catalog import Catalog
from accountpulse.generator.clock import MS_DAY, MS_HOUR, MS_MINUTE
from accountpulse.generator.ids import hex_ids, rng_for, uuids

FAR_FUTURE_DAY = 10**6  # a day number no generated range reaches
NEVER_MS = 2**62
LONG_AGO_MS = -(2**62)

INDUSTRIES = (
    "Software",
    "Fintech",
    "Healthcare",
    "Retail",
    "Manufacturing",
    "Education",
    "Media",
    "Logistics",
    "Real Estate",
    "Energy",
    "Hospitality",
    "Non-profit",
)
NAME_WORDS = (
    "Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne", "Wonka", "Tyrell",
    "Cyberdyne", "Soylent", "Aperture", "Black Mesa", "Oscorp", "Pied Piper", "Dunder", "Sterling",
    "Gringotts", "Monarch", "Nakatomi", "Gekko", "Prestige", "Bluth", "Kramerica", "Vehement",
    "Northwind", "Contoso", "Fabrikam", "Tailspin", "Litware", "Adatum", "Proseware", "Lucerne",
    "Wingtip", "Alpine", "Coho", "Fourth Coffee", "Margie", "Trey", "Blue Yonder", "Humongous",
    "Graphic", "Consolidated", "Southridge", "Woodgrove", "Datum", "Relecloud", "Lamna", "Boxfish",
    "Zephyr", "Quantum", "Helix", "Nimbus", "Atlas", "Orbit", "Vertex", "Lumen", "Summit", "Harbor",
)  # fmt: skip
NAME_SUFFIXES = (
    "Inc", "LLC", "Ltd", "GmbH", "Labs", "Group", "Systems", "Analytics", "Co", "KK", "SA", "BV",
    "Partners", "Holdings", "Technologies", "Studio", "Works", "Cloud",
)  # fmt: skip
AWKWARD_NAMES = ("O'Brien & Co", "Rocket \U0001f680 Labs", '"; drop table x; --')
FIRST_NAMES = (
    "Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi", "Liam",
    "Maya", "Noah", "Olga", "Pedro", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera", "Wei", "Ximena",
    "Yusuf", "Zoe", "Amir", "Bianca", "Carlos", "Dana", "Emeka", "Fatima", "Gustav", "Hana", "Ivan",
    "Jia", "Kofi", "Lena", "Mateo", "Nadia", "Oscar", "Priya", "Rafael", "Sofia", "Tomas", "Yuki",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Garcia", "Müller", "Okafor", "Tanaka", "Rossi", "Novak", "Silva", "Kim", "Nguyen",
    "Johansson", "Dubois", "Kowalski", "Haddad", "Patel", "O'Neil", "Schmidt", "Costa", "Ivanova",
    "Yilmaz", "Andersen", "Moreau", "Lopez", "Chen", "Singh", "Walker", "Fischer", "Sato", "Ali",
)  # fmt: skip
ROLES = ("admin", "member", "viewer", "billing")
ROLE_SHARE = (0.08, 0.68, 0.20, 0.04)  # everybody but the founder, who is an admin
ROLE_ACTIVITY = np.array([1.15, 1.0, 0.65, 0.35])
ROLE_FEATURE_USE = np.array([1.2, 1.0, 0.45, 0.3])
TIMEZONES = (-8, -7, -5, -5, -5, -3, 0, 0, 1, 1, 1, 2, 3, 5, 8, 9, 10)


@dataclass
class Account:
    """One organization. Activity parameters are defaults that the stories may override."""

    index: int
    account_id: str
    name: str
    domain: str
    industry: str
    employees: str
    created_ms: int
    tz_hours: int
    n_users: int
    story: str | None = None
    # who is there
    preexisting_share: float = 0.85  # users already there when the window opens (older accounts)
    growth_days: float = 45.0  # mean delay between an account's creation and a user joining
    leaver_rate: float = 0.08  # share of users who stop using the product some day
    allow_links: bool = True  # may lend users to two-group/moving-user messes
    # how they use the product
    base_active: float = 0.30  # chance an average user is active on an average weekday
    feat_mu: float = 1.8  # feature events per active user-day (times --scale)
    page_mu: float = 1.0  # page views per active user-day beyond the first (times --scale)
    pref: np.ndarray = field(default_factory=lambda: np.zeros(0))  # feature preference, sums to 1
    climb_days: float = 30.0  # days per depth level climbed
    onboarding_rate: float = 1.0  # multiplier on each onboarding step's continuation chance
    curve_x: np.ndarray = field(default_factory=lambda: np.array([0.0]))  # day numbers
    curve_y: np.ndarray = field(default_factory=lambda: np.array([1.0]))  # share of users still engaged
    activity_end_day: int = FAR_FUTURE_DAY  # nobody is active from this day on
    billing_hint: dict | None = None  # a story's fixed plan: tier, interval, currency, seats, extras

    def retention(self, days: np.ndarray) -> np.ndarray:
        return np.interp(days.astype(float), self.curve_x, self.curve_y)

    def set_curve(self, points: list[tuple[float, float]]) -> None:
        points = sorted(points)
        self.curve_x = np.array([p[0] for p in points], dtype=float)
        self.curve_y = np.array([p[1] for p in points], dtype=float)


@dataclass
class Users:
    """Every person with a user id: members of accounts, plus the unresolved ones (no account)."""

    user_id: list[str]
    anonymous_id: list[str]
    name: list[str]
    email: list[str]
    role: list[str]
    unresolved: np.ndarray  # bool: never group-called

    def __len__(self) -> int:
        return len(self.user_id)


MEMBER_COLUMNS = {
    # column -> dtype; 2-D columns (pref, climb, step_ms) are handled separately
    "account": np.int64,
    "user": np.int64,
    "start_ms": np.int64,  # joined (or arrived by group call) at
    "end_day": np.int64,  # no activity from this day on (left, moved away)
    "silent_from": np.int64,  # story: stops all activity from this day on
    "p_base": np.float64,
    "feat_mu": np.float64,
    "page_mu": np.float64,
    "scalable": bool,
    "depth_cap": np.int64,
    "rank": np.float64,  # engagement rank: active only while rank < account retention(day)
    "context_group": bool,  # its events carry context_group_id (users in two groups)
    "is_new": bool,  # joined inside the window: emits signup + onboarding
    "anonymous_start": bool,  # first session anonymous until identify
    "announce": bool,  # emits identify/group calls when it starts
    "ladder_start_day": np.int64,  # depth ladders are climbed from this day
}


@dataclass
class Members:
    columns: dict[str, np.ndarray]
    pref: np.ndarray  # (M, features)
    climb: np.ndarray  # (M, features) days per depth level
    step_ms: np.ndarray  # (M, onboarding steps): when each step happened; LONG_AGO/NEVER
    offsets: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.columns["account"])

    def __getattr__(self, name: str) -> np.ndarray:
        columns = self.__dict__.get("columns", {})
        if name in columns:
            return columns[name]
        raise AttributeError(name)

    def of(self, account_index: int) -> slice:
        return slice(int(self.offsets[account_index]), int(self.offsets[account_index + 1]))

    @staticmethod
    def concat(parts: list[Members], n_accounts: int) -> Members:
        columns = {k: np.concatenate([p.columns[k] for p in parts]) for k in MEMBER_COLUMNS}
        pref = np.concatenate([p.pref for p in parts])
        climb = np.concatenate([p.climb for p in parts])
        step_ms = np.concatenate([p.step_ms for p in parts])
        order = np.argsort(columns["account"], kind="stable")
        columns = {k: v[order] for k, v in columns.items()}
        counts = np.bincount(columns["account"], minlength=n_accounts)
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return Members(columns, pref[order], climb[order], step_ms[order], offsets)


# ------------------------------------------------------------------------------------------ accounts
def slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "org"


def company_names(rng: np.random.Generator, n: int) -> list[str]:
    combos = [f"{w} {s}" for w in NAME_WORDS for s in NAME_SUFFIXES]
    picks = rng.choice(len(combos), size=min(n, len(combos)), replace=False)
    names = [combos[i] for i in picks]
    while len(names) < n:  # more accounts than combinations: number them
        names.append(f"{combos[len(names) % len(combos)]} {len(names) // len(combos) + 1}")
    return names


def heavy_tailed_sizes(rng: np.random.Generator, n: int) -> np.ndarray:
    """Many accounts under 10 users, a long tail up to a couple of hundred."""
    sizes = np.round(rng.lognormal(mean=np.log(5.0), sigma=1.05, size=n)).astype(np.int64)
    return np.clip(sizes, 1, 180)


def base_pref(rng: np.random.Generator, catalog: Catalog, exclusive: np.ndarray) -> np.ndarray:
    """An account's taste in features: a Dirichlet draw, some non-favourite features unused.
    `exclusive` features (a story's private beta) get no weight here; the story adds it.
    A feature is only used from its release date on (the event generator sees to that)."""
    n = catalog.n_features
    pref = rng.dirichlet(np.full(n, 0.9))
    pref[exclusive] = 0.0
    dropped = rng.random(n) < 0.25
    dropped[np.argmax(pref)] = False
    pref[dropped] = 0.0
    if pref.sum() == 0:
        pref[np.argmin(exclusive)] = 1.0
    return pref / pref.sum()


def make_accounts(
    n: int, catalog: Catalog, start_day: int, end_day: int, seed: int, exclusive: np.ndarray
) -> tuple[list[Account], list[str]]:
    """n accounts with generic defaults (stories are cast onto some of them afterwards).
    Returns the accounts and the ids kept back for billing-only customers."""
    rng = rng_for(seed, "accounts")
    ids = hex_ids(rng, n + 4, "org_", 10)
    while len(set(ids)) < len(ids):  # practically never; keep ids unique all the same
        ids = hex_ids(rng, n + 4, "org_", 10)
    names = company_names(rng, n)
    sizes = heavy_tailed_sizes(rng, n)
    if n >= 60:
        sizes[rng.integers(12, n)] = 205  # one more 200+ account besides the stories' big ones
    accounts = []
    start_ms, last_ms = start_day * MS_DAY, (end_day - 21) * MS_DAY
    for i in range(n):
        if rng.random() < 0.3:
            created = start_ms - int(rng.uniform(1, 365) * MS_DAY)
        else:
            created = int(start_ms + rng.random() ** 0.8 * (last_ms - start_ms))
        created = created // MS_MINUTE * MS_MINUTE + int(rng.integers(0, 60)) * 1000
        size = int(sizes[i])
        employees = int(max(size * rng.uniform(2.5, 25.0), 3))
        employees = int(float(f"{employees:.2g}"))
        account = Account(
            index=i,
            account_id=ids[i],
            name=names[i],
            domain="",
            industry=str(INDUSTRIES[rng.integers(len(INDUSTRIES))]),
            employees=str(employees),
            created_ms=created,
            tz_hours=int(TIMEZONES[rng.integers(len(TIMEZONES))]),
            n_users=size,
            base_active=float(np.clip(rng.lognormal(np.log(0.28), 0.3), 0.08, 0.6)),
            feat_mu=float(rng.lognormal(np.log(1.8), 0.35)),
            page_mu=float(rng.lognormal(np.log(1.0), 0.3)),
            pref=base_pref(rng, catalog, exclusive),
            climb_days=float(rng.lognormal(np.log(28), 0.5)),
            onboarding_rate=float(rng.choice([0.6, 0.9, 1.0, 1.0, 1.1])),
            leaver_rate=float(rng.uniform(0.03, 0.12)),
        )
        accounts.append(account)
    return accounts, ids[n:]


def finish_names(accounts: list[Account]) -> None:
    """Email domains from the final names (stories and awkward names are cast before this)."""
    used: set[str] = set()
    for account in accounts:
        base = slug(account.name)[:40]
        domain, k = f"{base}.example", 2
        while domain in used:
            domain, k = f"{base}-{k}.example", k + 1
        used.add(domain)
        account.domain = domain


# ----------------------------------------------------------------------------------------- members
def _onboarding_steps(
    rng: np.random.Generator, account: Account, join_ms: np.ndarray, is_new: np.ndarray, n_steps: int
) -> np.ndarray:
    """(n, steps) times: step 1 at signup, each next step later with a chance to drop off."""
    n = len(join_ms)
    steps = np.full((n, n_steps), LONG_AGO_MS, dtype=np.int64)
    if n_steps == 0:
        return steps
    steps[is_new, 0] = join_ms[is_new]
    reached = is_new.copy()
    when = join_ms.astype(np.int64).copy()
    for k in range(1, n_steps):
        keep = min(0.92 - 0.06 * k, 0.97) * account.onboarding_rate
        reached &= rng.random(n) < min(keep, 0.99)
        mean_delay = MS_MINUTE * 20 if k == 1 else MS_DAY * 0.8 * k
        when = when + (rng.exponential(mean_delay, n) + MS_MINUTE).astype(np.int64)
        steps[:, k] = np.where(reached, when, np.where(is_new, NEVER_MS, LONG_AGO_MS))
    return steps


def make_members(
    account: Account,
    catalog: Catalog,
    start_day: int,
    end_day: int,
    first_user: int,
    anonymous_rate: float,
    seed: int,
) -> tuple[Members, dict[str, list]]:
    """One account's memberships, plus the identities of its (new) users."""
    rng = rng_for(seed, "members", account.index)
    n = account.n_users
    start_ms = start_day * MS_DAY
    last_join_ms = min(end_day - 1, account.activity_end_day - 1) * MS_DAY
    created = account.created_ms

    join = np.empty(n, dtype=np.int64)
    join[0] = created
    rest = n - 1
    if created < start_ms:
        pre = rng.random(rest) < account.preexisting_share
        early = created + rng.random(rest) * max(start_ms - MS_DAY - created, MS_HOUR)
        late = start_ms + rng.random(rest) * max(last_join_ms - start_ms, MS_HOUR)
        join[1:] = np.where(pre, early, late)
    else:
        delay = rng.exponential(account.growth_days * MS_DAY, rest)
        spread = created + rng.random(rest) * max(last_join_ms - created, MS_HOUR)
        join[1:] = np.where(created + delay <= last_join_ms, created + delay, spread)
    # people sign up during their working day
    local_hour = np.clip(rng.normal(11.5, 2.5, n), 7, 19)
    day_of = join // MS_DAY
    join[1:] = (
        day_of[1:] * MS_DAY
        + ((local_hour[1:] - account.tz_hours) % 24 * MS_HOUR).astype(np.int64)
        + rng.integers(0, MS_MINUTE, rest)
    )
    join = np.minimum(join, last_join_ms + MS_HOUR * 12)
    join = np.maximum(join, created)

    roles = np.zeros(n, dtype=np.int64)
    roles[1:] = rng.choice(len(ROLES), size=rest, p=ROLE_SHARE)
    level = rng.lognormal(0.0, 0.45, n)
    p_base = np.clip(account.base_active * ROLE_ACTIVITY[roles] * level**0.8, 0.01, 0.95)
    feat_mu = account.feat_mu * ROLE_FEATURE_USE[roles] * level**0.5
    page_mu = account.page_mu * level**0.3

    join_day = join // MS_DAY
    leaves = rng.random(n) < account.leaver_rate
    leave_day = join_day + 30 + (rng.random(n) * max(end_day + 60 - start_day, 1)).astype(np.int64)
    end = np.where(leaves & (leave_day > join_day + 30), leave_day, FAR_FUTURE_DAY)
    end = np.minimum(end, account.activity_end_day)
    end[0] = account.activity_end_day  # the founder stays

    pref = account.pref[None, :] * rng.lognormal(0.0, 0.5, (n, catalog.n_features))
    sums = pref.sum(axis=1, keepdims=True)
    pref = np.where(sums > 0, pref / np.where(sums > 0, sums, 1), 1.0 / catalog.n_features)
    climb = account.climb_days * rng.lognormal(0.0, 0.4, (n, catalog.n_features))

    is_new = join >= start_ms
    anonymous = is_new & (rng.random(n) < anonymous_rate)
    steps = _onboarding_steps(rng, account, join, is_new, len(catalog.onboarding))
    steps = np.where((steps != LONG_AGO_MS) & (steps // MS_DAY >= end[:, None]), NEVER_MS, steps)

    columns = {
        "account": np.full(n, account.index, dtype=np.int64),
        "user": np.arange(first_user, first_user + n, dtype=np.int64),
        "start_ms": join,
        "end_day": end.astype(np.int64),
        "silent_from": np.full(n, FAR_FUTURE_DAY, dtype=np.int64),
        "p_base": p_base,
        "feat_mu": feat_mu,
        "page_mu": page_mu,
        "scalable": np.ones(n, dtype=bool),
        "depth_cap": np.full(n, catalog.max_depth, dtype=np.int64),
        "rank": rng.random(n),
        "context_group": np.zeros(n, dtype=bool),
        "is_new": is_new,
        "anonymous_start": anonymous,
        "announce": np.ones(n, dtype=bool),
        "ladder_start_day": join_day.astype(np.int64),
    }
    members = Members(columns, pref, climb, steps)

    first = rng.integers(0, len(FIRST_NAMES), n)
    last = rng.integers(0, len(LAST_NAMES), n)
    names, emails, seen = [], [], set()
    for i in range(n):
        given, family = FIRST_NAMES[first[i]], LAST_NAMES[last[i]]
        names.append(f"{given} {family}")
        local = f"{slug(given)}.{slug(family)}".replace("-", "")
        email, k = f"{local}@{account.domain}", 2
        while email in seen:
            email, k = f"{local}{k}@{account.domain}", k + 1
        seen.add(email)
        emails.append(email)
    identities = {
        "user_id": hex_ids(rng, n, "usr_", 12),
        "anonymous_id": list(uuids(rng, n)),
        "name": names,
        "email": emails,
        "role": [ROLES[r] for r in roles],
    }
    return members, identities


def link_accounts(
    accounts: list[Account], members: list[Members], end_day: int, start_day: int, seed: int
) -> tuple[list[Members], dict[str, list[dict]]]:
    """Users in two groups and users moving account: extra memberships in other (ordinary) accounts.
    Returns the extra memberships and what was done, for the manifest."""
    rng = rng_for(seed, "links")
    eligible = [a.index for a in accounts if a.allow_links and a.story is None and a.n_users >= 3]
    log: dict[str, list[dict]] = {"multi_group_users": [], "moved_users": []}
    extra: list[Members] = []
    if len(eligible) < 3:
        return extra, log
    n_links = max(2, len(accounts) // 40)
    used: set[tuple[int, int]] = set()
    for kind in ("multi_group_users", "moved_users"):
        made, attempts = 0, 0
        while made < n_links and attempts < 200:
            attempts += 1
            home, away = (int(x) for x in rng.choice(eligible, size=2, replace=False))
            part = members[home]
            row = int(rng.integers(1, len(part)))  # never the founder
            if (home, row) in used:
                continue
            join_ms = int(part.start_ms[row])
            earliest = max(join_ms // MS_DAY + 14, accounts[away].created_ms // MS_DAY + 7, start_day + 14)
            latest = min(int(part.end_day[row]), accounts[away].activity_end_day, end_day) - 14
            if earliest >= latest:
                continue
            day = int(rng.integers(earliest, latest))
            at = (
                day * MS_DAY
                + int(((9.0 - accounts[away].tz_hours) % 24) * MS_HOUR)
                + int(rng.integers(0, 3600e3))
            )
            used.add((home, row))
            link = Members(
                columns={k: v[row : row + 1].copy() for k, v in part.columns.items()},
                pref=part.pref[row : row + 1].copy(),
                climb=part.climb[row : row + 1].copy(),
                step_ms=np.full_like(part.step_ms[row : row + 1], LONG_AGO_MS),
            )
            c = link.columns
            c["account"][:] = away
            c["start_ms"][:] = at
            c["is_new"][:] = False
            c["anonymous_start"][:] = False
            c["ladder_start_day"][:] = min(int(part.ladder_start_day[row]), day)
            c["end_day"][:] = min(int(part.end_day[row]), accounts[away].activity_end_day)
            if kind == "multi_group_users":
                c["p_base"][:] *= 0.5
                c["context_group"][:] = True
                part.columns["context_group"][row] = True
            else:
                part.columns["end_day"][row] = day
            extra.append(link)
            log[kind].append(
                {"user_index": int(part.user[row]), "from": home, "to": away, "day": day, "at_ms": at}
            )
            made += 1
    return extra, log


SHARED_DEVICE_DAYS = 14


def share_devices(
    accounts: list[Account], members: Members, start_day: int, end_day: int, seed: int
) -> list[dict[str, int]]:
    """Shared devices: a member who left hands the laptop to a colleague who keeps its browser
    profile, so for two weeks the colleague's calls carry the leaver's anonymous id (identified as
    both). Only in accounts without a story, only users with one membership."""
    rng = rng_for(seed, "shared-devices")
    memberships = np.bincount(members.user)
    single = memberships[members.user] == 1
    ends = np.minimum(members.end_day, members.silent_from)
    wanted = max(2, len(accounts) // 25)
    shared: list[dict[str, int]] = []
    candidates = [a.index for a in accounts if a.story is None and a.n_users >= 2]
    for account_index in rng.permutation(np.array(candidates, dtype=np.int64)):
        if len(shared) >= wanted:
            break
        account = accounts[int(account_index)]
        sl = members.of(int(account_index))
        rows = np.arange(sl.start, sl.stop)
        leavers = rows[
            single[rows]
            & (ends[rows] < account.activity_end_day)
            & (ends[rows] > start_day + 1)
            & (ends[rows] < end_day - SHARED_DEVICE_DAYS)
        ]
        for owner in rng.permutation(leavers):
            handover = int(ends[owner])
            guests = rows[
                single[rows]
                & (rows != owner)
                & (members.start_ms[rows] // MS_DAY < handover)
                & (ends[rows] >= handover + SHARED_DEVICE_DAYS)
            ]
            if len(guests):
                guest = int(guests[rng.integers(0, len(guests))])
                shared.append(
                    {
                        "account": int(account_index),
                        "owner": int(members.user[owner]),
                        "guest": int(members.user[guest]),
                        "from_day": handover,
                        "to_day": handover + SHARED_DEVICE_DAYS,
                    }
                )
                break
    return shared
