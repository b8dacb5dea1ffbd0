-- The MRR bridge per month over all accounts: starting MRR (last month's ending), the movements,
-- ending MRR, paying accounts, and net / gross revenue retention of the accounts paying at the start
-- at constant exchange rates (expansion and contraction exclude fx_mrr; NRR and GRR leave it out).
-- Beside MRR: the usage revenue of all accounts that month (metered prices; accounts without MRR too).
with account_months as (
    select * from {{ ref('fct_account_mrr_monthly') }}
),

usage_revenue as (
    select * from {{ ref('int_account_usage_revenue_monthly') }}
),

monthly_usage as (
    select
        month_start,
        sum(usage_revenue) as usage_revenue
    from usage_revenue
    group by month_start
),

summed as (
    select
        month_start,
        sum(previous_mrr) as starting_mrr,
        sum(new_mrr) as new_mrr,
        sum(expansion_mrr) as expansion_mrr,
        sum(contraction_mrr) as contraction_mrr,
        sum(churned_mrr) as churned_mrr,
        sum(reactivation_mrr) as reactivation_mrr,
        sum(fx_mrr) as fx_mrr,
        sum(mrr) as ending_mrr,
        sum(case when previous_mrr > 0 then 1 else 0 end) as starting_paying_accounts,
        sum(case when mrr > 0 then 1 else 0 end) as paying_accounts,
        sum(case when movement_type = 'new' then 1 else 0 end) as new_accounts,
        sum(case when movement_type = 'churn' then 1 else 0 end) as churned_accounts,
        sum(case when movement_type = 'reactivation' then 1 else 0 end) as reactivated_accounts
    from account_months
    group by month_start
),

final as (
    select
        summed.month_start,
        cast(starting_mrr as decimal(38, 2)) as starting_mrr,
        cast(new_mrr as decimal(38, 2)) as new_mrr,
        cast(expansion_mrr as decimal(38, 2)) as expansion_mrr,
        cast(contraction_mrr as decimal(38, 2)) as contraction_mrr,
        cast(churned_mrr as decimal(38, 2)) as churned_mrr,
        cast(reactivation_mrr as decimal(38, 2)) as reactivation_mrr,
        cast(fx_mrr as decimal(38, 2)) as fx_mrr,
        cast(ending_mrr as decimal(38, 2)) as ending_mrr,
        cast(12 * ending_mrr as decimal(38, 2)) as ending_arr,
        cast(starting_paying_accounts as {{ dbt.type_int() }}) as starting_paying_accounts,
        cast(paying_accounts as {{ dbt.type_int() }}) as paying_accounts,
        cast(new_accounts as {{ dbt.type_int() }}) as new_accounts,
        cast(churned_accounts as {{ dbt.type_int() }}) as churned_accounts,
        cast(reactivated_accounts as {{ dbt.type_int() }}) as reactivated_accounts,
        {{ safe_divide('starting_mrr + expansion_mrr - contraction_mrr - churned_mrr', 'starting_mrr') }} as nrr,
        {{ safe_divide('starting_mrr - contraction_mrr - churned_mrr', 'starting_mrr') }} as grr,
        cast(coalesce(monthly_usage.usage_revenue, 0) as decimal(38, 2)) as usage_revenue
    from summed
    left join monthly_usage
        on summed.month_start = monthly_usage.month_start
)

select * from final
