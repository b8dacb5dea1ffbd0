-- MRR per account and day (reporting currency, rounded to cents), every day from the account's
-- first paid day to the as-of date, zero days included. ARR = 12 × MRR.
with item_days as (
    select * from {{ ref('int_subscription_mrr_daily') }}
),

billing_days as (
    select * from {{ ref('util_billing_days') }}
),

account_days as (
    select
        account_id,
        mrr_date,
        {{ round_money('sum(mrr)') }} as mrr
    from item_days
    group by
        account_id,
        mrr_date
),

first_paid_days as (
    select
        account_id,
        min(mrr_date) as first_paid_date
    from account_days
    where mrr > 0
    group by account_id
),

account_calendar as (
    select
        first_paid_days.account_id,
        billing_days.date_day as mrr_date
    from first_paid_days
    inner join billing_days
        on billing_days.date_day >= first_paid_days.first_paid_date
),

final as (
    select
        account_calendar.account_id,
        account_calendar.mrr_date,
        coalesce(account_days.mrr, 0) as mrr,
        12 * coalesce(account_days.mrr, 0) as arr
    from account_calendar
    left join account_days
        on account_calendar.account_id = account_days.account_id
            and account_calendar.mrr_date = account_days.mrr_date
)

select * from final
