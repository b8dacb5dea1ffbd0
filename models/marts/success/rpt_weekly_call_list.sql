-- The accounts to call this week: paying accounts (MRR > 0 on the as-of date) with an open risk alert
-- (every alert type but expansion_signal), one row each, ranked by severity band (critical first),
-- then MRR at stake (largest first), then severity score, then account id; capped at
-- max(var call_list_min_accounts, ceil(var call_list_share × paying accounts)). Each row's reason is
-- the account's most severe open risk alert (highest severity score; ties by alert type, see
-- reason_priority) in one line, with that alert's evidence numbers beside it.
with alerts as (
    select * from {{ ref('account_alerts') }}
),

health_days as (
    select * from {{ ref('fct_account_health_daily') }}
),

accounts as (
    select * from {{ ref('dim_accounts') }}
),

as_of as (
    select * from {{ ref('util_as_of_date') }}
),

latest_health as (
    select health_days.*
    from health_days
    inner join as_of
        on health_days.as_of_date = as_of.as_of_date
),

call_list_size as (
    select
        cast(
            greatest(
                {{ var('call_list_min_accounts') }},
                ceil({{ var('call_list_share') }} * sum(case when current_mrr > 0 then 1 else 0 end))
            ) as {{ dbt.type_bigint() }}
        ) as max_calls,
        cast(sum(case when current_mrr > 0 then 1 else 0 end) as {{ dbt.type_bigint() }}) as paying_accounts
    from accounts
),

open_risk_alerts as (
    select
        alerts.*,
        case alerts.alert_type
            when 'renewal_risk' then 1
            when 'dormant' then 2
            when 'engagement_drop' then 3
            when 'champion_gone_silent' then 4
            when 'adoption_declining' then 5
            when 'single_champion' then 6
            else 7
        end as reason_priority
    from alerts
    where alerts.is_open
        and alerts.alert_type in ('{{ risk_alert_types() | join("', '") }}')
),

ranked_alerts as (
    select
        *,
        row_number() over (
            partition by account_id
            order by severity_score desc, reason_priority asc, alert_type asc
        ) as alert_rank,
        count(*) over (partition by account_id) as open_risk_alerts
    from open_risk_alerts
),

account_reasons as (
    select
        ranked_alerts.account_id,
        ranked_alerts.alert_id,
        ranked_alerts.alert_type,
        ranked_alerts.severity,
        ranked_alerts.severity_score,
        ranked_alerts.opened_date,
        ranked_alerts.evidence_metric,
        ranked_alerts.evidence_value,
        ranked_alerts.evidence_threshold,
        ranked_alerts.evidence_text,
        ranked_alerts.open_risk_alerts,
        case ranked_alerts.severity
            when 'critical' then 1
            when 'high' then 2
            when 'medium' then 3
            else 4
        end as severity_rank
    from ranked_alerts
    where ranked_alerts.alert_rank = 1
),

candidates as (
    select
        latest_health.account_id,
        latest_health.as_of_date,
        latest_health.mrr as mrr_at_stake,
        latest_health.health_score,
        latest_health.health_band,
        latest_health.health_driver,
        latest_health.health_change_driver,
        latest_health.health_score_change_28d,
        latest_health.pct_vs_baseline,
        latest_health.days_to_renewal,
        account_reasons.alert_id,
        account_reasons.alert_type,
        account_reasons.severity,
        account_reasons.severity_score,
        account_reasons.severity_rank,
        account_reasons.opened_date,
        account_reasons.evidence_metric,
        account_reasons.evidence_value,
        account_reasons.evidence_threshold,
        account_reasons.evidence_text,
        account_reasons.open_risk_alerts,
        row_number() over (
            order by
                account_reasons.severity_rank asc,
                latest_health.mrr desc,
                account_reasons.severity_score desc,
                latest_health.account_id asc
        ) as call_rank
    from latest_health
    inner join account_reasons
        on latest_health.account_id = account_reasons.account_id
    where latest_health.mrr > 0
),

final as (
    select
        cast(candidates.account_id as {{ dbt.type_string() }}) as account_id,
        cast(candidates.call_rank as integer) as call_rank,
        cast(accounts.account_name as {{ dbt.type_string() }}) as account_name,
        candidates.as_of_date,
        cast(candidates.severity as {{ dbt.type_string() }}) as severity,
        candidates.severity_score,
        cast(candidates.mrr_at_stake as decimal(38, 2)) as mrr_at_stake,
        cast(candidates.alert_type as {{ dbt.type_string() }}) as reason_alert_type,
        cast({{ dbt.concat(["replace(candidates.alert_type, '_', ' ')", "': '", 'candidates.evidence_text']) }} as {{ dbt.type_string() }}) as reason,
        cast(candidates.alert_id as {{ dbt.type_string() }}) as reason_alert_id,
        candidates.opened_date as reason_opened_date,
        cast(candidates.evidence_metric as {{ dbt.type_string() }}) as evidence_metric,
        candidates.evidence_value,
        candidates.evidence_threshold,
        cast(candidates.open_risk_alerts as {{ dbt.type_bigint() }}) as open_risk_alerts,
        candidates.health_score,
        cast(candidates.health_band as {{ dbt.type_string() }}) as health_band,
        cast(candidates.health_driver as {{ dbt.type_string() }}) as health_driver,
        cast(candidates.health_change_driver as {{ dbt.type_string() }}) as health_change_driver,
        candidates.health_score_change_28d,
        cast(candidates.pct_vs_baseline as {{ dbt.type_float() }}) as pct_vs_baseline,
        candidates.days_to_renewal,
        call_list_size.paying_accounts,
        call_list_size.max_calls
    from candidates
    cross join call_list_size
    left join accounts
        on candidates.account_id = accounts.account_id
    where candidates.call_rank <= call_list_size.max_calls
)

select * from final
