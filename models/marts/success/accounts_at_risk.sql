{{ config(materialized='view') }}
-- Monday's call list: accounts that on the as-of date are at risk (health band at_risk, quadrant
-- revenue_at_risk) or carry an open risk alert (any alert type but expansion_signal), ordered by the
-- MRR at stake (the account's MRR on the as-of date), then by health score, lowest first.
with health_days as (
    select * from {{ ref('fct_account_health_daily') }}
),

alerts as (
    select * from {{ ref('account_alerts') }}
),

accounts as (
    select * from {{ ref('dim_accounts') }}
),

latest_health as (
    select *
    from health_days
    where as_of_date = {{ as_of_date_sql() }}
),

open_risk_alerts as (
    select
        account_id,
        count(*) as open_risk_alerts,
        min(
            case severity when 'critical' then 1 when 'high' then 2 when 'medium' then 3 else 4 end
        ) as highest_severity_rank,
        {{ dbt.listagg('alert_type', "', '", 'order by alert_type') }} as open_alert_types
    from alerts
    where is_open
        and alert_type <> 'expansion_signal'
    group by account_id
),

at_risk as (
    select
        latest_health.account_id,
        accounts.account_name,
        latest_health.as_of_date,
        latest_health.mrr,
        latest_health.arr,
        latest_health.mrr as mrr_at_stake,
        latest_health.health_score,
        latest_health.health_band,
        latest_health.health_driver,
        latest_health.quadrant,
        latest_health.health_score_change_30d,
        latest_health.next_renewal_date,
        latest_health.days_to_renewal,
        coalesce(open_risk_alerts.open_risk_alerts, 0) as open_risk_alerts,
        open_risk_alerts.open_alert_types,
        case open_risk_alerts.highest_severity_rank
            when 1 then 'critical'
            when 2 then 'high'
            when 3 then 'medium'
            when 4 then 'low'
        end as highest_severity
    from latest_health
    left join open_risk_alerts
        on latest_health.account_id = open_risk_alerts.account_id
    left join accounts
        on latest_health.account_id = accounts.account_id
    where latest_health.health_band = 'at_risk'
        or latest_health.quadrant = 'revenue_at_risk'
        or open_risk_alerts.account_id is not null
),

final as (
    select
        cast(row_number() over (
            order by mrr_at_stake desc, health_score asc, account_id asc
        ) as {{ dbt.type_bigint() }}) as risk_rank,
        account_id,
        cast(account_name as {{ dbt.type_string() }}) as account_name,
        as_of_date,
        mrr,
        arr,
        mrr_at_stake,
        health_score,
        health_band,
        health_driver,
        quadrant,
        health_score_change_30d,
        next_renewal_date,
        days_to_renewal,
        cast(open_risk_alerts as {{ dbt.type_bigint() }}) as open_risk_alerts,
        cast(open_alert_types as {{ dbt.type_string() }}) as open_alert_types,
        cast(highest_severity as {{ dbt.type_string() }}) as highest_severity
    from at_risk
)

select * from final
order by risk_rank
