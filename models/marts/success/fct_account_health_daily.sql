{#- Spark (parquet, no Delta here): rewrite whole as_of_date partitions; Databricks (Delta): merge -#}
{{
    config(
        materialized='incremental',
        unique_key=['account_id', 'as_of_date'],
        incremental_strategy=(
            'insert_overwrite' if target.type == 'spark'
            else 'merge' if target.type == 'databricks'
            else 'delete+insert'
        ),
        partition_by=(['as_of_date'] if target.type == 'spark' else none),
        file_format=('parquet' if target.type == 'spark' else none),
        on_schema_change='fail',
        pre_hook="{{ delete_rows_after_as_of('as_of_date', ref('int_account_health_inputs_daily')) }}",
    )
}}
-- Account × day health, from the account's first attributed activity to the as-of date: six
-- explainable component scores (0–100), their weighted sum (var health_weights), band, driver,
-- MRR, renewal and the Revenue × Health quadrant. Every value is point in time: the measured
-- inputs of day d (int_account_health_inputs_daily) use data up to d only. Formulas: see
-- _success__docs.md; every one is unit-tested in _success__models.yml.
--
-- Incremental runs recompute (delete+insert on account × day; on Spark whole as_of_date partitions,
-- which hold every account of the day) every day from the earliest of:
--   * the last var lookback_days days already stored, and
--   * the first day whose measured inputs differ from the stored ones (new days, late events,
--     re-attributed events, changed billing) —
-- so a run equals a full refresh. Scores of the 30 (or var driver_lookback_days, if more) days before
-- that are recomputed too but only read (health_score_change_30d, health_score_change_28d,
-- health_change_driver), not written. Rows dated after the as-of date (a run with an
-- earlier as-of date: a backfill, a schedule re-run) are deleted first (macros/as_of_date.sql).
{%- set weights = health_weights() %}
{%- set components = health_components() %}
{%- set lookback = var('driver_lookback_days') | int %}
{%- set change_days = [30, lookback] | max %}
{%- set input_columns = [
    'active_users_30d', 'active_users_90d', 'events_30d', 'last_active_date', 'days_since_last_activity',
    'core_features_available', 'core_features_adopted', 'core_features_used', 'mean_depth_ratio_of_used',
    'core_features_with_previous_adoption', 'declining_core_features', 'declining_core_feature_ids',
    'max_core_adopting_users', 'trend_month_start', 'baseline_week_start', 'week_active_users', 'baseline_active_users',
    'pct_vs_baseline', 'is_below_baseline', 'top_user_id', 'top_user_share', 'silent_champion_user_id',
    'silent_champion_event_share', 'has_silent_champion', 'mrr', 'arr', 'licensed_seats',
    'next_renewal_date', 'median_paying_mrr',
] %}

with inputs as (
    select * from {{ ref('int_account_health_inputs_daily') }}
),

-- the linter lays out only the rendered (full-refresh) branch; the incremental CTEs are laid out by hand
-- noqa: disable=LT02
{% if is_incremental() %}
stored as (
    select * from {{ this }}
),

first_changed_day as (
    select min(inputs.as_of_date) as first_changed_date
    from inputs
    left join stored
        on inputs.account_id = stored.account_id
            and inputs.as_of_date = stored.as_of_date
    where stored.account_id is null
        {%- for column in input_columns %}
        or inputs.{{ column }} is distinct from stored.{{ column }}
        {%- endfor %}
),

lookback_window as (
    select cast({{ dbt.dateadd('day', 1 - var('lookback_days'), 'max(as_of_date)') }} as date) as lookback_start
    from stored
),

recompute_bounds as (
    select
        case
            when lookback_window.lookback_start is null
                or first_changed_day.first_changed_date < lookback_window.lookback_start
                then first_changed_day.first_changed_date
            else lookback_window.lookback_start
        end as recompute_from
    from first_changed_day
    cross join lookback_window
),

inputs_to_score as (
    select inputs.*
    from inputs
    inner join recompute_bounds
        on inputs.as_of_date >= {{ dbt.dateadd('day', -change_days, 'recompute_bounds.recompute_from') }}
),
{% else %}
inputs_to_score as (
    select * from inputs
),
{% endif %}
-- noqa: enable=LT02

component_scores as (
    select
        *,
        case
            when core_features_available > 0
                then {{ round_score('100 * ' ~ safe_divide('core_features_adopted', 'core_features_available')) }}
        end as breadth_score,
        case
            when core_features_available > 0
                then {{ round_score('100 * coalesce(mean_depth_ratio_of_used, 0)') }}
        end as depth_score,
        {{ round_score("
            case
                when baseline_active_users = 0 then case when week_active_users > 0 then 100 else 0 end
                when week_active_users >= baseline_active_users then 100
                else 100 * " ~ safe_divide('week_active_users', 'baseline_active_users') ~ "
            end
        ") }} as engagement_score,
        case
            when core_features_with_previous_adoption > 0
                then {{ round_score('100 * (1 - ' ~ safe_divide('declining_core_features', 'core_features_with_previous_adoption') ~ ')') }}
        end as trend_score,
        case
            when top_user_share is not null then {{ round_score('100 * (1 - top_user_share)') }}
        end as concentration_score,
        case
            when mrr > 0 and licensed_seats > 0 then {{ safe_divide('active_users_30d', 'licensed_seats') }}
        end as seat_utilization
    from inputs_to_score
),

seat_scores as (
    select
        *,
        case
            when seat_utilization >= 1 then {{ round_score(100) }}
            when seat_utilization is not null then {{ round_score('100 * seat_utilization') }}
        end as seat_utilization_score
    from component_scores
),

weighted as (
    -- components that cannot be measured on the day (null) are left out and the weights of the
    -- others rescaled to sum to 1
    select
        *,
        (
            {%- for name, column in components %}
                coalesce({{ weights[name] }} * {{ column }}, 0){% if not loop.last %} +{% endif %}
            {%- endfor %}
        ) as weighted_points,
        (
            {%- for name, column in components %}
                case when {{ column }} is not null then {{ weights[name] }} else 0 end{% if not loop.last %} +{% endif %}
            {%- endfor %}
        ) as measured_weight,
        {%- for name, column in components %}
            -- the typical account of the day: mean of the component over the accounts measured on it
            avg({{ column }}) over (partition by as_of_date) as {{ name }}_peer_mean{% if not loop.last %},{% endif %}
        {%- endfor %}
    from seat_scores
),

points as (
    select
        *,
        {%- for name, column in components %}
            case
                when {{ column }} is not null and measured_weight > 0
                    then {{ weights[name] }} * {{ column }} / measured_weight
                else 0
            end as {{ name }}_points{% if not loop.last %},{% endif %}
        {%- endfor %}
    from weighted
),

pulls as (
    -- what pulls the score down, against the peers: weight × points below the day's peer mean
    -- (-1 when unmeasured or not below it); what moved it: the change over var driver_lookback_days
    -- of each component's weighted points in the score, weight × score / measured weight (0 when
    -- unmeasured), which add up to the score, so their changes add up to the score's change
    select
        *,
        {%- for name, column in components %}
            coalesce(
                case when {{ column }} < {{ name }}_peer_mean then {{ weights[name] }} * ({{ name }}_peer_mean - {{ column }}) end,
                -1
            ) as {{ name }}_pull,
            {{ name }}_points - lag({{ name }}_points, {{ lookback }}) over (
                partition by account_id
                order by as_of_date
            ) as {{ name }}_points_change{% if not loop.last %},{% endif %}
        {%- endfor %}
    from points
),

scored as (
    select
        *,
        case
            when measured_weight > 0 then {{ round_score(safe_divide('weighted_points', 'measured_weight')) }}
        end as health_score,
        greatest(
            {%- for name, column in components %}
                {{ name }}_pull{% if not loop.last %},{% endif %}
            {%- endfor %}
        ) as largest_pull,
        least(
            {%- for name, column in components %}
                coalesce({{ name }}_points_change, 0){% if not loop.last %},{% endif %}
            {%- endfor %}
        ) as largest_points_fall
    from pulls
),

banded as (
    select
        *,
        case
            when health_score >= {{ var('health_healthy_min') }} then 'healthy'
            when health_score >= {{ var('health_neutral_min') }} then 'neutral'
            when health_score is not null then 'at_risk'
        end as health_band,
        case
            when largest_pull <= 0 then 'none'
            {%- for name, column in components %}
                when {{ name }}_pull = largest_pull then '{{ name }}'
            {%- endfor %}
        end as health_driver,
        health_score - lag(health_score, {{ lookback }}) over (
            partition by account_id
            order by as_of_date
        ) as health_score_change_28d,
        {%- if var('high_mrr_threshold') is not none %}
        cast({{ var('high_mrr_threshold') }} as decimal(38, 3)) as high_mrr_threshold
        {%- else %}
            median_paying_mrr as high_mrr_threshold
        {%- endif %}
    from scored
),

with_quadrant as (
    select
        *,
        mrr > 0 and mrr >= high_mrr_threshold as is_high_mrr,
        case
            when not mrr > 0 then 'non_paying'
            when mrr >= high_mrr_threshold and health_band = 'healthy' then 'champion'
            when mrr >= high_mrr_threshold then 'revenue_at_risk'
            when health_band = 'healthy' or seat_utilization >= {{ var('expansion_seat_utilization') }} then 'expansion_candidate'
            else 'low_value'
        end as quadrant,
        case
            when coalesce(health_score_change_28d, 0) > -{{ var('driver_min_score_drop') }} then 'none'
            when not largest_points_fall < 0 then 'none'
            {%- for name, column in components %}
                when {{ name }}_points_change = largest_points_fall then '{{ name }}'
            {%- endfor %}
        end as health_change_driver,
        case
            when active_users_90d >= {{ var('single_champion_min_active_users') }}
                and (
                    max_core_adopting_users between 1 and {{ var('single_champion_max_users') }}
                    or top_user_share > {{ var('single_champion_top_share') }}
                )
                then true
            else false
        end as is_single_champion,
        health_score - lag(health_score, {{ change_days }}) over (
            partition by account_id
            order by as_of_date
        ) as health_score_change_30d
    from banded
),

final as (
    select
        cast(account_id as {{ health_text_type() }}) as account_id,
        as_of_date,
        cast(health_score as decimal(6, 2)) as health_score,
        cast(health_band as {{ health_text_type() }}) as health_band,
        cast(health_driver as {{ health_text_type() }}) as health_driver,
        cast(breadth_score as decimal(6, 2)) as breadth_score,
        cast(depth_score as decimal(6, 2)) as depth_score,
        cast(engagement_score as decimal(6, 2)) as engagement_score,
        cast(trend_score as decimal(6, 2)) as trend_score,
        cast(concentration_score as decimal(6, 2)) as concentration_score,
        cast(seat_utilization_score as decimal(6, 2)) as seat_utilization_score,
        cast(health_score_change_30d as decimal(6, 2)) as health_score_change_30d,
        cast(health_score_change_28d as decimal(6, 2)) as health_score_change_28d,
        cast(health_change_driver as {{ health_text_type() }}) as health_change_driver,
        cast(quadrant as {{ health_text_type() }}) as quadrant,
        cast(mrr as decimal(38, 2)) as mrr,
        cast(arr as decimal(38, 2)) as arr,
        coalesce(is_high_mrr, false) as is_high_mrr,
        high_mrr_threshold,
        median_paying_mrr,
        next_renewal_date,
        cast({{ dbt.datediff('as_of_date', 'next_renewal_date', 'day') }} as {{ dbt.type_bigint() }}) as days_to_renewal,
        licensed_seats,
        cast(seat_utilization as {{ dbt.type_float() }}) as seat_utilization,
        active_users_30d,
        active_users_90d,
        events_30d,
        last_active_date,
        days_since_last_activity,
        core_features_available,
        core_features_adopted,
        core_features_used,
        cast(mean_depth_ratio_of_used as {{ dbt.type_float() }}) as mean_depth_ratio_of_used,
        core_features_with_previous_adoption,
        declining_core_features,
        cast(declining_core_feature_ids as {{ health_text_type() }}) as declining_core_feature_ids,
        max_core_adopting_users,
        trend_month_start,
        baseline_week_start,
        week_active_users,
        cast(baseline_active_users as {{ dbt.type_float() }}) as baseline_active_users,
        cast(pct_vs_baseline as {{ dbt.type_float() }}) as pct_vs_baseline,
        is_below_baseline,
        cast(top_user_id as {{ health_text_type() }}) as top_user_id,
        cast(top_user_share as {{ dbt.type_float() }}) as top_user_share,
        is_single_champion,
        cast(silent_champion_user_id as {{ health_text_type() }}) as silent_champion_user_id,
        cast(silent_champion_event_share as {{ dbt.type_float() }}) as silent_champion_event_share,
        has_silent_champion
    from with_quadrant
    {%- if is_incremental() %}
    where as_of_date >= (select recompute_from from recompute_bounds) -- noqa: LT02, ST05
    {%- endif %}
)

select * from final
