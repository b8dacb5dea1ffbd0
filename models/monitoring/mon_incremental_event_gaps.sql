-- Events the incremental attribution model cannot get right by itself, by kind and source; all
-- zero in a healthy warehouse (one row per gap type and source, always present).
--   missed_by_incremental: a usable delivery in the raw tables (what staging keeps on a full refresh)
--     but absent from int_events_attributed_to_accounts and received before the window the next run
--     reprocesses (latest received_at - lookback_days): a loader landed them late with an old
--     received_at, and no normal run will ever pick them up (nor the incremental staging tables).
--   no_longer_in_staging: attributed, but no longer a usable row in the raw tables (the raw row was
--     deleted, e.g. on a deletion request): the incremental models keep counting it.
-- `dbt build --full-refresh` repairs both (the first also a run with a wider lookback_days). An
-- error-severity test on `events` stops the build, so the marts are not rebuilt on these gaps.
-- The raw side is read from the base views without their delivery rank: one aggregate per message
-- id, no window over history.
with base_tracks as (
    select * from {{ ref('base_segment__tracks') }}
),

base_pages as (
    select * from {{ ref('base_segment__pages') }}
),

base_screens as (
    select * from {{ ref('base_segment__screens') }}
),

attributed_events as (
    select * from {{ ref('int_events_attributed_to_accounts') }}
),

-- every message id with a usable delivery, at its first usable receipt (the row staging keeps)
kept_events as (
    select
        event_id,
        cast('track' as {{ dbt.type_string() }}) as event_source,
        min(received_at) as received_at
    from base_tracks
    where rejection_reason is null
    group by event_id
    union all
    select
        page_view_id as event_id,
        cast('page' as {{ dbt.type_string() }}) as event_source,
        min(received_at) as received_at
    from base_pages
    where rejection_reason is null
    group by page_view_id
    union all
    select
        screen_view_id as event_id,
        cast('screen' as {{ dbt.type_string() }}) as event_source,
        min(received_at) as received_at
    from base_screens
    where rejection_reason is null
    group by screen_view_id
),

reprocess_window as (
    select
        {{ dbt.dateadd('day', -1 * var('lookback_days'), 'max(received_at)') }} as received_from
    from attributed_events
),

-- both sides in one aggregate per message id instead of two anti-joins: a hash aggregate on every
-- engine (PostgreSQL misestimates the grouped base views and would pick a nested-loop anti-join)
presence as (
    select
        event_id,
        event_source,
        received_at as kept_received_at,
        cast(null as {{ dbt.type_timestamp() }}) as attributed_received_at
    from kept_events
    union all
    select
        event_id,
        event_source,
        cast(null as {{ dbt.type_timestamp() }}) as kept_received_at,
        received_at as attributed_received_at
    from attributed_events
),

per_event as (
    select
        event_id,
        event_source,
        min(kept_received_at) as kept_received_at,
        min(attributed_received_at) as attributed_received_at,
        sum(case when kept_received_at is not null then 1 else 0 end) as kept_rows,
        sum(case when attributed_received_at is not null then 1 else 0 end) as attributed_rows
    from presence
    group by event_id, event_source
),

missed as (
    select
        per_event.event_source,
        per_event.kept_received_at as received_at
    from per_event
    cross join reprocess_window
    where per_event.attributed_rows = 0
        and per_event.kept_received_at < reprocess_window.received_from
),

no_longer_kept as (
    select
        event_source,
        attributed_received_at as received_at
    from per_event
    where kept_rows = 0
),

gaps as (
    select
        cast('missed_by_incremental' as {{ dbt.type_string() }}) as gap_type,
        event_source,
        received_at
    from missed
    union all
    select
        cast('no_longer_in_staging' as {{ dbt.type_string() }}) as gap_type,
        event_source,
        received_at
    from no_longer_kept
),

gap_types as (
    select cast('missed_by_incremental' as {{ dbt.type_string() }}) as gap_type
    union all
    select cast('no_longer_in_staging' as {{ dbt.type_string() }}) as gap_type
),

event_sources as (
    select cast('track' as {{ dbt.type_string() }}) as event_source
    union all
    select cast('page' as {{ dbt.type_string() }}) as event_source
    union all
    select cast('screen' as {{ dbt.type_string() }}) as event_source
),

gap_kinds as (
    select
        gap_types.gap_type,
        event_sources.event_source
    from gap_types
    cross join event_sources
),

final as (
    select
        gap_kinds.gap_type,
        gap_kinds.event_source,
        cast(count(gaps.received_at) as {{ dbt.type_bigint() }}) as events,
        min(gaps.received_at) as earliest_received_at,
        max(gaps.received_at) as latest_received_at
    from gap_kinds
    left join gaps
        on gap_kinds.gap_type = gaps.gap_type
            and gap_kinds.event_source = gaps.event_source
    group by
        gap_kinds.gap_type,
        gap_kinds.event_source
)

select * from final
