-- Account × day: the signals the CRM receives (rpt_crm_account_signals) as they stood at the end of
-- each day, and whether any of them differs from the day before. Built from point-in-time history
-- only (fct_account_health_daily; account_alerts' opened/closed dates), so a full rebuild gives the
-- same rows and the same change days. The health score is sent in whole points: a CRM field shows
-- whole points, and a change below half a point is not a change the CRM could show.
with health_days as (
    select * from {{ ref('fct_account_health_daily') }}
),

alerts as (
    select * from {{ ref('account_alerts') }}
),

open_alert_days as (
    -- an alert is open from its opened_date up to the day before its closed_date
    select distinct
        health_days.account_id,
        health_days.as_of_date,
        alerts.alert_type
    from health_days
    inner join alerts
        on health_days.account_id = alerts.account_id
            and alerts.opened_date <= health_days.as_of_date
            and (alerts.closed_date is null or alerts.closed_date > health_days.as_of_date)
),

open_alert_types as (
    select
        account_id,
        as_of_date,
        {{ dbt.listagg('alert_type', "','", 'order by alert_type') }} as open_alert_types,
        count(*) as open_alert_type_count
    from open_alert_days
    group by
        account_id,
        as_of_date
),

signals as (
    select
        health_days.account_id,
        health_days.as_of_date,
        cast(round(health_days.health_score, 0) as {{ dbt.type_int() }}) as health_score,
        health_days.health_band,
        health_days.health_driver,
        health_days.quadrant,
        health_days.mrr,
        health_days.next_renewal_date,
        nullif(open_alert_types.open_alert_types, '') as open_alert_types,
        coalesce(open_alert_types.open_alert_type_count, 0) as open_alert_type_count
    from health_days
    left join open_alert_types
        on health_days.account_id = open_alert_types.account_id
            and health_days.as_of_date = open_alert_types.as_of_date
),

with_previous as (
    select
        *,
        row_number() over (partition by account_id order by as_of_date) as day_number,
        lag(health_score) over (partition by account_id order by as_of_date) as previous_health_score,
        lag(health_band) over (partition by account_id order by as_of_date) as previous_health_band,
        lag(health_driver) over (partition by account_id order by as_of_date) as previous_health_driver,
        lag(quadrant) over (partition by account_id order by as_of_date) as previous_quadrant,
        lag(mrr) over (partition by account_id order by as_of_date) as previous_mrr,
        lag(next_renewal_date) over (partition by account_id order by as_of_date) as previous_next_renewal_date,
        lag(open_alert_types) over (partition by account_id order by as_of_date) as previous_open_alert_types
    from signals
),

final as (
    select
        cast(account_id as {{ health_text_type() }}) as account_id,
        as_of_date,
        health_score,
        cast(health_band as {{ health_text_type() }}) as health_band,
        cast(health_driver as {{ health_text_type() }}) as health_driver,
        cast(quadrant as {{ health_text_type() }}) as quadrant,
        mrr,
        next_renewal_date,
        cast(open_alert_types as {{ health_text_type() }}) as open_alert_types,
        cast(open_alert_type_count as {{ dbt.type_bigint() }}) as open_alert_type_count,
        (
            day_number = 1
            or health_score is distinct from previous_health_score
            or health_band is distinct from previous_health_band
            or health_driver is distinct from previous_health_driver
            or quadrant is distinct from previous_quadrant
            or mrr is distinct from previous_mrr
            or next_renewal_date is distinct from previous_next_renewal_date
            or open_alert_types is distinct from previous_open_alert_types
        ) as is_changed
    from with_previous
)

select * from final
