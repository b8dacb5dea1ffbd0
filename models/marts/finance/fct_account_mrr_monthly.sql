-- MRR per account and month with its movement. Monthly MRR = MRR at the end of the month's last
-- day (of the as-of date for the current month). Rows run from the first month that ends with MRR
-- to the as-of month, zero months included. The change of an account paying in both months is split
-- into fx_mrr (the previous MRR revalued at this month end's exchange rates, int_account_mrr_fx_monthly)
-- and the change at constant rates, which alone decides expansion or contraction. Movement amounts are
-- positive, fx_mrr is signed, and they reconcile exactly:
-- previous_mrr + new + expansion + reactivation - contraction - churned + fx = mrr. Beside MRR, never in it:
-- the usage revenue the account's metered prices billed that month (int_account_usage_revenue_monthly).
with account_days as (
    select * from {{ ref('int_account_mrr_daily') }}
),

usage_revenue as (
    select * from {{ ref('int_account_usage_revenue_monthly') }}
),

fx_effects as (
    select * from {{ ref('int_account_mrr_fx_monthly') }}
),

month_ends as (
    select
        account_id,
        cast({{ dbt.date_trunc('month', 'mrr_date') }} as date) as month_start,
        max(mrr_date) as month_end_date
    from account_days
    group by
        account_id,
        cast({{ dbt.date_trunc('month', 'mrr_date') }} as date)
),

monthly as (
    select
        month_ends.account_id,
        month_ends.month_start,
        month_ends.month_end_date,
        account_days.mrr
    from month_ends
    inner join account_days
        on month_ends.account_id = account_days.account_id
            and month_ends.month_end_date = account_days.mrr_date
),

first_paid_months as (
    select
        account_id,
        min(month_start) as first_paid_month
    from monthly
    where mrr > 0
    group by account_id
),

paid_months as (
    select monthly.*
    from monthly
    inner join first_paid_months
        on monthly.account_id = first_paid_months.account_id
            and monthly.month_start >= first_paid_months.first_paid_month
),

with_history as (
    select
        *,
        coalesce(lag(mrr) over (
            partition by account_id
            order by month_start
        ), 0) as previous_mrr,
        coalesce(max(mrr) over (
            partition by account_id
            order by month_start
            rows between unbounded preceding and 1 preceding
        ), 0) as earlier_max_mrr
    from paid_months
),

with_fx as (
    -- exchange-rate effects only between two paying months: new, reactivated and churned MRR are
    -- booked whole at the rate of the month they happen in
    select
        with_history.*,
        case
            when with_history.previous_mrr > 0 and with_history.mrr > 0 then coalesce(fx_effects.fx_mrr, 0)
            else 0
        end as fx_mrr
    from with_history
    left join fx_effects
        on with_history.account_id = fx_effects.account_id
            and with_history.month_start = fx_effects.month_start
),

classified as (
    select
        *,
        -- order matters: the 0 -> >0 and >0 -> 0 cases come before the comparisons, which are made
        -- at constant rates (the change net of fx_mrr)
        case
            when previous_mrr = 0 and mrr > 0 and earlier_max_mrr = 0 then 'new'
            when previous_mrr = 0 and mrr > 0 then 'reactivation'
            when previous_mrr > 0 and mrr = 0 then 'churn'
            when mrr - previous_mrr - fx_mrr > 0 then 'expansion'
            when mrr - previous_mrr - fx_mrr < 0 then 'contraction'
            when fx_mrr <> 0 then 'fx'
            else 'unchanged'
        end as movement_type
    from with_fx
),

final as (
    select
        classified.account_id,
        classified.month_start,
        classified.month_end_date,
        cast(mrr as decimal(38, 2)) as mrr,
        cast(12 * mrr as decimal(38, 2)) as arr,
        cast(previous_mrr as decimal(38, 2)) as previous_mrr,
        movement_type,
        cast(case when movement_type = 'new' then mrr else 0 end as decimal(38, 2)) as new_mrr,
        cast(
            case when movement_type = 'expansion' then mrr - previous_mrr - fx_mrr else 0 end as decimal(38, 2)
        ) as expansion_mrr,
        cast(
            case when movement_type = 'contraction' then previous_mrr + fx_mrr - mrr else 0 end as decimal(38, 2)
        ) as contraction_mrr,
        cast(case when movement_type = 'churn' then previous_mrr else 0 end as decimal(38, 2)) as churned_mrr,
        cast(case when movement_type = 'reactivation' then mrr else 0 end as decimal(38, 2)) as reactivation_mrr,
        cast(fx_mrr as decimal(38, 2)) as fx_mrr,
        cast(coalesce(usage_revenue.usage_revenue, 0) as decimal(38, 2)) as usage_revenue
    from classified
    left join usage_revenue
        on classified.account_id = usage_revenue.account_id
            and classified.month_start = usage_revenue.month_start
)

select * from final
