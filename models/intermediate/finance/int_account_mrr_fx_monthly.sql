-- The exchange-rate part of each account's MRR change from one month end to the next: the MRR the
-- account had at the previous month end, in its billing currencies, converted at this month end's
-- rates, minus the same MRR at the previous month end's rates (the previous month's MRR). Both are
-- summed over the account's subscriptions and rounded to cents like int_account_mrr_daily, so equal
-- rates give exactly 0. fct_account_mrr_monthly books this part as fx_mrr and classifies the rest
-- (the change at constant rates). Month ends are the months' last billing days (the as-of date in
-- the as-of month), the days fct_account_mrr_monthly measures MRR on.
with subscription_days as (
    select * from {{ ref('int_subscription_mrr_daily') }}
),

fx_rates as (
    select * from {{ ref('int_fx_rates_daily') }}
),

billing_days as (
    select * from {{ ref('util_billing_days') }}
),

month_ends as (
    select
        cast({{ dbt.date_trunc('month', 'date_day') }} as date) as month_start,
        max(date_day) as month_end_date
    from billing_days
    group by cast({{ dbt.date_trunc('month', 'date_day') }} as date)
),

consecutive_month_ends as (
    -- billing days have no gaps, so the previous row is the previous calendar month
    select
        month_start,
        month_end_date,
        lag(month_end_date) over (order by month_start) as previous_month_end_date
    from month_ends
),

previous_month_subscriptions as (
    -- each subscription's MRR at the previous month end, at that day's rate (mrr) and at this month
    -- end's rate (the same expression as int_subscription_mrr_daily's mrr, with the later rate)
    select
        subscription_days.account_id,
        consecutive_month_ends.month_start,
        subscription_days.mrr as mrr_at_previous_rates,
        cast(subscription_days.mrr_local * fx_rates.rate_to_reporting as decimal(38, 10)) as mrr_at_current_rates
    from subscription_days
    inner join consecutive_month_ends
        on subscription_days.mrr_date = consecutive_month_ends.previous_month_end_date
    -- a currency quoted on the previous month end is quoted on every later day (the rate in force
    -- stays until the next valid_from), so the rate is never missing here
    left join fx_rates
        on subscription_days.currency = fx_rates.currency
            and consecutive_month_ends.month_end_date = fx_rates.rate_date
),

final as (
    select
        account_id,
        month_start,
        {{ round_money('sum(mrr_at_previous_rates)') }} as previous_mrr,
        {{ round_money('sum(mrr_at_current_rates)') }} as previous_mrr_at_current_rates,
        {{ round_money('sum(mrr_at_current_rates)') }}
        - {{ round_money('sum(mrr_at_previous_rates)') }} as fx_mrr
    from previous_month_subscriptions
    group by
        account_id,
        month_start
)

select * from final
