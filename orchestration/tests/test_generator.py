"""The demo data generator on real databases: deterministic, exactly the landed layout, the
manifest matches the rows (stories, mess counts, expected MRR), Stripe is internally consistent,
appending carries on deterministically, and the same data loads into PostgreSQL."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import pg_params

from accountpulse.cli import build_parser, main
from accountpulse.errors import UserError
from accountpulse.generator import GenerationResult, GeneratorConfig, append_days, generate
from accountpulse.generator.config import REFERENCE_END_DATE, default_end_date
from accountpulse.generator.layout import ABSENT_COLUMNS, LANDED_TABLES
from accountpulse.raw_schema import RAW_TABLES

SMALL = {"accounts": 25, "days": 120, "seed": 7, "end_date": REFERENCE_END_DATE, "progress": False}
DUCK_TYPES = {
    "varchar": "VARCHAR",
    "timestamp": "TIMESTAMP",
    "bigint": "BIGINT",
    "boolean": "BOOLEAN",
    "double precision": "DOUBLE",
}
CORE_EVENT_PREFIXES = (
    "dashboard",
    "report",
    "integration",
    "alert",
    "comment",
    "mention",
    "workspace",
    "teammate",
)


def _generate(path: Path, **overrides: Any) -> tuple[GenerationResult, dict[str, Any]]:
    config = GeneratorConfig(duckdb_path=path, **{**SMALL, **overrides})
    result = generate(config)
    return result, json.loads(result.manifest_path.read_text())


def _table_hashes(path: Path) -> dict[str, str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {
            f"{raw.schema_key}.{raw.name}": con.execute(
                "select md5(string_agg(t::varchar, chr(10) order by t.id, t::varchar)) "
                f'from "{raw.schema_key}"."{raw.name}" t'
            ).fetchone()[0]
            for raw in RAW_TABLES
        }
    finally:
        con.close()


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    path = tmp_path_factory.mktemp("gen") / "small.duckdb"
    _, manifest = _generate(path)
    return path, manifest


@pytest.fixture(scope="module")
def con(small: tuple[Path, dict[str, Any]]) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect(str(small[0]), read_only=True)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def manifest(small: tuple[Path, dict[str, Any]]) -> dict[str, Any]:
    return small[1]


def _account_events(con: duckdb.DuckDBPyConnection, account_id: str) -> str:
    """SQL for an account's tracks + pages: users grouped into it (no moving users in stories)."""
    return f"""
        select e.user_id, e.ts, e.event from (
            select user_id, timestamp as ts, event from segment.tracks
            union all select user_id, timestamp, null from segment.pages
        ) e
        where e.user_id in (select user_id from segment.groups where group_id = '{account_id}')
    """


# ------------------------------------------------------------------------------------ determinism
def test_same_seed_same_rows_and_another_seed_other_rows(tmp_path: Path, small: tuple[Path, Any]) -> None:
    again = tmp_path / "again.duckdb"
    _generate(again)
    assert _table_hashes(again) == _table_hashes(small[0])
    other = tmp_path / "other.duckdb"
    _generate(other, seed=8)
    first, second = _table_hashes(small[0]), _table_hashes(other)
    for name in ("segment.tracks", "segment.pages", "segment.groups", "stripe.invoice"):
        assert first[name] != second[name], name


# ----------------------------------------------------------------------------------------- layout
def test_every_raw_table_has_exactly_the_landed_columns(con: duckdb.DuckDBPyConnection) -> None:
    for raw in LANDED_TABLES:
        found = con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [raw.schema_key, raw.name],
        ).fetchall()
        assert found == [(c.name, DUCK_TYPES[c.sql_type]) for c in raw.columns], raw.name
    # as a real warehouse: every required column of the contract, optional ones absent, more landed
    for contract in RAW_TABLES:
        key = (contract.schema_key, contract.name)
        landed = next(t for t in LANDED_TABLES if (t.schema_key, t.name) == key)
        absent = {c.name for c in contract.columns} - set(landed.column_names)
        assert absent == set(ABSENT_COLUMNS.get((contract.schema_key, contract.name), ())), contract.name
        assert not any(c.required for c in contract.columns if c.name in absent), contract.name
    assert "name" not in next(t for t in LANDED_TABLES if t.name == "pages").column_names


