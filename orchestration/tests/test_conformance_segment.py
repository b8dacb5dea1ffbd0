"""Conformance: event tables exactly as the published loaders land them, built with a plain `dbt build`
(no user-written views) on DuckDB and on PostgreSQL, with the activity each must give computed by hand.

Layouts (each a schema of its own, written out column by column below, not derived from the contract):
- `segment_web`: Segment's web source (analytics.js) whose calls carry context_group_id; no screens table.
- `segment_web_without_context_group`: the same calls from a source that never sets it (the column is
  absent, as Segment creates a column only once a call carries it): accounts come from group calls only.
- `rudderstack`: RudderStack's warehouse layout (text and timestamptz columns, RudderStack's own context
  columns such as channel and context_request_ip, traits twice: as columns and as context_traits_*,
  its `users` table); no context_group_id, no screens table.
- `segment_mobile`: a mobile-only source (analytics-ios): tracks, screens, identifies, groups and no
  pages table; a phone's clock is off by days (Segment's corrected time recovers the event time).

The same calls in every web layout: u1 and u2 join acc1 on 03-01, u2 then moves to acc2 (a later call);
u1 moves to acc2 on 03-03 12:00; u3 browses anonymously on 03-03 before identifying and joining acc2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import pg_params, run_dbt

AS_OF = "2026-03-04"
BUILD = [
    "build",
    "--select",
    "+fct_account_activity_daily",
    "--indirect-selection",
    "cautious",
    "--exclude-resource-type",
    "unit_test",
    "--vars",
    json.dumps({"as_of_date": AS_OF}),
]
DAILY_SQL = """
select account_id, cast(activity_date as varchar), active_users, events,
       track_events, page_events, screen_events
