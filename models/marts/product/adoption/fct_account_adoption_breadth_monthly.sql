-- Account × month breadth: how many of the core features (released by the end of the month) the
-- account has adopted (adoption rate ≥ `adopted_rate_threshold` in the month), and that share. The
-- current month runs to the as-of date (is_complete_month false): fewer days, lower by construction.
with adoption_periods as (
    select * from {{ ref('int_account_feature_adoption_periods') }}
),

features as (
    select * from {{ ref('features') }}
),

feature_months as (
    select
        adoption_periods.account_id,
        adoption_periods.period_start_date as month_start,
        adoption_periods.is_complete_period,
        adoption_periods.is_adopted,
        features.is_core,
        features.released_at <= adoption_periods.period_end_date as is_released
    from adoption_periods
    inner join features
        on adoption_periods.feature_id = features.feature_id
    where adoption_periods.period_type = 'month'
),

breadth as (
    select
        account_id,
        month_start,
        is_complete_period,
        sum(case when is_core and is_released and is_adopted then 1 else 0 end) as core_features_adopted,
        sum(case when is_core and is_released then 1 else 0 end) as core_features,
        sum(case when is_released and is_adopted then 1 else 0 end) as features_adopted
    from feature_months
    group by
        account_id,
        month_start,
        is_complete_period
),

final as (
    select
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(month_start as date) as month_start,
        is_complete_period as is_complete_month,
        cast(core_features_adopted as {{ dbt.type_int() }}) as core_features_adopted,
        cast(core_features as {{ dbt.type_int() }}) as core_features,
        cast({{ safe_divide('core_features_adopted', 'core_features') }} as {{ dbt.type_float() }}) as breadth_ratio,
        cast(features_adopted as {{ dbt.type_int() }}) as features_adopted
    from breadth
)

select * from final