def test_pages_carry_referrer_campaign_and_client_context(con: duckdb.DuckDBPyConnection) -> None:
    """Pages as analytics.js lands them: the page's own properties repeated in context_page_*, the
    previous page of the session as referrer, utm parameters of campaign landings, device context."""
    row = con.execute(
        """
        select
            count(*) filter (where context_page_path is distinct from path
                             or context_page_url is distinct from url
                             or context_page_referrer is distinct from referrer),
            count(*) filter (where referrer like 'https://app.%'),
            count(*) filter (where context_campaign_name is not null),
            count(*) filter (where context_campaign_name is not null
                             and search <> '?utm_source=' || context_campaign_source || '&utm_medium='
                                 || context_campaign_medium || '&utm_campaign=' || context_campaign_name),
            count(*) filter (where context_campaign_name is not null and user_id is not null),
            count(*) filter (where context_ip is null or context_user_agent is null
                             or context_library_name <> 'analytics.js')
        from segment.pages
        """
    ).fetchone()
    mismatched, in_app_referrers, campaign_pages, bad_search, identified_campaign_pages, no_context = row
    assert mismatched == 0 and bad_search == 0 and no_context == 0
    assert in_app_referrers > 0 and campaign_pages > 0 and identified_campaign_pages == 0
    server_side = con.execute(
        "select count(*), count(context_ip) from segment.tracks where context_library_name = 'analytics-node'"
    ).fetchone()
    assert server_side[0] > 0 and server_side[1] == 0  # server-side calls carry no device context


def test_row_counts_in_manifest_match_tables(
    con: duckdb.DuckDBPyConnection, manifest: dict[str, Any]
) -> None:
    for name, count in manifest["row_counts"].items():
        schema, table = name.split(".")
        assert con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0] == count, name
    assert manifest["row_counts"]["segment.tracks"] > 50_000


def test_awkward_account_names_are_carried_as_data(con: duckdb.DuckDBPyConnection) -> None:
    names = {row[0] for row in con.execute("select distinct name from segment.groups").fetchall()}
    assert {"O'Brien & Co", '"; drop table x; --'} <= names
    assert any("\U0001f680" in name for name in names)
    customers = {row[0] for row in con.execute("select name from stripe.customer").fetchall()}
    assert "O'Brien & Co" in customers


def test_events_are_the_catalog_slugs_with_display_names(con: duckdb.DuckDBPyConnection) -> None:
    import csv

    from accountpulse.paths import SEEDS_DIR

    with (SEEDS_DIR / "feature_events.csv").open() as handle:
        slugs = {row["event_name"] for row in csv.DictReader(handle)}
    slugs |= {"signed_up", "logged_in", "profile_completed", "settings_updated"}
    found = dict(con.execute("select distinct event, event_text from segment.tracks").fetchall())
    assert set(found) <= slugs
    assert {"signed_up", "logged_in", "profile_completed", "dashboard_created"} <= set(found)
    assert found["dashboard_created"] == "Dashboard Created"


def test_onboarding_steps_happen_in_order_with_drop_off(con: duckdb.DuckDBPyConnection) -> None:
    import csv

    from accountpulse.paths import SEEDS_DIR

    with (SEEDS_DIR / "onboarding_steps.csv").open() as handle:
        steps = [r["event_name"] for r in sorted(csv.DictReader(handle), key=lambda r: int(r["step_number"]))]
    firsts = con.execute(
        f"""
        with stitched as (
            select coalesce(t.user_id, i.user_id) as user_id, t.event, t.timestamp
            from segment.tracks t
            left join (select anonymous_id, min(user_id) as user_id from segment.identifies group by 1) i
                on t.user_id is null and i.anonymous_id = t.anonymous_id
        )
        select user_id, {", ".join(f"min(timestamp) filter (where event = '{s}')" for s in steps)}
        from stitched group by 1
        having min(timestamp) filter (where event = '{steps[0]}') is not null
        """
    ).fetchall()
    assert len(firsts) > 20
    reached = [sum(row[k + 1] is not None for row in firsts) for k in range(len(steps))]
    assert reached == sorted(reached, reverse=True) and reached[-1] < reached[0]  # people drop off
    for user, *times in firsts:
        done = [t for t in times if t is not None]
        assert times[: len(done)] == done and done == sorted(done), user  # no gaps, in order


# --------------------------------------------------------------------------------------- messes
def test_mess_counts_equal_what_is_in_the_tables(
    con: duckdb.DuckDBPyConnection, manifest: dict[str, Any]
) -> None:
    messes = manifest["messes"]
    for table in ("tracks", "pages", "identifies", "groups", "screens"):
        rows, distinct = con.execute(f"select count(*), count(distinct id) from segment.{table}").fetchone()
        assert rows - distinct == messes[table]["duplicate_rows"] > 0, table
    for table in ("tracks", "pages", "screens"):
        late = con.execute(
            f"select count(distinct id) from segment.{table} where received_at >= timestamp + interval 1 day"
        ).fetchone()[0]
        assert late == messes[table]["late_arrivals"] > 0, table
        anonymous = con.execute(
            f"select count(distinct id) from segment.{table} where user_id is null"
        ).fetchone()[0]
        assert anonymous == messes[table]["anonymous"], table
        unresolved = con.execute(
            f"select count(distinct id) from segment.{table} where user_id in (select unnest(?::varchar[]))",
            [messes["unresolved_user_ids"]],
        ).fetchone()[0]
        assert unresolved == messes[table]["unresolved"] > 0, table
    skewed = con.execute(
        "select count(distinct id) from segment.tracks "
        "where abs(epoch_ms(original_timestamp) - epoch_ms(timestamp)) >= 3600000"
    ).fetchone()[0]
    assert skewed == messes["tracks"]["clock_skew"] > 0