from marts.fct_account_activity_daily
order by 1, 2
"""
EVENTS_SQL = """
select event_id, event_source, user_id, account_id, attribution_method
from intermediate.int_events_attributed_to_accounts
order by 1
"""

Table = tuple[list[tuple[str, str]], list[tuple[Any, ...]]]  # (column name, type) list, rows

# --------------------------------------------------------------------------------------- Segment web
SEGMENT_TRACK_COLUMNS = [
    ("id", "varchar"),
    ("anonymous_id", "varchar"),
    ("user_id", "varchar"),
    ("event", "varchar"),
    ("event_text", "varchar"),
    ("context_library_name", "varchar"),
    ("context_library_version", "varchar"),
    ("context_ip", "varchar"),
    ("context_user_agent", "varchar"),
    ("context_page_path", "varchar"),
    ("context_page_referrer", "varchar"),
    ("original_timestamp", "timestamp"),
    ("sent_at", "timestamp"),
    ("timestamp", "timestamp"),
    ("received_at", "timestamp"),
    ("uuid_ts", "timestamp"),
]
SEGMENT_PAGE_COLUMNS = [
    ("id", "varchar"),
    ("anonymous_id", "varchar"),
    ("user_id", "varchar"),
    ("path", "varchar"),
    ("referrer", "varchar"),
    ("search", "varchar"),
    ("title", "varchar"),
    ("url", "varchar"),
    ("context_campaign_name", "varchar"),
    ("context_campaign_source", "varchar"),
    ("context_library_name", "varchar"),
    ("context_page_path", "varchar"),
    ("context_page_referrer", "varchar"),
    ("context_user_agent", "varchar"),
    ("original_timestamp", "timestamp"),
    ("sent_at", "timestamp"),
    ("timestamp", "timestamp"),
    ("received_at", "timestamp"),
    ("uuid_ts", "timestamp"),
]
SEGMENT_IDENTIFY_COLUMNS = [
    ("id", "varchar"),
    ("anonymous_id", "varchar"),
    ("user_id", "varchar"),
    ("email", "varchar"),
    ("context_library_name", "varchar"),
    ("original_timestamp", "timestamp"),
    ("sent_at", "timestamp"),
    ("timestamp", "timestamp"),
    ("received_at", "timestamp"),
    ("uuid_ts", "timestamp"),
]
SEGMENT_GROUP_COLUMNS = [
    ("id", "varchar"),
    ("anonymous_id", "varchar"),
    ("user_id", "varchar"),
    ("group_id", "varchar"),
    ("name", "varchar"),
    ("plan", "varchar"),
    ("context_library_name", "varchar"),
    ("original_timestamp", "timestamp"),
    ("sent_at", "timestamp"),
    ("timestamp", "timestamp"),
    ("received_at", "timestamp"),
    ("uuid_ts", "timestamp"),
]
JS, UA = "analytics.js", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)"


def _at(day: int, clock: str) -> str:
    return f"2026-03-{day:02d} {clock}"


def _clocks(day: int, clock: str, received: str | None = None) -> tuple[str, str, str, str, str]:
    """original_timestamp, sent_at, timestamp, received_at, uuid_ts of a call made at `clock` (no skew)."""
    at = _at(day, clock)
    received = received or at
    return at, at, at, received, received


def segment_web(context_group: bool) -> dict[str, Table]:
    ctx = [("context_group_id", "varchar")] if context_group else []

    def track(mid, anon, user, event, day, clock, group=None, received=None):
        row = (
            mid,
            anon,
            user,
            event,
            event.replace("_", " ").title(),
            JS,
            "next-1.70.0",
            "192.0.2.1",
            UA,
            "/",
            None,
        )
        return row + ((group,) if context_group else ()) + _clocks(day, clock, received)

    def page(mid, anon, user, path, day, clock, group=None, campaign=(None, None)):
        url = "https://app.example.com" + path
        row = (mid, anon, user, path, None, None, path.strip("/").title(), url, *campaign, JS, path, None, UA)
        return row + ((group,) if context_group else ()) + _clocks(day, clock)

    tracks = [
        track("t1", "a1", "u1", "report_viewed", 2, "10:00:00", "acc1"),
        track("t1", "a1", "u1", "report_viewed", 2, "10:00:00", "acc1", received=_at(2, "14:00:00")),  # again
        track("t2", "a2", "u2", "dashboard_viewed", 2, "11:00:00", "acc1"),  # u2 acting in acc1
        track("t3", "a2", "u2", "dashboard_viewed", 3, "10:00:00"),
        track("t5", "a1", "u1", "report_viewed", 3, "13:00:00"),
    ]
    pages = [
        page("p1", "a1", "u1", "/reports", 2, "10:05:00", "acc1"),
        page("p2", "a3", None, "/pricing", 3, "09:00:00", campaign=("spring", "google")),  # anonymous
    ]
    identifies = [
        ("i1", "a1", "u1", "u1@example.com", JS, *_clocks(1, "08:59:00")),
        ("i2", "a2", "u2", "u2@example.com", JS, *_clocks(1, "08:59:00")),
        ("i3", "a3", "u3", "u3@example.com", JS, *_clocks(3, "09:10:00")),
    ]
    groups = [
        ("g1", "a1", "u1", "acc1", "Acme", "team", JS, *_clocks(1, "09:00:00")),
        ("g2", "a2", "u2", "acc1", "Acme", "team", JS, *_clocks(1, "09:00:00")),
        ("g3", "a2", "u2", "acc2", "Globex", "pro", JS, *_clocks(1, "09:05:00")),  # u2 moves to acc2
        ("g4", "a3", "u3", "acc2", "Globex", "pro", JS, *_clocks(3, "09:11:00")),
        ("g5", "a1", "u1", "acc2", "Globex", "pro", JS, *_clocks(3, "12:00:00")),  # u1 moves to acc2
    ]
    return {
        "tracks": (SEGMENT_TRACK_COLUMNS[:11] + ctx + SEGMENT_TRACK_COLUMNS[11:], tracks),
        "pages": (SEGMENT_PAGE_COLUMNS[:14] + ctx + SEGMENT_PAGE_COLUMNS[14:], pages),
        "identifies": (SEGMENT_IDENTIFY_COLUMNS, identifies),
        "groups": (SEGMENT_GROUP_COLUMNS, groups),
    }


# Hand-computed daily activity per layout: (account, day, active users, events, tracks, pages, screens).
# With context_group_id: t1, p1 (u1) and t2 (u2, acting in acc1 although its membership is acc2) count
# for acc1 on 03-02; on 03-03 t3 (u2, membership acc2), p2 (anonymous, stitched to u3, whose first group
# call is acc2) and t5 (u1, moved to acc2 at 12:00) count for acc2. The duplicate delivery of t1 once.
SEGMENT_WEB_DAILY = [
    ("acc1", "2026-03-02", 2, 3, 2, 1, 0),
    ("acc1", "2026-03-03", 0, 0, 0, 0, 0),
    ("acc1", "2026-03-04", 0, 0, 0, 0, 0),
    ("acc2", "2026-03-03", 3, 3, 2, 1, 0),
    ("acc2", "2026-03-04", 0, 0, 0, 0, 0),
]
# Without context_group_id: t2 follows u2's membership (acc2 since 03-01 09:05), so acc2 starts on 03-02.
MEMBERSHIP_ONLY_DAILY = [
    ("acc1", "2026-03-02", 1, 2, 1, 1, 0),
    ("acc1", "2026-03-03", 0, 0, 0, 0, 0),
    ("acc1", "2026-03-04", 0, 0, 0, 0, 0),
    ("acc2", "2026-03-02", 1, 1, 1, 0, 0),
    ("acc2", "2026-03-03", 3, 3, 2, 1, 0),
    ("acc2", "2026-03-04", 0, 0, 0, 0, 0),
]
WEB_EVENTS = {  # event -> (source, user, account, method) with / without context_group_id
    "t1": ("track", "u1", "acc1"),
    "t3": ("track", "u2", "acc2"),
    "t5": ("track", "u1", "acc2"),
    "p1": ("page", "u1", "acc1"),
    "p2": ("page", "u3", "acc2"),
}


# --------------------------------------------------------------------------------------- RudderStack
def rudderstack() -> dict[str, Table]:
    """RudderStack's layout: its PostgreSQL loader types (text, timestamptz), its own standard columns."""
    standard = [
        ("id", "text"),
        ("anonymous_id", "text"),
        ("user_id", "text"),
        ("channel", "text"),
        ("context_ip", "text"),
        ("context_request_ip", "text"),
        ("context_library_name", "text"),
        ("context_library_version", "text"),
        ("context_source_id", "text"),
        ("context_source_type", "text"),
        ("context_destination_id", "text"),
        ("context_destination_type", "text"),
        ("context_traits_email", "text"),
        ("context_session_id", "bigint"),
        ("original_timestamp", "timestamptz"),
        ("sent_at", "timestamptz"),
        ("timestamp", "timestamptz"),
        ("received_at", "timestamptz"),
        ("uuid_ts", "timestamptz"),
    ]
    sdk = "RudderLabs JavaScript SDK"

    def common(mid, anon, user, day, clock, received=None):
        email = f"{user}@example.com" if user else None
        clocks = tuple(f"{value}+00" for value in _clocks(day, clock, received))
        return (mid, anon, user, "web", "192.0.2.1", "192.0.2.1", sdk, "3.7.0", "src1", "Javascript", "dst1",
                "POSTGRES", email, 1_772_400_000_000) + clocks  # fmt: skip

    def track(mid, anon, user, event, day, clock, received=None):
        return common(mid, anon, user, day, clock, received) + (event, event.replace("_", " "))

    def page(mid, anon, user, path, day, clock):
        url = "https://app.example.com" + path
        return common(mid, anon, user, day, clock) + (None, path, url, path.strip("/").title(), None, url)

    tracks = [
        track("t1", "a1", "u1", "report_viewed", 2, "10:00:00"),
        track("t1", "a1", "u1", "report_viewed", 2, "10:00:00", received=_at(2, "14:00:00")),
        track("t2", "a2", "u2", "dashboard_viewed", 2, "11:00:00"),
        track("t3", "a2", "u2", "dashboard_viewed", 3, "10:00:00"),
        track("t5", "a1", "u1", "report_viewed", 3, "13:00:00"),
    ]
    pages = [
        page("p1", "a1", "u1", "/reports", 2, "10:05:00"),
        page("p2", "a3", None, "/pricing", 3, "09:00:00"),
    ]
    identifies = [
        common("i1", "a1", "u1", 1, "08:59:00") + ("u1@example.com", "admin"),
        common("i2", "a2", "u2", 1, "08:59:00") + ("u2@example.com", "member"),
        common("i3", "a3", "u3", 3, "09:10:00") + ("u3@example.com", "member"),
    ]
    groups = [
        common("g1", "a1", "u1", 1, "09:00:00") + ("acc1", "Acme", "team"),
        common("g2", "a2", "u2", 1, "09:00:00") + ("acc1", "Acme", "team"),
        common("g3", "a2", "u2", 1, "09:05:00") + ("acc2", "Globex", "pro"),
        common("g4", "a3", "u3", 3, "09:11:00") + ("acc2", "Globex", "pro"),
        common("g5", "a1", "u1", 3, "12:00:00") + ("acc2", "Globex", "pro"),
    ]
    users = [("u1", "u1@example.com", "2026-03-01 08:59:00+00", "2026-03-01 09:00:00+00")]
    return {
        "tracks": (standard + [("event", "text"), ("event_text", "text")], tracks),
        "pages": (
            standard
            + [("name", "text"), ("path", "text"), ("url", "text"), ("title", "text"), ("referrer", "text")]
            + [("context_page_url", "text")],
            pages,
        ),
        "identifies": (standard + [("email", "text"), ("role", "text")], identifies),
        "groups": (standard + [("group_id", "text"), ("name", "text"), ("plan", "text")], groups),
        "users": (
            [("id", "text"), ("email", "text"), ("received_at", "timestamptz"), ("uuid_ts", "timestamptz")],
            users,
        ),
    }


