{#- on Spark (parquet, no merge) a table rebuilt each run; see docs/SCALING.md -#}
{{
    config(
        materialized=('table' if target.type == 'spark' else 'incremental'),
        unique_key='screen_view_id',
        incremental_strategy=('merge' if target.type == 'databricks' else 'delete+insert'),
    )
}}
-- Screen views (a mobile app's page views): first delivery of each message id; unusable rows set aside
-- (see mon_source_row_audit). A table, built incrementally like stg_segment__pages (see there). Empty where
-- the warehouse has no screens table (no mobile source); when one appears, the first run after it takes
-- every row (the stored table holds none, so its window starts in 1900).
with base as (
    select * from {{ ref('base_segment__screens') }}
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
        screen_view_id,
        anonymous_id,
        user_id,
        context_group_id,
        event_at,
        sent_at,
        received_at,
        screen_name,
        rejection_reason,
        1 as source_order
    from base
    where received_at >= (select received_from from reprocess_window)
),

-- the stored row of each recent delivery's message id (macros/stored_deliveries.sql)
{{ stored_delivery_candidates(
    'screen_view_id',
    [
        'screen_view_id',
        'anonymous_id',
        'user_id',
        'context_group_id',
        'event_at',
        'sent_at',
        'received_at',
        'screen_name',
    ],
) }},

ranked as (
    select
        *,
        row_number() over (
            partition by screen_view_id
            order by case when rejection_reason is null then 0 else 1 end, received_at, source_order
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
        screen_view_id,
        anonymous_id,
        user_id,
        context_group_id,
        event_at,
        sent_at,
        received_at,
        screen_name
    from ranked
    where rejection_reason is null
        and delivery_rank = 1
)

select * from kept