def test_corrected_time_recovers_the_truth_for_wrong_device_clocks(con: duckdb.DuckDBPyConnection) -> None:
    worst = con.execute(
        """
        select max(abs(epoch_ms(received_at) - (epoch_ms(sent_at) - epoch_ms(original_timestamp))
                       - epoch_ms(timestamp))),
               max(abs(epoch_ms(original_timestamp) - epoch_ms(timestamp)))
        from segment.tracks
        """
    ).fetchone()
    assert worst[0] <= 1  # timestamp = received_at - (sent_at - original_timestamp)
    assert worst[1] > 30 * 86_400_000  # some device clocks are off by months or years


def test_anonymous_events_are_identified_later(
    con: duckdb.DuckDBPyConnection, manifest: dict[str, Any]
) -> None:
    assert manifest["messes"]["anonymous_users"] > 0
    orphaned = con.execute(
        """
        select count(*) from segment.tracks t
        where t.user_id is null and not exists (
            select 1 from segment.identifies i
            where i.anonymous_id = t.anonymous_id and i.user_id is not null and i.timestamp >= t.timestamp
        )
        """
    ).fetchone()[0]
    assert orphaned == 0


def test_shared_devices_are_identified_as_two_users(
    con: duckdb.DuckDBPyConnection, manifest: dict[str, Any]
) -> None:
    """A leaver's device used by a colleague: its anonymous id is identified as both users; the guest's
    calls carry it only inside the guest's window, each session ends with an anonymous page."""
    shared = manifest["messes"]["shared_devices"]
    assert shared
    for device in shared:
        users = {r[0] for r in con.execute(
            "select distinct user_id from segment.identifies where anonymous_id = ?", [device["anonymous_id"]]
        ).fetchall()}  # fmt: skip
        assert users == {device["owner_user_id"], device["guest_user_id"]}, device
        outside, guest_events, logged_out = con.execute(
            """
            select
                count(*) filter (where user_id = ? and (timestamp < ?::date or timestamp >= ?::date + 1)),
                count(*) filter (where user_id = ?),
                count(*) filter (where user_id is null and timestamp >= ?::date)
            from (
                select user_id, timestamp from segment.tracks where anonymous_id = ?
                union all select user_id, timestamp from segment.pages where anonymous_id = ?
            )
            """,
            [
                device["guest_user_id"], device["guest_from"], device["guest_until"],
                device["guest_user_id"], device["guest_from"],
                device["anonymous_id"], device["anonymous_id"],
            ],
        ).fetchone()  # fmt: skip
        # a session starting just before midnight may end (and be received) a little after it
        assert outside == 0 and guest_events > 0 and logged_out > 0, device


def test_a_mobile_source_lands_screens(con: duckdb.DuckDBPyConnection, manifest: dict[str, Any]) -> None:
    """Users with the mobile app: on their phone days, screens instead of pages, tracks from the
    mobile library, one phone (anonymous id) per user, never a browser's (but for the events the
    unresolved-users mess re-keys)."""
    rows, users, devices, other_library, unnamed, on_a_browser = con.execute(
        """
        select count(*), count(distinct user_id), count(distinct anonymous_id),
               count(*) filter (where context_library_name not in ('analytics-ios', 'analytics-android')),
               count(*) filter (where name is null or context_os_name is null),
               count(*) filter (where anonymous_id in (
                   select anonymous_id from segment.tracks where context_library_name = 'analytics.js'))
        from segment.screens
        where user_id not in (select unnest(?::varchar[]))
        """,
        [manifest["messes"]["unresolved_user_ids"]],
    ).fetchone()
    assert rows > 0 and users > 10 and devices == users
    assert other_library == 0 and unnamed == 0 and on_a_browser == 0
    libraries = {
        r[0] for r in con.execute("select distinct context_library_name from segment.tracks").fetchall()
    }
    assert {"analytics-ios", "analytics-android"} <= libraries


def test_group_call_rate_repeats_group_calls_at_session_starts(
    tmp_path: Path, small: tuple[Path, Any]
) -> None:
    """--group-call-rate 1: a group call at the start of every session (analytics.js apps that call
    group() on every page load): many more group calls, the same tracks and pages."""
    path = tmp_path / "every_session.duckdb"
    _generate(path, group_call_rate=1.0)
    counts = {}
    for name, db in (("default", small[0]), ("every session", path)):
        with duckdb.connect(str(db), read_only=True) as connection:
            counts[name] = [
                connection.execute(f"select count(*) from segment.{table}").fetchone()[0]
                for table in ("groups", "tracks", "pages")
            ]
    assert counts["every session"][1:] == counts["default"][1:]
    assert counts["every session"][0] > 5 * counts["default"][0]