# ------------------------------------------------------------------------------------ Segment mobile
def segment_mobile() -> dict[str, Table]:
    """analytics-ios: screens instead of pages (and no pages table); u4's phone clock is 3 days fast on
    03-03 (original_timestamp and sent_at both off, Segment's timestamp corrected)."""
    mobile = [
        ("context_library_name", "varchar"),
        ("context_app_version", "varchar"),
        ("context_device_model", "varchar"),
        ("context_os_name", "varchar"),
    ]
    times = [
        ("original_timestamp", "timestamp"),
        ("sent_at", "timestamp"),
        ("timestamp", "timestamp"),
        ("received_at", "timestamp"),
        ("uuid_ts", "timestamp"),
    ]
    ios = ("analytics-ios", "3.4.1", "iPhone15,2", "iOS")

    def clocks(day, clock, skew_days=0, received=None):
        if not skew_days:
            return _clocks(day, clock, received)
        wrong = f"2026-03-{day + skew_days:02d} {clock}"
        return wrong, wrong, _at(day, clock), _at(day, clock), _at(day, clock)

    tracks = [("t1", "a1", "u1", "report_viewed", *ios, *clocks(2, "10:01:00"))]
    screens = [
        ("s1", "a1", "u1", "Reports", *ios, *clocks(2, "10:00:00")),
        ("s2", "a4", None, "Welcome", *ios, *clocks(2, "08:00:00")),  # before u4 logged in on the phone
        ("s3", "a4", "u4", "Dashboards", *ios, *clocks(3, "09:00:00", skew_days=3)),
        ("s3", "a4", "u4", "Dashboards", *ios, *clocks(3, "09:00:00", skew_days=3)),  # delivered twice
    ]
    identifies = [
        ("i1", "a1", "u1", *ios, *clocks(1, "08:00:00")),
        ("i4", "a4", "u4", *ios, *clocks(2, "08:05:00")),
    ]
    groups = [
        ("g1", "a1", "u1", "acc1", *ios, *clocks(1, "08:01:00")),
        ("g4", "a4", "u4", "acc1", *ios, *clocks(2, "08:06:00")),
    ]
    ids = [("id", "varchar"), ("anonymous_id", "varchar"), ("user_id", "varchar")]
    return {
        "tracks": (ids + [("event", "varchar")] + mobile + times, tracks),
        "screens": (ids + [("name", "varchar")] + mobile + times, screens),
        "identifies": (ids + mobile + times, identifies),
        "groups": (ids + [("group_id", "varchar")] + mobile + times, groups),
    }


