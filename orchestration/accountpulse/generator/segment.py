"""Segment events for one account and one block of days, vectorised with numpy.

Per block: which members are active on which day (weekday rhythm, personal activity level, the
account's engagement curve), one session per active user-day (local working hours), `logged_in`
first, then feature events (feature by the member's taste, depth by how far up the ladder the
member has climbed; level 1 most frequent), `settings_updated` now and then, page views, and the
occasional repeated identify/group call. Signups, onboarding steps, anonymous first visits (some
from a marketing campaign) and the group calls of users joining or moving come from `special_rows`.
Shared devices: while a guest uses a leaver's device, the guest's calls carry the leaver's anonymous
id, each session starts with an identify of the guest on it and ends with an anonymous (logged out)
page; those rows are drawn from a random stream of their own, so that the rest stays as it was. Then
the delivery messes.

Rows are column arrays of integer codes (users, events, pages, accounts) and int64 milliseconds;
`tables.py` turns them into frames with the raw_schema columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from accountpulse.generator.catalog import LOGGED_IN, SETTINGS_UPDATED, SIGNED_UP
from accountpulse.generator.clock import MS_DAY, MS_HOUR, MS_MINUTE, MS_SECOND, weekday
from accountpulse.generator.ids import uuids
from accountpulse.generator.messes import Counts, MessCounts, deliver, duplicate_indices, redelivery_lag
from accountpulse.generator.population import LONG_AGO_MS, NEVER_MS
from accountpulse.generator.stories import beta_mask

if TYPE_CHECKING:
    from accountpulse.generator.world import World

BLOCK_DAYS = 28
WEEKDAY_ACTIVITY = np.array([1.05, 1.0, 1.0, 0.97, 0.85, 0.14, 0.09])  # Monday first
LEVEL_WEIGHTS = np.array([1.0, 0.5, 0.3, 0.16, 0.1, 0.06, 0.04, 0.02])
SETTINGS_RATE = 0.03
REIDENTIFY_RATE = 0.01
GENERAL_PAGE_SHARE = 0.3
LIBRARIES = ("analytics.js", "analytics-node", "analytics-ios", "analytics-android")
MOBILE_USER_SHARE = 0.2  # users with the mobile app: on about a third of their days they use it
# (utm_campaign, utm_source, utm_medium) of a share of anonymous first visits; code -1 = none
CAMPAIGNS = (
    ("spring_launch", "google", "cpc"),
    ("product_newsletter", "newsletter", "email"),
    ("retargeting", "linkedin", "social"),
)
CAMPAIGN_SHARE = 0.4

TRACK_COLUMNS = ("anonymous_id", "user_id", "event", "context_group_id", "context_library_name")
PAGE_COLUMNS = ("anonymous_id", "user_id", "page", "context_group_id", "campaign", "screen")
IDENTIFY_COLUMNS = ("anonymous_id", "user_id", "trait_user")
GROUP_COLUMNS = ("anonymous_id", "user_id", "group_id", "plan")
TABLE_COLUMNS = {
    "tracks": TRACK_COLUMNS,
    "pages": PAGE_COLUMNS,
    "identifies": IDENTIFY_COLUMNS,
    "groups": GROUP_COLUMNS,
}

# the tables a block lands: screens are the page views of mobile sessions (split off after delivery)
SEGMENT_TABLES = (*TABLE_COLUMNS, "screens")

Rows = dict[str, np.ndarray]  # column -> array; "t" = when it really happened (ms), "cell" = user-day


def _empty(table: str) -> Rows:
    rows = {name: np.empty(0, dtype=np.int64) for name in TABLE_COLUMNS[table]}
    rows["t"] = np.empty(0, dtype=np.int64)
    rows["cell"] = np.empty(0, dtype=np.int64)
    rows["special"] = np.empty(0, dtype=bool)
    return rows


def _concat(parts: list[Rows]) -> Rows:
    parts = [p for p in parts if len(p["t"])] or parts[:1]
    return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}


def _take(rows: Rows, index: np.ndarray) -> Rows:
    return {name: values[index] for name, values in rows.items()}


@dataclass
class Block:
    """Finished rows of one block, per table: code columns, the five clocks and message ids."""

    tables: dict[str, dict[str, np.ndarray]]
    counts: Counts


class SegmentModel:
    """Everything about the product and the population that block generation looks up."""

    def __init__(self, world: World) -> None:
        self.world = world
        catalog = world.catalog
        self.ladder = catalog.ladder_codes()
        self.ladder_len = catalog.ladder_lengths()
        self.release = catalog.release_days()
        max_depth = self.ladder.shape[1]
        cumulative = np.ones((max_depth + 1, max_depth))
        for top in range(1, max_depth + 1):
            weights = LEVEL_WEIGHTS[:top] / LEVEL_WEIGHTS[:top].sum()
            cumulative[top, :top] = np.cumsum(weights)
        cumulative[:, -1] = 1.0
        self.level_cdf = cumulative
        self.gates = catalog.onboarding_gates()
        self.server_side = catalog.is_server_side()
        self.logged_in = catalog.event_code(LOGGED_IN)
        self.settings_updated = catalog.event_code(SETTINGS_UPDATED)
        self.signed_up = catalog.event_code(SIGNED_UP)
        self.step_events = np.array([catalog.event_code(s.event) for s in catalog.onboarding], dtype=np.int64)
        self.feature_pages = catalog.feature_page_codes()
        self.general_pages = catalog.general_page_codes()
        self.marketing_pages = catalog.marketing_page_codes()
        users = world.users
        self.orphans = np.flatnonzero(users.unresolved)
        later = np.flatnonzero(beta_mask(catalog))
        self.beta_events = np.isin(
            np.arange(len(catalog.events)), self.ladder[later][self.ladder[later] >= 0]
        )
        self._special_cache: dict[int, dict[str, Rows]] = {}
        self.n_users = len(world.users)
        self.mobile = mobile_users(world)
        self.shared: dict[int, list[dict[str, int]]] = {}
        for link in world.links.get("shared_devices", []):
            self.shared.setdefault(link["account"], []).append(link)

    # ------------------------------------------------------------------------------ plan trait
    def plan_codes(self, account: int, t: np.ndarray) -> np.ndarray:
        change_ms, codes = self.world.tier_ms.get(account, (np.empty(0, np.int64), np.empty(0, np.int64)))
        if len(change_ms) == 0:
            return np.zeros(len(t), dtype=np.int64)
        position = np.searchsorted(change_ms, t, side="right") - 1
        return np.where(position >= 0, codes[np.maximum(position, 0)], 0)

    # ------------------------------------------------------------------------------- special rows
    def special_rows(self, account_index: int) -> dict[str, Rows]:
        """Signups, anonymous first visits, onboarding steps and first identify/group calls of an
        account's members, over all time (filtered to a block by the caller)."""
        cached = self._special_cache.get(account_index)
        if cached is not None:
            return cached
        world = self.world
        account = world.accounts[account_index]
        members = world.members
        sl = members.of(account_index)
        rng = world.rng("special", account_index)
        start_ms = world.start_day * MS_DAY
        out: dict[str, list[Rows]] = {name: [] for name in TABLE_COLUMNS}
        user = members.user[sl]
        joined = members.start_ms[sl]
        end_ms = np.minimum(members.end_day[sl], members.silent_from[sl]) * MS_DAY
        end_ms = np.minimum(end_ms, account.activity_end_day * MS_DAY)
        n = len(user)
        new = members.is_new[sl] & (joined < end_ms)
        anon_first = new & members.anonymous_start[sl]
        arrived = ~members.is_new[sl] & (joined >= start_ms) & (joined < end_ms)  # group call into it
        present = ~members.is_new[sl] & (joined < start_ms) & (end_ms > start_ms) & members.announce[sl]
        ctx = np.where(members.context_group[sl], account_index, -1)
        cell = user * 100_000 + joined // MS_DAY

        def track(mask: np.ndarray, t: np.ndarray, event: np.ndarray | int, anonymous: bool = False) -> None:
            idx = np.flatnonzero(mask)
            out["tracks"].append(
                {
                    "anonymous_id": user[idx],
                    "user_id": np.full(len(idx), -1) if anonymous else user[idx],
                    "event": np.broadcast_to(event, len(idx)).astype(np.int64)
                    if np.ndim(event) == 0
                    else event[idx],
                    "context_group_id": ctx[idx],
                    "context_library_name": np.zeros(len(idx), dtype=np.int64),
                    "t": t[idx],
                    "cell": cell[idx],
                    "special": np.ones(len(idx), dtype=bool),
                }
            )

        def call(table: str, mask: np.ndarray, t: np.ndarray) -> None:
            idx = np.flatnonzero(mask)
            rows: Rows = {"anonymous_id": user[idx], "user_id": user[idx]}
            if table == "identifies":
                rows["trait_user"] = user[idx]
            else:
                rows["group_id"] = np.full(len(idx), account_index, dtype=np.int64)
                rows["plan"] = self.plan_codes(account_index, t[idx])
            rows.update(t=t[idx], cell=cell[idx], special=np.ones(len(idx), dtype=bool))
            out[table].append(rows)

        # new users: (anonymous visit ->) signup, identify, group
        call("identifies", new & ~anon_first, joined - 2 * MS_SECOND)
        track(new & ~anon_first, joined, self.signed_up)
        track(anon_first, joined, self.signed_up, anonymous=True)
        call("identifies", anon_first, joined + 2 * MS_SECOND)
        call("groups", new, joined + 4 * MS_SECOND)
        visits = np.where(anon_first, rng.integers(1, 4, n), 0)
        if visits.sum():
            who = np.repeat(np.arange(n), visits)
            before = np.sort(rng.integers(MS_MINUTE, 15 * MS_MINUTE, len(who)))[::-1]
            page = self.marketing_pages[rng.integers(0, len(self.marketing_pages), len(who))]
            campaign_rng = world.rng("campaigns", account_index)  # a stream of its own: rng stays as it was
            campaign = np.where(
                campaign_rng.random(len(who)) < CAMPAIGN_SHARE,
                campaign_rng.integers(0, len(CAMPAIGNS), len(who)),
                -1,
            )
            out["pages"].append(
                {
                    "anonymous_id": user[who],
                    "user_id": np.full(len(who), -1),
                    "page": page,
                    "context_group_id": np.full(len(who), -1),
                    "campaign": campaign,
                    "screen": np.zeros(len(who), dtype=np.int64),
                    "t": joined[who] - before,
                    "cell": cell[who],
                    "special": np.ones(len(who), dtype=bool),
                }
            )
        # onboarding steps after the signup
        steps = members.step_ms[sl]
        for k in range(1, steps.shape[1]):
            at = steps[:, k]
            reached = new & (at != NEVER_MS) & (at != LONG_AGO_MS) & (at < end_ms)
            track(reached, at, int(self.step_events[k]))
        # moved in / second group: a group call when they arrive
        call("groups", arrived, joined)
        # already there when tracking starts: identified and grouped on the first day
        first_seen = start_ms + rng.integers(6 * MS_HOUR, 20 * MS_HOUR, n)
        call("identifies", present, first_seen)
        call("groups", present, first_seen + MS_SECOND)

        result = {name: _concat(parts) if parts else _empty(name) for name, parts in out.items()}
        self._special_cache[account_index] = result
        return result

    # --------------------------------------------------------------------------------- activity
    def activity(
        self, account_index: int, day_lo: int, day_hi: int, rng: np.random.Generator, scale: float
    ) -> dict[str, Rows]:
        world = self.world
        account = world.accounts[account_index]
        members = world.members
        sl = members.of(account_index)
        m_count = sl.stop - sl.start
        days = np.arange(day_lo, day_hi, dtype=np.int64)
        result = {name: _empty(name) for name in TABLE_COLUMNS}
        if m_count == 0 or len(days) == 0:
            return result
        start_day = members.start_ms[sl] // MS_DAY
        alive = (
            (start_day[:, None] <= days[None, :])
            & (days[None, :] < members.end_day[sl][:, None])
            & (days[None, :] < members.silent_from[sl][:, None])
            & (days[None, :] < account.activity_end_day)
        )
        engaged = members.rank[sl][:, None] < account.retention(days)[None, :]
        p = np.minimum(members.p_base[sl][:, None] * WEEKDAY_ACTIVITY[weekday(days)][None, :], 0.97)
        active = (rng.random((m_count, len(days))) < p) & alive & engaged
        mi, di = np.nonzero(active)
        cells = len(mi)
        if cells == 0:
            return result
        row = sl.start + mi  # member row
        day = days[di]

        # one session per active user-day, in local working hours, inside the UTC day
        local = np.where(rng.random(cells) < 0.6, rng.normal(10.5, 1.8, cells), rng.normal(15.0, 2.0, cells))
        local = np.clip(local, 5.5, 23.0)
        length = np.clip(rng.lognormal(np.log(25 * MS_MINUTE), 0.7, cells), 2 * MS_MINUTE, 4 * MS_HOUR)
        length = length.astype(np.int64)
        offset = (((local - account.tz_hours) % 24) * MS_HOUR).astype(np.int64)
        joined = members.start_ms[row]
        first_day = day == joined // MS_DAY
        offset = np.where(first_day, np.maximum(offset, joined % MS_DAY + MS_MINUTE), offset)
        room = MS_DAY - 30 * MS_SECOND - offset
        length = np.minimum(length, room)
        ok = length > 10 * MS_SECOND
        session = day * MS_DAY + offset
        user = members.user[row]
        ctx = np.where(members.context_group[row], account_index, -1)
        cell = user * 100_000 + day
        # the device (anonymous id) of each cell: the user's own, or a leaver's that the user now uses
        device = user.copy()
        guest = np.zeros(cells, dtype=bool)
        for link in self.shared.get(account_index, ()):
            hit = (user == link["guest"]) & (day >= link["from_day"]) & (day < link["to_day"])
            device[hit] = link["owner"]
            guest |= hit
        # a mobile user's day on the phone: its own device (code user + n_users), screens for pages
        mobile = self.mobile[user] & ((day * 7 + user) % 3 == 0)
        device = np.where(mobile, user + self.n_users, device)
        guest &= ~mobile
        library = np.where(mobile, 2 + user % 2, 0)

        # tracks: logged_in, feature events, settings_updated
        factor = np.where(members.scalable[row], scale, 1.0)
        n_feature = np.where(ok, rng.poisson(members.feat_mu[row] * factor), 0)
        settings = ok & (rng.random(cells) < SETTINGS_RATE)
        f_cell = np.repeat(np.arange(cells), n_feature)
        f_t = session[f_cell] + MS_SECOND + (rng.random(len(f_cell)) * length[f_cell]).astype(np.int64)
        f_event = self._feature_events(rng, row[f_cell], day[f_cell], f_t)
        keep = f_event >= 0
        f_cell, f_t, f_event = f_cell[keep], f_t[keep], f_event[keep]
        s_cell = np.flatnonzero(settings)
        s_t = session[s_cell] + MS_SECOND + (rng.random(len(s_cell)) * length[s_cell]).astype(np.int64)
        l_cell = np.flatnonzero(ok)
        t_cell = np.concatenate([l_cell, f_cell, s_cell])
        event = np.concatenate(
            [
                np.full(len(l_cell), self.logged_in),
                f_event,
                np.full(len(s_cell), self.settings_updated),
            ]
        ).astype(np.int64)
        server = self.server_side[event]
        result["tracks"] = {
            "anonymous_id": np.where(server, -1, device[t_cell]),
            "user_id": user[t_cell],
            "event": event,
            "context_group_id": ctx[t_cell],
            "context_library_name": np.where(server, 1, library[t_cell]).astype(np.int64),
            "t": np.concatenate([session[l_cell], f_t, s_t]),
            "cell": cell[t_cell],
            "special": np.zeros(len(t_cell), dtype=bool),
        }

        # pages
        n_pages = np.where(ok, 1 + rng.poisson(members.page_mu[row] * factor), 0)
        p_cell = np.repeat(np.arange(cells), n_pages)
        p_t = session[p_cell] + (rng.random(len(p_cell)) * length[p_cell]).astype(np.int64)
        result["pages"] = {
            "anonymous_id": device[p_cell],
            "user_id": user[p_cell],
            "page": self._pages(rng, row[p_cell], day[p_cell]),
            "context_group_id": ctx[p_cell],
            "campaign": np.full(len(p_cell), -1, dtype=np.int64),
            "screen": mobile[p_cell].astype(np.int64),
            "t": p_t,
            "cell": cell[p_cell],
            "special": np.zeros(len(p_cell), dtype=bool),
        }

        # now and then an identify / group call again at the start of a session
        i_cell = np.flatnonzero(ok & (rng.random(cells) < REIDENTIFY_RATE))
        result["identifies"] = {
            "anonymous_id": device[i_cell],
            "user_id": user[i_cell],
            "trait_user": user[i_cell],
            "t": session[i_cell] - 2 * MS_SECOND,
            "cell": cell[i_cell],
            "special": np.zeros(len(i_cell), dtype=bool),
        }
        g_cell = np.flatnonzero(ok & (rng.random(cells) < world.config.group_call_rate))
        g_t = session[g_cell] - MS_SECOND
        result["groups"] = {
            "anonymous_id": device[g_cell],
            "user_id": user[g_cell],
            "group_id": np.full(len(g_cell), account_index, dtype=np.int64),
            "plan": self.plan_codes(account_index, g_t),
            "t": g_t,
            "cell": cell[g_cell],
            "special": np.zeros(len(g_cell), dtype=bool),
        }
        self._shared_sessions(result, np.flatnonzero(guest & ok), device, user, cell, session, length)
        return result

    def _shared_sessions(
        self,
        result: dict[str, Rows],
        s_cell: np.ndarray,
        device: np.ndarray,
        user: np.ndarray,
        cell: np.ndarray,
        session: np.ndarray,
        length: np.ndarray,
    ) -> None:
        """A guest's session on a shared device: an identify of the guest on it just before, an
        anonymous page (logged out) just after. Kept apart (key "shared"): delivered with a random
        stream of their own."""
        n = len(s_cell)
        identifies: Rows = {
            "anonymous_id": device[s_cell],
            "user_id": user[s_cell],
            "trait_user": user[s_cell],
            "t": session[s_cell] - 3 * MS_SECOND,
            "cell": cell[s_cell],
            "special": np.ones(n, dtype=bool),
        }
        pages: Rows = {
            "anonymous_id": device[s_cell],
            "user_id": np.full(n, -1, dtype=np.int64),
            "page": np.full(n, self.marketing_pages[0], dtype=np.int64),
            "context_group_id": np.full(n, -1, dtype=np.int64),
            "campaign": np.full(n, -1, dtype=np.int64),
            "screen": np.zeros(n, dtype=np.int64),
            "t": session[s_cell] + length[s_cell] + 5 * MS_SECOND,
            "cell": cell[s_cell],
            "special": np.ones(n, dtype=bool),
        }
        result["shared"] = {"identifies": identifies, "pages": pages}  # type: ignore[assignment]

    def _choose_features(
        self, rng: np.random.Generator, member_rows: np.ndarray, day: np.ndarray
    ) -> np.ndarray:
        pref = self.world.members.pref
        cdf = np.cumsum(pref[member_rows], axis=1)
        draw = rng.random(len(member_rows)) * cdf[:, -1]
        feature = np.minimum((draw[:, None] >= cdf).sum(axis=1), pref.shape[1] - 1)
        unreleased = day < self.release[feature]
        if unreleased.any():
            idx = np.flatnonzero(unreleased)
            masked = pref[member_rows[idx]] * (self.release[None, :] <= day[idx, None])
            cdf2 = np.cumsum(masked, axis=1)
            total = cdf2[:, -1]
            draw2 = rng.random(len(idx)) * total
            again = np.minimum((draw2[:, None] >= cdf2).sum(axis=1), pref.shape[1] - 1)
            fallback = int(np.argmin(self.release))
            feature[idx] = np.where(total > 0, again, fallback)
        return feature

    def _feature_events(
        self, rng: np.random.Generator, member_rows: np.ndarray, day: np.ndarray, t: np.ndarray
    ) -> np.ndarray:
        """Event codes for feature uses: the feature, then a depth up to what the member reached."""
        members = self.world.members
        if len(member_rows) == 0:
            return np.empty(0, dtype=np.int64)
        feature = self._choose_features(rng, member_rows, day)
        ladder_start = np.maximum(members.ladder_start_day[member_rows], self.release[feature])
        climb = np.maximum(members.climb[member_rows, feature], 0.5)
        reached = 1 + np.floor((day - ladder_start) / climb).astype(np.int64)
        cap = np.minimum(self.ladder_len[feature], members.depth_cap[member_rows])
        reached = np.clip(reached, 1, cap)
        dropped = np.zeros(len(feature), dtype=bool)
        for step, gated_feature, depth in self.gates:
            waiting = (feature == gated_feature) & (t <= members.step_ms[member_rows, step])
            if depth <= 1:
                dropped |= waiting  # the step is the feature's first use: nothing before it
            else:
                reached = np.where(waiting, np.minimum(reached, depth - 1), reached)
        draw = rng.random(len(feature))
        level = 1 + (draw[:, None] >= self.level_cdf[reached]).sum(axis=1)
        level = np.minimum(level, reached)
        event = self.ladder[feature, level - 1]
        return np.where(dropped, -1, event)

    def _pages(self, rng: np.random.Generator, member_rows: np.ndarray, day: np.ndarray) -> np.ndarray:
        n = len(member_rows)
        if n == 0:
            return np.empty(0, dtype=np.int64)
        feature = self._choose_features(rng, member_rows, day)
        variant = (rng.random(n) < 0.25).astype(np.int64)
        page = self.feature_pages[feature, variant]
        general = (rng.random(n) < GENERAL_PAGE_SHARE) | (day < self.release[feature])
        return np.where(general, self.general_pages[rng.integers(0, len(self.general_pages), n)], page)