def test_users_in_two_groups_and_moving_users(
    con: duckdb.DuckDBPyConnection, manifest: dict[str, Any]
) -> None:
    for user in manifest["messes"]["multi_group_users"]:
        groups = {r[0] for r in con.execute(
            "select distinct context_group_id from segment.tracks "
            "where user_id = ? and context_group_id is not null",
            [user["user_id"]],
        ).fetchall()}  # fmt: skip
        assert groups == set(user["account_ids"])
    for user in manifest["messes"]["moved_users"]:
        calls = [r[0] for r in con.execute(
            "select group_id from segment.groups where user_id = ? order by timestamp", [user["user_id"]]
        ).fetchall()]  # fmt: skip
        assert calls[0] == user["from_account_id"] and calls[-1] == user["to_account_id"]
    assert manifest["messes"]["multi_group_users"] and manifest["messes"]["moved_users"]


# -------------------------------------------------------------------------------------- stories
def test_story_accounts_exist(con: duckdb.DuckDBPyConnection, manifest: dict[str, Any]) -> None:
    groups = {r[0] for r in con.execute("select distinct group_id from segment.groups").fetchall()}
    for name, story in manifest["stories"].items():
        assert story["account_ids"], name
        assert set(story["account_ids"]) <= groups, name
    assert len(manifest["stories"]["steady_healthy"]["account_ids"]) >= 3
    assert len(manifest["stories"]["beta_feature_launch"]["account_ids"]) == 3


def test_beta_feature_only_in_the_three_beta_accounts(
    con: duckdb.DuckDBPyConnection, manifest: dict[str, Any]
) -> None:
    beta = manifest["stories"]["beta_feature_launch"]
    released = date.fromisoformat(beta["released_at"])
    rows = con.execute(
        """
        select g.group_id, count(distinct t.user_id), min(t.timestamp)
        from segment.tracks t
        join (select distinct user_id, group_id from segment.groups) g using (user_id)
        where t.event like 'ai\\_%' escape '\\'
        group by 1
        """
    ).fetchall()
    assert {r[0] for r in rows} == set(beta["account_ids"])
    for _, users, first in rows:
        assert users >= 20 and first.date() >= released
    orphan_ai = con.execute(
        "select count(*) from segment.tracks where event like 'ai\\_%' escape '\\' "
        "and user_id not in (select user_id from segment.groups)"
    ).fetchone()[0]
    assert orphan_ai == 0


def test_declining_account_has_fewer_weekly_active_users_in_planted_weeks(
    con: duckdb.DuckDBPyConnection, manifest: dict[str, Any]
) -> None:
    story = manifest["stories"]["big_account_declining"]
    planted = [date.fromisoformat(w) for w in story["planted_week_starts"]]
    assert len(planted) == 6 and all(w.weekday() == 0 for w in planted)
    assert planted[-1] + timedelta(days=6) <= date.fromisoformat(manifest["window"]["end_date"])
    start = date.fromisoformat(manifest["window"]["start_date"])
    weekly = dict(
        con.execute(
            f"select cast(date_trunc('week', ts) as date), count(distinct user_id) "
            f"from ({_account_events(con, story['account_ids'][0])}) group by 1"
        ).fetchall()
    )
    earlier = [n for week, n in weekly.items() if start <= week < planted[0]]
    assert len(earlier) >= 8
    assert max(weekly[w] for w in planted) < min(earlier)
    assert weekly[planted[-1]] <= 0.5 * (sum(earlier) / len(earlier))


def test_dormant_account_has_no_events_in_the_last_35_days(
    con: duckdb.DuckDBPyConnection, manifest: dict[str, Any]
) -> None:
    end = date.fromisoformat(manifest["window"]["end_date"])
    account = manifest["stories"]["dormant"]["account_ids"][0]
    last = con.execute(f"select max(ts) from ({_account_events(con, account)})").fetchone()[0]
    assert last is not None and last.date() <= end - timedelta(days=35)
    paying = [r for r in manifest["expected_mrr"] if r["account_id"] == account]
    assert paying[-1]["mrr"] > 0


def test_champion_dominates_then_goes_silent(
    con: duckdb.DuckDBPyConnection, manifest: dict[str, Any]
) -> None:
    story = manifest["stories"]["champion_gone_silent"]
    since = date.fromisoformat(story["silent_since"])
    champion = story["champion_user_ids"][0]
    events = _account_events(con, story["account_ids"][0])
    before = con.execute(
        f"select avg(case when user_id = ? then 1.0 else 0 end), count(*) from ({events}) "
        f"where ts >= ? and ts < ?",
        [champion, since - timedelta(days=30), since],
    ).fetchone()
    assert before[0] > 0.5 and before[1] > 100
    after = con.execute(
        f"select count(*) filter (where user_id = ?), count(*) from ({events}) where ts >= ?",
        [champion, since],
    ).fetchone()
    assert after[0] == 0 and after[1] > 0  # the others carry on