# acc1 on 03-02: u1's screen and track, u4's anonymous screen (stitched to u4, first group call acc1);
# 03-03: u4's screen at its corrected time (the device said 03-06), once.
MOBILE_DAILY = [
    ("acc1", "2026-03-02", 2, 3, 1, 0, 2),
    ("acc1", "2026-03-03", 1, 1, 0, 0, 1),
    ("acc1", "2026-03-04", 0, 0, 0, 0, 0),
]
MOBILE_EVENTS = {
    "t1": ("track", "u1", "acc1"),
    "s1": ("screen", "u1", "acc1"),
    "s2": ("screen", "u4", "acc1"),
    "s3": ("screen", "u4", "acc1"),
}

LAYOUTS = {
    "segment_web": (
        lambda: segment_web(True),
        SEGMENT_WEB_DAILY,
        {**WEB_EVENTS, "t2": ("track", "u2", "acc1")},
    ),
    "segment_web_without_context_group": (
        lambda: segment_web(False),
        MEMBERSHIP_ONLY_DAILY,
        {**WEB_EVENTS, "t2": ("track", "u2", "acc2")},
    ),
    "rudderstack": (rudderstack, MEMBERSHIP_ONLY_DAILY, {**WEB_EVENTS, "t2": ("track", "u2", "acc2")}),
    "segment_mobile": (segment_mobile, MOBILE_DAILY, MOBILE_EVENTS),
}


