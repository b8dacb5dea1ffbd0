-- The monthly MRR bridge ties out: starting + new + expansion + reactivation - contraction - churned
-- + fx = ending; each month starts where the previous one ended; ending MRR equals the sum of the
-- account-months. Returns the months that break a rule.
with summary as (
    select * from {{ ref('fct_mrr_summary_monthly') }}
),

account_months as (
    select * from {{ ref('fct_account_mrr_monthly') }}
),

account_totals as (
    select
        month_start,
        sum(mrr) as total_mrr
    from account_months
    group by month_start
),

with_prior as (
    select
        summary.*,
        lag(summary.ending_mrr) over (order by summary.month_start) as prior_ending_mrr,
        account_totals.total_mrr
    from summary
    left join account_totals
        on summary.month_start = account_totals.month_start
),

broken as (
    select *
    from with_prior
    where starting_mrr + new_mrr + expansion_mrr + reactivation_mrr - contraction_mrr - churned_mrr + fx_mrr <> ending_mrr
        or starting_mrr <> coalesce(prior_ending_mrr, 0)
        or ending_mrr <> coalesce(total_mrr, 0)
)

select * from broken