def test_power_user_makes_most_core_feature_events(
    con: duckdb.DuckDBPyConnection, manifest: dict[str, Any]
) -> None:
    story = manifest["stories"]["power_user_masking"]
    champion = story["champion_user_ids"][0]
    pattern = "|".join(CORE_EVENT_PREFIXES)
    share, users = con.execute(
        f"select avg(case when user_id = ? then 1.0 else 0 end), count(distinct user_id) "
        f"from ({_account_events(con, story['account_ids'][0])}) "
        f"where regexp_matches(event, '^({pattern})_')",
        [champion],
    ).fetchone()
    assert share > 0.5 and users > 10


def test_cheap_account_uses_everything(con: duckdb.DuckDBPyConnection, manifest: dict[str, Any]) -> None:
    account = manifest["stories"]["cheap_account_using_everything"]["account_ids"][0]
    end = date.fromisoformat(manifest["window"]["end_date"])
    deep = con.execute(
        f"select count(distinct event) from ({_account_events(con, account)}) where ts >= ? "
        f"and event in ('dashboard_shared', 'report_exported', 'integration_configured', 'alert_shared')",
        [end - timedelta(days=30)],
    ).fetchone()[0]
    assert deep == 4
    seats = manifest["stories"]["cheap_account_using_everything"]["seats"][0]
    active = con.execute(
        f"select count(distinct user_id) from ({_account_events(con, account)}) where ts >= ?",
        [end - timedelta(days=30)],
    ).fetchone()[0]
    assert active >= seats


def test_renewal_risk_renews_within_60_days_on_a_yearly_plan(
    con: duckdb.DuckDBPyConnection, manifest: dict[str, Any]
) -> None:
    account = manifest["stories"]["renewal_risk"]["account_ids"][0]
    end = date.fromisoformat(manifest["window"]["end_date"])
    row = con.execute(
        """
        select h.current_period_end, p.recurring_interval
        from stripe.subscription_history h
        join stripe.customer c on c.id = h.customer_id
        join stripe.subscription_item i on i.subscription_id = h.id
        join stripe.price p on p.id = i.plan_id
        where h._fivetran_active and h.status = 'active' and c.metadata like ?
        """,
        [f'%"{account}"%'],
    ).fetchone()
    assert row[1] == "year"
    assert end < row[0].date() <= end + timedelta(days=60)


# ---------------------------------------------------------------------------------------- stripe
def test_stripe_tables_are_consistent(con: duckdb.DuckDBPyConnection) -> None:
    def zero(sql: str) -> None:
        assert con.execute(sql).fetchone()[0] == 0, sql

    zero(
        "select count(*) from stripe.invoice_line_item l "
        "where l.invoice_id not in (select id from stripe.invoice)"
    )
    zero(
        "select count(*) from stripe.invoice i left join (select invoice_id, sum(amount) s, "
        "sum(discount_amount) d from stripe.invoice_line_item group by 1) l on l.invoice_id = i.id "
        "where i.subtotal <> coalesce(l.s, 0) "
        "or (i.total - (i.subtotal - coalesce(l.d, 0))) * sign(i.subtotal) < 0"
    )
    zero(
        "select count(*) from (select id, count(*) filter (where _fivetran_active) n "
        "from stripe.subscription_history group by id) where n <> 1"
    )
    zero(
        "select count(*) from (select _fivetran_end, lead(_fivetran_start) over (partition by id "
        "order by _fivetran_start) next_start from stripe.subscription_history) "
        "where next_start is not null and _fivetran_end <> next_start - interval 1 millisecond"
    )
    zero(
        "select count(*) from stripe.subscription_history "
        "where _fivetran_active and _fivetran_end <> '9999-12-31 23:59:59'"
    )
    zero(
        "select count(*) from stripe.subscription_item "
        "where subscription_id not in (select id from stripe.subscription_history)"
    )
    zero(
        "select count(*) from stripe.invoice_line_item "
        "where plan_id not in (select id from stripe.price union all select id from stripe.plan)"
    )
    zero("select count(*) from stripe.price where product_id not in (select id from stripe.product)")
    zero(
        "select count(*) from stripe.invoice_line_item where not proration and type = 'subscription' "
        "and amount <> quantity * (select unit_amount from stripe.price p where p.id = plan_id "
        "union all select amount from stripe.plan p where p.id = plan_id) "
        "and amount <> 0"
    )
    # prorations come in pairs on one item (or alone for an added/removed item), over t -> period end
    zero("select count(*) from stripe.invoice_line_item where proration and period_start >= period_end")
    zero(
        "select count(*) from stripe.subscription_history where status = 'canceled' and _fivetran_active "
        "and (ended_at is null or canceled_at is null)"
    )
    statuses = {
        r[0] for r in con.execute("select distinct status from stripe.subscription_history").fetchall()
    }
    assert {"active", "canceled", "trialing"} <= statuses
    kinds = {r[0] for r in con.execute("select distinct type from stripe.price").fetchall()}
    assert kinds == {"recurring", "one_time"}
    assert con.execute("select count(*) from stripe.invoice_line_item where proration").fetchone()[0] > 0