# ------------------------------------------------------------------------------------------ builds
def _create(table: str, columns: list[tuple[str, str]], engine: str) -> str:
    def sql_type(name: str) -> str:
        if engine == "duckdb":
            return {"text": "varchar", "timestamptz": "timestamptz"}.get(name, name)
        return {"timestamptz": "timestamp with time zone"}.get(name, name)

    body = ", ".join(f'"{name}" {sql_type(kind)}' for name, kind in columns)
    return f'create table segment."{table}" ({body})'


def _check(
    daily: list[tuple], events: list[tuple], expected_daily: list[tuple], expected_events: dict
) -> None:
    assert [tuple(row) for row in daily] == expected_daily
    got = {row[0]: (row[1], row[2], row[3]) for row in events}
    assert got == expected_events
    assert all(row[4] in ("context_group", "membership") for row in events)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_layout_builds_with_the_hand_computed_activity_duckdb(layout: str, tmp_path: Path) -> None:
    make, expected_daily, expected_events = LAYOUTS[layout]
    db = tmp_path / f"{layout}.duckdb"
    con = duckdb.connect(str(db))
    con.execute("set timezone = 'UTC'")
    con.execute("create schema segment")
    for table, (columns, rows) in make().items():
        con.execute(_create(table, columns, "duckdb"))
        if rows:
            marks = ", ".join("?" for _ in columns)
            con.executemany(f'insert into segment."{table}" values ({marks})', [list(row) for row in rows])
    con.close()
    run_dbt(BUILD, target="duckdb", workdir=tmp_path, duckdb_path=db)
    with duckdb.connect(str(db), read_only=True) as con:
        _check(
            con.execute(DAILY_SQL).fetchall(),
            con.execute(EVENTS_SQL).fetchall(),
            expected_daily,
            expected_events,
        )


@pytest.mark.postgres
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_layout_builds_with_the_hand_computed_activity_postgres(
    layout: str, tmp_path: Path, pg_database: str
) -> None:
    import psycopg2

    make, expected_daily, expected_events = LAYOUTS[layout]
    conn = psycopg2.connect(**pg_params(pg_database))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("create schema segment")
        for table, (columns, rows) in make().items():
            cur.execute(_create(table, columns, "postgres"))
            if rows:
                marks = ", ".join("%s" for _ in columns)
                cur.executemany(f'insert into segment."{table}" values ({marks})', rows)
    run_dbt(BUILD, target="postgres", workdir=tmp_path, pg_dbname=pg_database)
    with conn.cursor() as cur:
        cur.execute(DAILY_SQL)
        daily = cur.fetchall()
        cur.execute(EVENTS_SQL)
        events = cur.fetchall()
    conn.close()
    _check(daily, events, expected_daily, expected_events)
