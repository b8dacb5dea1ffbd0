-- Account × as-of month end: what the health score said about each paying account on a past month
-- end, and what its MRR did in the following var backtest_horizon_days (default 90) days. Only month
-- ends followed by a full horizon of billing history up to the as-of date are backtested.
--
-- Point in time: the band, score and quadrant are the account's fct_account_health_daily row of
-- that day (its inputs use data up to that day only); "an open risk alert" is an account_alerts
-- episode of a risk type (macro risk_alert_types, as rpt_weekly_call_list reads them) whose
-- condition held on that day (opened on or before it, not closed by it: an episode is a run of days
-- on which the condition held, so this is the alert rule evaluated on that day). Nothing after the
-- as-of month end is read but the outcome. Outcome MRR is valued at the exchange rates of the as-of
-- month end so that a rate change is never an outcome. Definitions: _backtest__docs.md.
{%- set horizon = var('backtest_horizon_days') %}

with health_days as (
    select * from {{ ref('fct_account_health_daily') }}
),

alerts as (
    select * from {{ ref('account_alerts') }}
),

account_mrr_days as (
    select * from {{ ref('int_account_mrr_daily') }}
),

subscription_mrr_days as (
    select * from {{ ref('int_subscription_mrr_daily') }}
),

fx_rates as (
    select * from {{ ref('int_fx_rates_daily') }}
),

backtest_dates as (
    -- month ends (the next day starts a month) with a full horizon after them up to the as-of date
    select distinct mrr_date as as_of_date
    from account_mrr_days
    where
        cast({{ dbt.date_trunc('month', dbt.dateadd('day', 1, 'mrr_date')) }} as date)
        = cast({{ dbt.dateadd('day', 1, 'mrr_date') }} as date)
        and cast({{ dbt.dateadd('day', horizon, 'mrr_date') }} as date) <= {{ as_of_date_sql() }}
),

paying_accounts as (
    select
        account_mrr_days.account_id,
        backtest_dates.as_of_date,
        cast({{ dbt.dateadd('day', horizon, 'backtest_dates.as_of_date') }} as date) as horizon_end_date,
        account_mrr_days.mrr
    from backtest_dates
    inner join account_mrr_days
        on backtest_dates.as_of_date = account_mrr_days.mrr_date
    where account_mrr_days.mrr > 0
),

local_mrr_days as (
    select
        account_id,
        mrr_date,
        currency,
        sum(mrr_local) as mrr_local
    from subscription_mrr_days
    group by
        account_id,
        mrr_date,
        currency
),

horizon_days as (
    -- every day of the horizon (int_account_mrr_daily holds the zero days too)
    select
        paying_accounts.account_id,
        paying_accounts.as_of_date,
        paying_accounts.horizon_end_date,
        account_mrr_days.mrr_date
    from paying_accounts
    inner join account_mrr_days
        on paying_accounts.account_id = account_mrr_days.account_id
            and account_mrr_days.mrr_date > paying_accounts.as_of_date
            and account_mrr_days.mrr_date <= paying_accounts.horizon_end_date
),

horizon_mrr as (
    -- MRR of each horizon day at the exchange rates of the as-of date, rounded like MRR
    select
        horizon_days.account_id,
        horizon_days.as_of_date,
        horizon_days.horizon_end_date,
        horizon_days.mrr_date,
        {{ round_money('coalesce(sum(local_mrr_days.mrr_local * fx_rates.rate_to_reporting), 0)') }} as mrr
    from horizon_days
    left join local_mrr_days
        on horizon_days.account_id = local_mrr_days.account_id
            and horizon_days.mrr_date = local_mrr_days.mrr_date
    left join fx_rates
        on local_mrr_days.currency = fx_rates.currency
            and horizon_days.as_of_date = fx_rates.rate_date
    group by
        horizon_days.account_id,
        horizon_days.as_of_date,
        horizon_days.horizon_end_date,
        horizon_days.mrr_date
),

horizon_summary as (
    select
        account_id,
        as_of_date,
        count(*) as horizon_days_seen,
        min(mrr) as min_mrr_in_horizon,
        max(mrr) as max_mrr_in_horizon,
        max(case when mrr_date = horizon_end_date then mrr end) as mrr_at_horizon_end
    from horizon_mrr
    group by
        account_id,
        as_of_date
),

open_risk_alerts as (
    select
        paying_accounts.account_id,
        paying_accounts.as_of_date,
        count(*) as open_risk_alerts,
        {{ dbt.listagg('alerts.alert_type', "', '", 'order by alerts.alert_type') }} as open_risk_alert_types
    from paying_accounts
    inner join alerts
        on paying_accounts.account_id = alerts.account_id
            and alerts.alert_type in ('{{ risk_alert_types() | join("', '") }}')
            and alerts.opened_date <= paying_accounts.as_of_date
            and (alerts.closed_date is null or alerts.closed_date > paying_accounts.as_of_date)
    group by
        paying_accounts.account_id,
        paying_accounts.as_of_date
),

labelled as (
    select
        paying_accounts.account_id,
        paying_accounts.as_of_date,
        paying_accounts.horizon_end_date,
        health_days.health_score,
        coalesce(health_days.health_band, 'unscored') as health_band,
        health_days.quadrant,
        paying_accounts.mrr,
        horizon_summary.min_mrr_in_horizon,
        horizon_summary.max_mrr_in_horizon,
        horizon_summary.mrr_at_horizon_end,
        case
            when horizon_summary.min_mrr_in_horizon = 0 then 'churned'
            when horizon_summary.min_mrr_in_horizon < paying_accounts.mrr then 'contracted'
            when horizon_summary.max_mrr_in_horizon > paying_accounts.mrr then 'expanded'
            else 'unchanged'
        end as outcome,
        coalesce(open_risk_alerts.open_risk_alerts, 0) as open_risk_alerts,
        open_risk_alerts.open_risk_alert_types
    from paying_accounts
    inner join horizon_summary
        on paying_accounts.account_id = horizon_summary.account_id
            and paying_accounts.as_of_date = horizon_summary.as_of_date
    left join health_days
        on paying_accounts.account_id = health_days.account_id
            and paying_accounts.as_of_date = health_days.as_of_date
    left join open_risk_alerts
        on paying_accounts.account_id = open_risk_alerts.account_id
            and paying_accounts.as_of_date = open_risk_alerts.as_of_date
),

final as (
    select
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        as_of_date,
        horizon_end_date,
        cast(health_score as decimal(6, 2)) as health_score,
        cast(health_band as {{ dbt.type_string() }}) as health_band,
        cast(quadrant as {{ dbt.type_string() }}) as quadrant,
        cast(mrr as decimal(38, 2)) as mrr,
        cast(min_mrr_in_horizon as decimal(38, 2)) as min_mrr_in_horizon,
        cast(max_mrr_in_horizon as decimal(38, 2)) as max_mrr_in_horizon,
        cast(mrr_at_horizon_end as decimal(38, 2)) as mrr_at_horizon_end,
        cast(outcome as {{ dbt.type_string() }}) as outcome,
        outcome in ('churned', 'contracted') as is_churn_or_contraction,
        cast(open_risk_alerts as {{ dbt.type_bigint() }}) as open_risk_alerts,
        open_risk_alerts > 0 as has_open_risk_alert,
        cast(open_risk_alert_types as {{ dbt.type_string() }}) as open_risk_alert_types
    from labelled
)

select * from final