def test_discounts_have_a_subscription_row_and_one_per_invoice(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.execute(
        "select id, count(*) filter (where type = 'subscription'), count(*) filter (where type = 'invoice') "
        "from stripe.discount group by id"
    ).fetchall()
    assert rows and all(subs == 1 and invoices >= 1 for _, subs, invoices in rows)
    touched = con.execute(
        "select count(distinct invoice_id) from stripe.invoice_line_item where discount_amount > 0"
    ).fetchone()[0]
    assert touched == con.execute("select count(*) from stripe.discount where type = 'invoice'").fetchone()[0]


def test_credit_notes_and_invoice_amounts(con: duckdb.DuckDBPyConnection) -> None:
    """Credit notes point at existing invoices, in their currency, after them, never above their total;
    amount_paid is the amount due of paid invoices, 0 otherwise; amount_due is lowered by live
    pre-payment credit notes only."""
    notes = con.execute(
        "select n.type, n.status, n.refund_id is not null, n.total, i.total, i.status, "
        "n.currency = i.currency, n.created > i.created, n.voided_at is null or n.voided_at > n.created "
        "from stripe.credit_note as n inner join stripe.invoice as i on n.invoice_id = i.id"
    ).fetchall()
    assert notes, "the generator should write some credit notes"
    assert len(notes) == con.execute("select count(*) from stripe.credit_note").fetchone()[0]
    for (
        credit_type,
        status,
        refunded,
        total,
        invoice_total,
        invoice_status,
        same,
        after,
        voided_later,
    ) in notes:
        assert same and after and voided_later and 0 < total <= invoice_total
        assert credit_type == ("post_payment" if invoice_status == "paid" else "pre_payment")
        assert status in ("issued", "void") and not (refunded and credit_type == "pre_payment")
    bad = con.execute(
        "select count(*) from stripe.invoice as i "
        "where amount_paid <> case when status = 'paid' then amount_due else 0 end "
        "or amount_due <> total - coalesce((select sum(n.total) from stripe.credit_note as n "
        "where n.invoice_id = i.id and n.type = 'pre_payment' and n.status = 'issued'), 0)"
    ).fetchone()[0]
    assert bad == 0


def test_billing_only_and_unlinked_customers(
    con: duckdb.DuckDBPyConnection, manifest: dict[str, Any]
) -> None:
    billing_only = manifest["messes"]["billing_only_account_ids"]
    groups = {r[0] for r in con.execute("select distinct group_id from segment.groups").fetchall()}
    assert billing_only and not set(billing_only) & groups
    metadata = {r[0]: r[1] for r in con.execute("select id, metadata from stripe.customer").fetchall()}
    for customer in manifest["messes"]["stripe_customers_without_account_id"]:
        assert "account_id" not in json.loads(metadata[customer] or "{}")
    mrr_accounts = {r["account_id"] for r in manifest["expected_mrr"]}
    assert set(billing_only) <= mrr_accounts


def test_expected_mrr_of_fixed_story_plans(manifest: dict[str, Any]) -> None:
    """Story plans are fixed: seats x price normalised to a month, converted at the seed rate."""
    end_month = date.fromisoformat(manifest["window"]["end_date"]).replace(day=1).isoformat()
    last = {r["account_id"]: r["mrr"] for r in manifest["expected_mrr"] if r["month_start"] == end_month}
    stories = manifest["stories"]
    steady = stories["steady_healthy"]["account_ids"]
    assert stories["steady_healthy"]["seats"] == [24, 30, 40]
    assert last[steady[0]] == 24 * 30.0  # Team monthly, 24 seats
    assert last[steady[1]] == 30 * 81.0 / 3  # Team quarterly ($81 per 3 months), 30 seats
    assert last[steady[2]] == round(40 * 75_000 / 12 * 0.0065, 2)  # Business yearly in JPY, 40 seats
    assert last[stories["big_account_declining"]["account_ids"][0]] == 240 * 900 / 12
    assert last[stories["cheap_account_using_everything"]["account_ids"][0]] == 4 * 20.0
    months: dict[str, list[str]] = {}
    for row in manifest["expected_mrr"]:
        months.setdefault(row["account_id"], []).append(row["month_start"])
        assert row["mrr"] >= 0
    for account, starts in months.items():
        assert starts[-1] == end_month, account
        assert len(starts) == len(set(starts)), account


# ---------------------------------------------------------------------------------------- append
def test_append_days_is_deterministic_and_carries_on(tmp_path: Path, small: tuple[Path, Any]) -> None:
    copies = []
    for name in ("a", "b"):
        path = tmp_path / f"{name}.duckdb"
        shutil.copy(small[0], path)
        shutil.copy(small[0].with_name("small.manifest.json"), path.with_name(f"{name}.manifest.json"))
        copies.append(path)
    before = duckdb.connect(str(copies[0]), read_only=True)
    latest = before.execute("select max(cast(timestamp as date)) from segment.tracks").fetchone()[0]
    loaded_ids = before.execute("select count(distinct id) from segment.tracks").fetchone()[0]
    before.close()
    results = [append_days(GeneratorConfig(duckdb_path=p, progress=False), days=2) for p in copies]
    assert results[0].appended_days == [(latest + timedelta(days=k)).isoformat() for k in (1, 2)]
    assert _table_hashes(copies[0]) == _table_hashes(copies[1])

    con = duckdb.connect(str(copies[0]), read_only=True)
    try:
        new_latest = con.execute("select max(cast(timestamp as date)) from segment.tracks").fetchone()[0]
        assert new_latest == latest + timedelta(days=2)
        late_for_old_days = con.execute(
            "select count(*) from segment.tracks where cast(timestamp as date) <= ? and received_at >= ?",
            [latest, datetime.combine(latest + timedelta(days=1), datetime.min.time())],
        ).fetchone()[0]
        assert late_for_old_days > 0
        manifest = json.loads(copies[0].with_name("a.manifest.json").read_text())
        redelivered = manifest["appends"][0]["redelivered_ids"]["tracks"]
        assert redelivered > 0
        rows, distinct = con.execute("select count(*), count(distinct id) from segment.tracks").fetchone()
        assert rows - distinct == manifest["messes"]["tracks"]["duplicate_rows"]
        assert distinct > loaded_ids
        assert rows == manifest["row_counts"]["segment.tracks"]
        dormant = manifest["stories"]["dormant"]["account_ids"][0]
        assert (
            con.execute(
                f"select count(*) from ({_account_events(con, dormant)}) where ts > ?", [latest]
            ).fetchone()[0]
            == 0
        )
    finally:
        con.close()


def test_append_without_a_manifest_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="run `accountpulse generate` first"):
        append_days(GeneratorConfig(duckdb_path=tmp_path / "none.duckdb", progress=False), days=1)


