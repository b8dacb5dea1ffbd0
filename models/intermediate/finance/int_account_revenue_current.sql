-- Billing state of every billing account on the as-of date: MRR/ARR, licensed seats, next renewal,
-- billing currency, lifecycle status and first paid date. One row per account with a Stripe customer.
with customers as (
    select * from {{ ref('int_billing_customers_mapped_to_accounts') }}
),

item_days as (
    select * from {{ ref('int_subscription_items_mrr_daily') }}
),

subscription_days as (
    select * from {{ ref('int_subscription_mrr_daily') }}
),

account_days as (
    select * from {{ ref('int_account_mrr_daily') }}
),

invoice_lines as (
    select * from {{ ref('int_invoice_lines_normalised_to_monthly') }}
),

status_periods as (
    select * from {{ ref('int_subscription_status_periods') }}
),

as_of as (
    select {{ as_of_date_sql() }} as as_of_date
),

accounts as (
    select account_id from customers
    union
    select account_id from item_days
),

current_items as (
    select item_days.*
    from item_days
    inner join as_of
        on item_days.mrr_date = as_of.as_of_date
),

current_seats as (
    select
        account_id,
        sum(case when is_seat then quantity else 0 end) as licensed_seats
    from current_items
    group by account_id
),

current_periods as (
    -- the paid period of every subscription counting today ends at its next renewal
    select
        current_items.account_id,
        min(cast(invoice_lines.period_end_at as date)) as next_renewal_date
    from current_items
    inner join as_of
        on 1 = 1
    inner join invoice_lines
        on current_items.subscription_id = invoice_lines.subscription_id
            and as_of.as_of_date >= invoice_lines.first_covered_date
            and as_of.as_of_date <= invoice_lines.last_covered_date
    group by current_items.account_id
),

currency_mrr as (
    select
        subscription_days.account_id,
        subscription_days.currency,
        sum(subscription_days.mrr) as mrr
    from subscription_days
    inner join as_of
        on subscription_days.mrr_date = as_of.as_of_date
    group by
        subscription_days.account_id,
        subscription_days.currency
),

ranked_currencies as (
    select
        account_id,
        currency,
        row_number() over (partition by account_id order by mrr desc, currency asc) as currency_rank
    from currency_mrr
),

ranked_customer_currencies as (
    select
        account_id,
        customer_currency as currency,
        row_number() over (partition by account_id order by customer_created_at, customer_id) as currency_rank
    from customers
    where customer_currency is not null
),

first_customers as (
    -- the account's earliest customer names a billing-only account
    select
        account_id,
        customer_name,
        customer_created_at,
        row_number() over (partition by account_id order by customer_created_at, customer_id) as customer_rank
    from customers
),

pending_cancellations as (
    select
        current_items.account_id,
        max(case when status_periods.is_cancel_at_period_end then 1 else 0 end) as has_pending_cancellation
    from current_items
    inner join status_periods
        on current_items.subscription_id = status_periods.subscription_id
            and current_items.mrr_date >= status_periods.in_force_from_date
            and (status_periods.in_force_to_date is null or current_items.mrr_date <= status_periods.in_force_to_date)
    group by current_items.account_id
),

subscribed_accounts as (
    select distinct
        coalesce(
            customers.account_id,
            {{ dbt.concat(["'" ~ var('unmapped_customer_account_prefix') ~ "'", 'status_periods.customer_id']) }}
        ) as account_id
    from status_periods
    left join customers
        on status_periods.customer_id = customers.customer_id
),

trialing_accounts as (
    select distinct
        coalesce(
            customers.account_id,
            {{ dbt.concat(["'" ~ var('unmapped_customer_account_prefix') ~ "'", 'status_periods.customer_id']) }}
        ) as account_id
    from status_periods
    inner join as_of
        on status_periods.in_force_from_date <= as_of.as_of_date
            and (status_periods.in_force_to_date is null or status_periods.in_force_to_date >= as_of.as_of_date)
            and (status_periods.last_running_date is null or status_periods.last_running_date >= as_of.as_of_date)
    left join customers
        on status_periods.customer_id = customers.customer_id
    where status_periods.status = 'trialing'
),

account_history as (
    select
        account_days.account_id,
        min(case when account_days.mrr > 0 then account_days.mrr_date end) as first_paid_date,
        max(case when account_days.mrr_date = as_of.as_of_date then account_days.mrr end) as current_mrr
    from account_days
    inner join as_of
        on account_days.mrr_date <= as_of.as_of_date
    group by account_days.account_id
),

final as (
    select
        accounts.account_id,
        cast(coalesce(account_history.current_mrr, 0) as decimal(38, 2)) as current_mrr,
        cast(12 * coalesce(account_history.current_mrr, 0) as decimal(38, 2)) as current_arr,
        current_seats.licensed_seats,
        current_periods.next_renewal_date,
        coalesce(ranked_currencies.currency, ranked_customer_currencies.currency) as billing_currency,
        case
            when coalesce(account_history.current_mrr, 0) > 0 then 'paying'
            when trialing_accounts.account_id is not null then 'trial'
            when account_history.first_paid_date is not null then 'churned'
            else 'never_paid'
        end as lifecycle_status,
        account_history.first_paid_date,
        coalesce(pending_cancellations.has_pending_cancellation, 0) = 1 as has_pending_cancellation,
        subscribed_accounts.account_id is not null as has_subscription,
        first_customers.customer_name as billing_name,
        first_customers.customer_created_at as billing_created_at
    from accounts
    left join account_history
        on accounts.account_id = account_history.account_id
    left join current_seats
        on accounts.account_id = current_seats.account_id
    left join current_periods
        on accounts.account_id = current_periods.account_id
    left join ranked_currencies
        on accounts.account_id = ranked_currencies.account_id
            and ranked_currencies.currency_rank = 1
    left join ranked_customer_currencies
        on accounts.account_id = ranked_customer_currencies.account_id
            and ranked_customer_currencies.currency_rank = 1
    left join pending_cancellations
        on accounts.account_id = pending_cancellations.account_id
    left join trialing_accounts
        on accounts.account_id = trialing_accounts.account_id
    left join subscribed_accounts
        on accounts.account_id = subscribed_accounts.account_id
    left join first_customers
        on accounts.account_id = first_customers.account_id
            and first_customers.customer_rank = 1
)

select * from final
