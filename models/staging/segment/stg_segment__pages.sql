{#- on Spark (parquet, no merge) a table rebuilt each run; see docs/SCALING.md -#}
{{
    config(
        materialized=('table' if target.type == 'spark' else 'incremental'),
        unique_key='page_view_id',
        incremental_strategy=('merge' if target.type == 'databricks' else 'delete+insert'),
    )
}}
-- Page views: first delivery of each message id; unusable rows set aside (see mon_source_row_audit).
-- A table, built incrementally like stg_segment__tracks (see there): deliveries received in the last
-- `lookback_days` days before the latest received_at stored, ranked against the row already stored
-- for the same message id.
with base as (
    select * from {{ ref('base_segment__pages') }}
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
        page_view_id,
        anonymous_id,
        user_id,
        context_group_id,
        event_at,
        sent_at,
        received_at,
        page_name,
        page_path,
        page_url,
        page_title,
        rejection_reason,
        1 as source_order
    from base
    where received_at >= (select received_from from reprocess_window)
),

-- the stored rows these deliveries compete with. Most are inside the window (received_at prunes
-- the scan); a late re-delivery of an older message is looked up by id first and then fetched, so
-- no run reads every column of history (100M events: 31.5 s -> 5.4 s for the tracks step)
older_stored_ids as (
    select older.page_view_id
    from {{ this }} as older
    where older.received_at < (select received_from from reprocess_window)
        and older.page_view_id in (select recent_deliveries.page_view_id from recent_deliveries)
),

candidates as (
    select * from recent_deliveries
    {%- set stored_row_filters = [
        "stored.received_at >= (select received_from from reprocess_window)
            and stored.page_view_id in (select recent_deliveries.page_view_id from recent_deliveries)",
        "stored.page_view_id in (select older_stored_ids.page_view_id from older_stored_ids)",
    ] %}
    {%- for stored_row_filter in stored_row_filters %}
    union all
    select
        stored.page_view_id,
        stored.anonymous_id,
        stored.user_id,
        stored.context_group_id,
        stored.event_at,
        stored.sent_at,
        stored.received_at,
        stored.page_name,
        stored.page_path,
        stored.page_url,
        stored.page_title,
        cast(null as {{ dbt.type_string() }}) as rejection_reason,
        0 as source_order
    from {{ this }} as stored
    where {{ stored_row_filter }}
    {%- endfor %}
),

ranked as (
    select
        *,
        row_number() over (
            partition by page_view_id
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
        page_view_id,
        anonymous_id,
        user_id,
        context_group_id,
        event_at,
        sent_at,
        received_at,
        page_name,
        page_path,
        page_url,
        page_title
    from ranked
    where rejection_reason is null
        and delivery_rank = 1
)

select * from kept