# ------------------------------------------------------------------------------------------- CLI
def test_cli_flags_build_the_config(tmp_path: Path) -> None:
    args = build_parser().parse_args(
        [
            "generate", "--accounts", "30", "--days", "200", "--seed", "3", "--scale", "2.5",
            "--end-date", "2026-06-30", "--duplicate-rate", "0.02", "--late-rate", "0",
            "--clock-skew-rate", "0.01", "--anonymous-rate", "0.5", "--unresolved-rate", "0.001",
            "--segment-schema", "seg", "--stripe-schema", "bill", "--append-days", "3",
            "--duckdb-path", str(tmp_path / "x.duckdb"), "--group-call-rate", "1",
        ]
    )  # fmt: skip
    config = GeneratorConfig.from_args(args)
    assert (config.accounts, config.days, config.seed, config.scale) == (30, 200, 3, 2.5)
    assert config.end_date == date(2026, 6, 30) and config.append_days == 3
    assert (config.duplicate_rate, config.late_rate, config.clock_skew_rate) == (0.02, 0.0, 0.01)
    assert (config.anonymous_rate, config.unresolved_rate) == (0.5, 0.001)
    assert (config.segment_schema, config.stripe_schema) == ("seg", "bill")
    assert config.group_call_rate == 1.0 and config.generation_key()["group_call_rate"] == 1.0
    assert config.resolved_manifest_path() == (tmp_path / "x.manifest.json").resolve()
    defaults = GeneratorConfig(target="duckdb")
    assert (defaults.accounts, defaults.days, defaults.seed, defaults.scale) == (120, 480, 42, 1.0)
    # without --end-date the data ends yesterday (UTC): a new demo is fresh
    assert defaults.end_date == default_end_date() == (datetime.now(UTC) - timedelta(days=1)).date()


