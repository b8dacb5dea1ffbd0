-- Health band (and all bands together) over every backtested account × month end of
-- rpt_health_backtest: how often the next horizon brought churn or contraction, how much more often
-- than for healthy accounts (lift), and how well the open risk alerts of the day foresaw it
-- (precision, recall). Every band is listed, with zeros when no account month falls in it; on an
-- empty warehouse (no as-of date) the summary is empty like every mart.
with backtest as (
    select * from {{ ref('rpt_health_backtest') }}
),

as_of as (
    select as_of_date from {{ ref('util_as_of_date') }}
),

bands as (
    select
        cast('healthy' as {{ dbt.type_string() }}) as health_band,
        1 as band_order
    union all
    select
        'neutral' as health_band,
        2 as band_order
    union all
    select
        'at_risk' as health_band,
        3 as band_order
    union all
    select
        'unscored' as health_band,
        4 as band_order
    union all
    select
        'all' as health_band,
        5 as band_order
),

backtest_with_all as (
    select
        health_band,
        as_of_date,
        outcome,
        is_churn_or_contraction,
        has_open_risk_alert
    from backtest
    union all
    select
        'all' as health_band,
        as_of_date,
        outcome,
        is_churn_or_contraction,
        has_open_risk_alert
    from backtest
),

counted as (
    select
        bands.health_band,
        bands.band_order,
        count(backtest_with_all.outcome) as account_months,
        count(distinct backtest_with_all.as_of_date) as as_of_dates,
        min(backtest_with_all.as_of_date) as first_as_of_date,
        max(backtest_with_all.as_of_date) as last_as_of_date,
        sum(case when backtest_with_all.outcome = 'churned' then 1 else 0 end) as churned,
        sum(case when backtest_with_all.outcome = 'contracted' then 1 else 0 end) as contracted,
        sum(case when backtest_with_all.outcome = 'expanded' then 1 else 0 end) as expanded,
        sum(case when backtest_with_all.outcome = 'unchanged' then 1 else 0 end) as unchanged,
        sum(case when backtest_with_all.is_churn_or_contraction then 1 else 0 end) as churn_or_contraction,
        sum(case when backtest_with_all.has_open_risk_alert then 1 else 0 end) as alerted,
        sum(
            case when backtest_with_all.has_open_risk_alert and backtest_with_all.is_churn_or_contraction then 1 else 0 end
        ) as alerted_churn_or_contraction
    from bands
    inner join as_of
        on as_of.as_of_date is not null
    left join backtest_with_all
        on bands.health_band = backtest_with_all.health_band
    group by
        bands.health_band,
        bands.band_order
),

rated as (
    select
        *,
        {{ safe_divide('churn_or_contraction', 'account_months') }} as churn_or_contraction_rate,
        {{ safe_divide('alerted_churn_or_contraction', 'alerted') }} as alert_precision,
        {{ safe_divide('alerted_churn_or_contraction', 'churn_or_contraction') }} as alert_recall
    from counted
),

healthy_rate as (
    select churn_or_contraction_rate as healthy_churn_or_contraction_rate
    from rated
    where health_band = 'healthy'
),

final as (
    select
        cast(rated.health_band as {{ dbt.type_string() }}) as health_band,
        cast(rated.band_order as {{ dbt.type_bigint() }}) as band_order,
        cast(rated.account_months as {{ dbt.type_bigint() }}) as account_months,
        cast(rated.as_of_dates as {{ dbt.type_bigint() }}) as as_of_dates,
        rated.first_as_of_date,
        rated.last_as_of_date,
        cast(coalesce(rated.churned, 0) as {{ dbt.type_bigint() }}) as churned,
        cast(coalesce(rated.contracted, 0) as {{ dbt.type_bigint() }}) as contracted,
        cast(coalesce(rated.expanded, 0) as {{ dbt.type_bigint() }}) as expanded,
        cast(coalesce(rated.unchanged, 0) as {{ dbt.type_bigint() }}) as unchanged,
        cast(coalesce(rated.churn_or_contraction, 0) as {{ dbt.type_bigint() }}) as churn_or_contraction,
        cast(rated.churn_or_contraction_rate as {{ accountpulse.type_double() }}) as churn_or_contraction_rate,
        cast(
            {{ safe_divide('rated.churn_or_contraction_rate', 'healthy_rate.healthy_churn_or_contraction_rate') }}
            as {{ accountpulse.type_double() }}
        ) as lift_over_healthy,
        cast(coalesce(rated.alerted, 0) as {{ dbt.type_bigint() }}) as alerted,
        cast(coalesce(rated.alerted_churn_or_contraction, 0) as {{ dbt.type_bigint() }}) as alerted_churn_or_contraction,
        cast(rated.alert_precision as {{ accountpulse.type_double() }}) as alert_precision,
        cast(rated.alert_recall as {{ accountpulse.type_double() }}) as alert_recall
    from rated
    cross join healthy_rate
)

select * from final