def mobile_users(world: World) -> np.ndarray:
    """Per user code: whether the user has the mobile app (a random stream of its own)."""
    users = world.users
    return (world.rng("mobile-users").random(len(users)) < MOBILE_USER_SHARE) & ~users.unresolved


def _unresolve(model: SegmentModel, rng: np.random.Generator, rows: Rows, rate: float) -> np.ndarray:
    """Hand a share of ordinary rows to user ids that no group call names (never signups or
    onboarding, never the beta story's feature: it stays in its three accounts). Returns the mask."""
    n = len(rows["t"])
    chosen = (rng.random(n) < rate) & ~rows["special"] & (rows["user_id"] >= 0)
    if "event" in rows:
        chosen &= ~model.beta_events[rows["event"]]
    if chosen.any() and len(model.orphans):
        orphan = model.orphans[rng.integers(0, len(model.orphans), int(chosen.sum()))]
        rows["user_id"][chosen] = orphan
        rows["anonymous_id"][chosen] = orphan
        rows["context_group_id"][chosen] = -1
        rows["cell"][chosen] = orphan * 100_000 + rows["t"][chosen] // MS_DAY
    return chosen


def finish(
    model: SegmentModel,
    table: str,
    rows: Rows,
    rng: np.random.Generator,
    horizon_ms: int,
    received_from_ms: int | None = None,
) -> tuple[dict[str, np.ndarray], MessCounts]:
    """Deliver rows: clocks, late arrivals, clock skew, message ids, duplicates. Rows not received
    before the horizon are left out (they have not arrived yet); with `received_from_ms`, only rows
    received from then on are kept (late arrivals for days already loaded)."""
    config = model.world.config
    messy = table in ("tracks", "pages")
    delivery = deliver(
        rng,
        rows["t"],
        config.late_rate if messy else 0.0,
        rows["cell"] if table == "tracks" else None,
        config.clock_skew_rate,
    )
    keep = delivery.received_at < horizon_ms
    if received_from_ms is not None:
        keep &= delivery.received_at >= received_from_ms
    idx = np.flatnonzero(keep)
    out = {name: rows[name][idx] for name in TABLE_COLUMNS[table]}
    out["timestamp"] = delivery.timestamp[idx]
    out["sent_at"] = delivery.sent_at[idx]
    out["received_at"] = delivery.received_at[idx]
    out["uuid_ts"] = delivery.uuid_ts[idx]
    out["original_timestamp"] = delivery.original_timestamp[idx]
    n = len(idx)
    out["id"] = uuids(rng, n)
    out["_late"] = delivery.late[idx]
    out["_skewed"] = delivery.skewed[idx] if table == "tracks" else np.zeros(n, dtype=bool)
    out["_first"] = np.ones(n, dtype=bool)  # first delivery of the message
    dup = duplicate_indices(rng, n, config.duplicate_rate)
    if len(dup):
        copies = {name: values[dup] for name, values in out.items()}
        copies["uuid_ts"] = copies["uuid_ts"] + redelivery_lag(rng, len(dup))
        copies["_first"] = np.zeros(len(dup), dtype=bool)
        out = {name: np.concatenate([out[name], copies[name]]) for name in out}
    return out, mess_counts(model, out)