def test_bad_options_and_unreachable_postgres_are_one_line_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(UserError):
        GeneratorConfig(duplicate_rate=2.0)
    with pytest.raises(UserError):
        GeneratorConfig(accounts=3)
    with pytest.raises(UserError, match="--group-call-rate"):
        GeneratorConfig(group_call_rate=1.5)
    monkeypatch.setenv("PGHOST", "127.0.0.1")
    monkeypatch.setenv("PGPORT", "1")
    code = main(["generate", "--target", "postgres", "--manifest", str(tmp_path / "m.json")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("accountpulse: error: cannot connect to PostgreSQL")
    assert len(err.strip().splitlines()) == 1


def test_a_closed_pipe_ends_the_cli_quietly(tmp_path: Path) -> None:
    """`accountpulse generate | true`: the reader is gone before the summary is written; no traceback,
    the SIGPIPE exit code."""
    cli = Path(sys.executable).with_name("accountpulse")
    command = f"'{cli}' generate --accounts 16 --days 100 --duckdb-path '{tmp_path / 'p.duckdb'}' | true"
    done = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 141, (done.returncode, done.stderr)


def test_custom_schemas(tmp_path: Path) -> None:
    path = tmp_path / "schemas.duckdb"
    config = GeneratorConfig(
        duckdb_path=path,
        segment_schema="seg_raw",
        stripe_schema="billing_raw",
        **{**SMALL, "accounts": 16, "days": 100},
    )
    result = generate(config)
    assert result.row_counts["seg_raw.tracks"] > 0 and result.row_counts["billing_raw.invoice"] > 0
    assert "Manifest:" in result.summary()


# ------------------------------------------------------------------------------------- postgres
@pytest.mark.postgres
def test_postgres_load_matches_duckdb(
    pg_database: str, small: tuple[Path, dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg2

    monkeypatch.setenv("PGDATABASE", pg_database)
    config = GeneratorConfig(target="postgres", manifest=tmp_path / "pg.manifest.json", **SMALL)
    result = generate(config)
    assert result.row_counts == small[1]["row_counts"]
    conn = psycopg2.connect(**pg_params(pg_database))
    try:
        with conn.cursor() as cur:
            for raw in LANDED_TABLES:
                cur.execute(
                    "select column_name from information_schema.columns "
                    "where table_schema = %s and table_name = %s order by ordinal_position",
                    (raw.schema_key, raw.name),
                )
                assert [r[0] for r in cur.fetchall()] == raw.column_names
            cur.execute("select count(*) from segment.groups where name = %s", ('"; drop table x; --',))
            assert cur.fetchone()[0] > 0
            cur.execute("select count(*) - count(distinct id) from segment.tracks")
            assert cur.fetchone()[0] == small[1]["messes"]["tracks"]["duplicate_rows"]
        appended = append_days(config, days=1)
        assert appended.row_counts["segment.tracks"] > result.row_counts["segment.tracks"]
    finally:
        conn.close()
    assert os.environ["PGDATABASE"] == pg_database


def test_stripe_layout_rows_beside_the_live_ones(
    con: duckdb.DuckDBPyConnection, manifest: dict[str, Any]
) -> None:
    """Test-mode rows shadow a paying account, a metered price bills usage, an account bills through a
    legacy plan, a deleted customer had revenue on a deleted price; none of them is MRR the ground
    truth counts, except the deleted customer's past."""
    one = lambda sql: con.execute(sql).fetchone()[0]  # noqa: E731
    # test mode: a customer, its subscription versions, invoices and lines, naming a live account
    test_account = one(
        "select json_extract_string(metadata, '$.account_id') from stripe.customer where not livemode"
    )
    assert (
        one(f"select count(*) from stripe.customer where livemode and metadata like '%{test_account}%'") >= 1
    )
    assert one("select count(*) from stripe.subscription_history where not livemode") >= 1
    assert one("select count(*) from stripe.invoice_line_item where not livemode") >= 1
    assert one("select count(*) from stripe.invoice where not livemode") >= 1
    # a metered price with usage billed on invoice lines; its item has no quantity
    assert (
        one(
            "select count(*) from stripe.invoice_line_item l join stripe.price p on p.id = l.plan_id "
            "where p.recurring_usage_type = 'metered' and l.amount > 0"
        )
        >= 1
    )
    assert (
        one(
            "select count(*) from stripe.subscription_item i join stripe.price p on p.id = i.plan_id "
            "where p.recurring_usage_type = 'metered' and i.quantity is null"
        )
        == 1
    )
    # a legacy plan billed (its id is no price), a deleted customer with revenue on a deleted price
    assert (
        one("select count(*) from stripe.invoice_line_item where plan_id in (select id from stripe.plan)")
        >= 1
    )
    assert (
        one(
            "select count(*) from stripe.invoice_line_item l join stripe.invoice i on i.id = l.invoice_id "
            "join stripe.customer c on c.id = i.customer_id join stripe.price p on p.id = l.plan_id "
            "where c.is_deleted and p.is_deleted and l.amount > 0"
        )
        >= 1
    )
    # a removed item is landed deleted; every row has _fivetran_synced
    assert one("select count(*) from stripe.subscription_item where _fivetran_deleted") >= 1
    for name in (
        "customer",
        "subscription_history",
        "subscription_item",
        "price",
        "plan",
        "product",
        "coupon",
        "discount",
        "subscription_discount",
        "invoice",
        "invoice_line_item",
    ):
        assert one(f"select count(*) from stripe.{name} where _fivetran_synced is null") == 0, name
    assert one("select count(*) from stripe.invoice_line_item where unit_amount_excluding_tax is null") == 0
    # the ground truth leaves test mode out: the shadowed account's MRR is its live subscriptions' only
    deleted = one("select id from stripe.customer where is_deleted and name not like 'Test customer%'")
    assert any(row["account_id"] == deleted and row["mrr"] > 0 for row in manifest["expected_mrr"])
