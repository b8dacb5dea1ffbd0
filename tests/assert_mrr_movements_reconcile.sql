-- Every account-month reconciles exactly (to the cent):
-- previous_mrr + new + expansion + reactivation - contraction - churned + fx = mrr,
-- previous_mrr is the account's MRR of the month before (0 in its first row), and fx_mrr is 0
-- unless the account pays in both months.
-- Returns the rows that break a rule.
with account_months as (
    select * from {{ ref('fct_account_mrr_monthly') }}
),

with_prior as (
    select
        *,
        lag(mrr) over (partition by account_id order by month_start) as prior_row_mrr
    from account_months
),

broken as (
    select *
    from with_prior
    where previous_mrr + new_mrr + expansion_mrr + reactivation_mrr - contraction_mrr - churned_mrr + fx_mrr <> mrr
        or previous_mrr <> coalesce(prior_row_mrr, 0)
        or (fx_mrr <> 0 and (previous_mrr = 0 or mrr = 0))
)

select * from broken