def mess_counts(model: SegmentModel, out: dict[str, np.ndarray]) -> MessCounts:
    """The messes of finished rows (counted per message: on first deliveries, plus the copies)."""
    first = out["_first"]
    user = out["user_id"][first]
    return MessCounts(
        rows=len(first),
        duplicate_rows=int((~first).sum()),
        late_arrivals=int(out["_late"][first].sum()),
        clock_skew=int(out["_skewed"][first].sum()),
        anonymous=int((user < 0).sum()),
        unresolved=int(model.world.users.unresolved[np.maximum(user, 0)][user >= 0].sum()),
    )


def _select(columns: dict[str, np.ndarray], mask: np.ndarray) -> dict[str, np.ndarray]:
    return {name: values[mask] for name, values in columns.items()}


def generate_block(
    model: SegmentModel,
    account_index: int,
    day_lo: int,
    day_hi: int,
    horizon_ms: int,
    rng: np.random.Generator,
    include_special: bool = True,
    received_from_ms: int | None = None,
) -> Block:
    """All Segment rows of one account whose real time falls in [day_lo, day_hi)."""
    world = model.world
    config = world.config
    produced = model.activity(account_index, day_lo, day_hi, rng, config.scale)
    shared: dict[str, Rows] = produced.pop("shared", {})  # type: ignore[arg-type]
    if include_special:
        special = model.special_rows(account_index)
        lo, hi = day_lo * MS_DAY, day_hi * MS_DAY
        for table, rows in special.items():
            inside = (rows["t"] >= lo) & (rows["t"] < hi)
            if inside.any():
                produced[table] = _concat([produced[table], _take(rows, np.flatnonzero(inside))])
    if config.unresolved_rate > 0:
        for table in ("tracks", "pages"):
            _unresolve(model, rng, produced[table], config.unresolved_rate)
    counts = Counts()
    tables = {}
    for table in TABLE_COLUMNS:
        tables[table], counts.tables[table] = finish(
            model, table, produced[table], rng, horizon_ms, received_from_ms
        )
    if shared and len(shared["identifies"]["t"]):
        shared_rng = world.rng("shared-device", account_index, day_lo, received_from_ms or 0)
        for table, rows in shared.items():
            out, mess = finish(model, table, rows, shared_rng, horizon_ms, received_from_ms)
            tables[table] = {name: np.concatenate([tables[table][name], out[name]]) for name in out}
            counts.tables[table].add(mess)
    # screen views went through delivery with the page views (so every random draw stays as it was)
    pages = tables["pages"]
    on_mobile = pages["screen"] == 1
    tables["screens"], tables["pages"] = _select(pages, on_mobile), _select(pages, ~on_mobile)
    counts.tables["screens"] = mess_counts(model, tables["screens"])
    counts.tables["pages"] = mess_counts(model, tables["pages"])
    for name, columns in tables.items():
        tables[name] = {key: values for key, values in columns.items() if not key.startswith("_")}
    return Block(tables, counts)


def block_ranges(day_lo: int, day_hi: int) -> list[tuple[int, int]]:
    return [(lo, min(lo + BLOCK_DAYS, day_hi)) for lo in range(day_lo, day_hi, BLOCK_DAYS)]
