{#- on Spark (parquet, no merge) a table rebuilt each run; see docs/SCALING.md -#}
{{
    config(
        materialized=('table' if target.type == 'spark' else 'incremental'),
        unique_key='event_id',
        incremental_strategy=('merge' if target.type == 'databricks' else 'delete+insert'),
    )
}}
-- Product events: first delivery of each message id, rows that cannot be used set aside (see mon_source_row_audit).
-- A table, built incrementally: every reader (attribution, identity stitching, the as-of date, the
-- grain tests) reads the deduplicated rows instead of re-ranking every delivery of history.
-- Incremental runs take the deliveries received in the last `lookback_days` days before the latest
-- received_at stored (the same window as int_events_attributed_to_accounts) and rank them against
-- the row already stored for the same message id, which is the best delivery of everything older:
-- so a run equals a full refresh as long as received_at only moves forward. Rows a loader lands
-- later with an older received_at, and raw rows deleted after staging, are counted in
-- mon_incremental_event_gaps (against the raw rows) until a --full-refresh.
with base as (
    select * from {{ ref('base_segment__tracks') }}
),

-- the linter lays out only the rendered (full-refresh) branch; the incremental CTEs are laid out by hand
-- noqa: disable=LT02
{%- if is_incremental() %}

reprocess_window as (
    select
        {{ dbt.dateadd(
            'day',
            -1 * var('lookback_days'),
            'coalesce(max(received_at), cast(\'1900-01-01\' as ' ~ dbt.type_timestamp() ~ '))'
        ) }} as received_from
    from {{ this }}
),

-- delivery_rank is not read: ranking happens below, on the window's rows only
recent_deliveries as (
    select
        event_id,
        anonymous_id,
        user_id,
        event_name,
        event_text,
        context_group_id,
        event_at,
        device_at,
        sent_at,
        received_at,
        loaded_at,
        rejection_reason,
        1 as source_order
    from base
    where received_at >= (select received_from from reprocess_window)
),

-- the stored row of each recent delivery's message id (macros/stored_deliveries.sql)
{{ stored_delivery_candidates(
    'event_id',
    [
        'event_id',
        'anonymous_id',
        'user_id',
        'event_name',
        'event_text',
        'context_group_id',
        'event_at',
        'device_at',
        'sent_at',
        'received_at',
        'loaded_at',
    ],
) }},

ranked as (
    select
        *,
        row_number() over (
            partition by event_id
            order by case when rejection_reason is null then 0 else 1 end, received_at, loaded_at, source_order
        ) as delivery_rank
    from candidates
),
{%- else %}

ranked as (
    select * from base
),
{%- endif %}
-- noqa: enable=LT02

kept as (
    select
        event_id,
        anonymous_id,
        user_id,
        event_name,
        event_text,
        context_group_id,
        event_at,
        device_at,
        sent_at,
        received_at,
        loaded_at
    from ranked
    where rejection_reason is null
        and delivery_rank = 1
)

select * from kept
