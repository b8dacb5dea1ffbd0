"""The floor: one hand-written DuckDB query that computes account × feature × month adopting users
straight from the raw tables, with every DuckDB shortcut allowed (DISTINCT ON, ASOF join, GROUP BY
ALL). The dbt build does far more (every mart, every test, portable SQL); the ratio build ÷ floor
says how far the whole build is from the cheapest possible pass over the events.

The query keeps the steps the real answer needs: first delivery per message id, Segment's corrected
time, anonymous events stitched through identify calls, the account from context_group_id else the
user's latest group call at or before the event (else the first one), uses counted per account ×
feature × month × user, adopting = at least `adoption_min_uses` uses.

Run as `python -m accountpulse.bench.floor DB FEATURE_EVENTS_CSV THREADS MEMORY_LIMIT [MIN_USES]`;
prints one JSON line (query seconds, result rows, adopting users summed).
"""

from __future__ import annotations

import json
import sys
import time

FLOOR_SQL = """
create temp table floor_adoption as
with feature_events as (
    select feature_id, event_name from read_csv_auto('{feature_events_csv}', header = true)
),
tracks as (
    select distinct on (id)
        id,
        nullif(trim(user_id), '') as user_id,
        nullif(trim(anonymous_id), '') as anonymous_id,
        event,
        nullif(trim(context_group_id), '') as context_group_id,
        coalesce(received_at - (sent_at - original_timestamp), "timestamp", received_at) as event_at
    from segment.tracks
    where event in (select event_name from feature_events)
    order by id, received_at
),
identities as (
    select anonymous_id, arg_min(user_id, "timestamp") as user_id
    from segment.identifies
    where anonymous_id is not null and user_id is not null
    group by all
),
group_calls as (
    select distinct on (groups.id)
        coalesce(nullif(trim(groups.user_id), ''), identities.user_id) as user_id,
        groups.group_id as account_id,
        groups."timestamp" as grouped_at
    from segment.groups
    left join identities on groups.user_id is null and groups.anonymous_id = identities.anonymous_id
    order by groups.id, groups.received_at
),
first_groups as (
    select user_id, arg_min(account_id, grouped_at) as account_id
    from group_calls
    where user_id is not null
    group by all
),
resolved as (
    select
        coalesce(tracks.user_id, identities.user_id) as user_id,
        tracks.event,
        tracks.context_group_id,
        tracks.event_at
    from tracks
    left join identities on tracks.user_id is null and tracks.anonymous_id = identities.anonymous_id
),
attributed as (
    select
        resolved.user_id,
        resolved.event,
        resolved.event_at,
        coalesce(resolved.context_group_id, group_calls.account_id, first_groups.account_id) as account_id
    from resolved
    asof left join group_calls
        on resolved.user_id = group_calls.user_id and resolved.event_at >= group_calls.grouped_at
    left join first_groups on resolved.user_id = first_groups.user_id
),
uses as (
    select
        attributed.account_id,
        feature_events.feature_id,
        date_trunc('month', attributed.event_at) as month_start,
        attributed.user_id,
        count(*) as uses
    from attributed
    inner join feature_events on attributed.event = feature_events.event_name
    where attributed.account_id is not null and attributed.user_id is not null
    group by all
)
select account_id, feature_id, month_start, count(*) filter (where uses >= {min_uses}) as adopting_users
from uses
group by all
"""


def run_floor(
    database: str, feature_events_csv: str, threads: int, memory_limit: str, min_uses: int = 2
) -> dict:
    import duckdb

    connection = duckdb.connect(database, read_only=True)
    try:
        connection.execute(f"set threads = {int(threads)}")
        connection.execute(f"set memory_limit = '{memory_limit}'")
        connection.execute("set preserve_insertion_order = false")
        started = time.perf_counter()
        connection.execute(
            FLOOR_SQL.format(feature_events_csv=feature_events_csv.replace("'", "''"), min_uses=int(min_uses))
        )
        seconds = time.perf_counter() - started
        rows, adopting = connection.execute(
            "select count(*), coalesce(sum(adopting_users), 0) from floor_adoption"
        ).fetchone()
    finally:
        connection.close()
    return {"query_seconds": round(seconds, 3), "rows": int(rows), "adopting_users": int(adopting)}


def main(argv: list[str]) -> int:
    database, csv_path, threads, memory_limit, *rest = argv
    result = run_floor(database, csv_path, int(threads), memory_limit, int(rest[0]) if rest else 2)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
