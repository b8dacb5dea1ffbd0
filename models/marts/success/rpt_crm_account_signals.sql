-- One row per account for a CRM import or a reverse-ETL sync (Census, Hightouch): a stable key
-- (account_id), the ids a CRM matches on (the Segment group id, the Stripe customer id), the
-- account's signals on the as-of date, its rank on this week's call list, and signals_changed_at:
-- the last day on or before the as-of date on which any daily signal changed
-- (fct_account_crm_signals_daily.is_changed). A sync reads only rows with signals_changed_at on or
-- after its last run (`accountpulse export crm --changed-since DATE`).
with signal_days as (
    select * from {{ ref('fct_account_crm_signals_daily') }}
),

accounts as (
    select * from {{ ref('dim_accounts') }}
),

billing_customers as (
    select * from {{ ref('int_billing_customers_mapped_to_accounts') }}
),

call_list as (
    select * from {{ ref('rpt_weekly_call_list') }}
),

as_of as (
    select * from {{ ref('util_as_of_date') }}
),

latest_signals as (
    select signal_days.*
    from signal_days
    inner join as_of
        on signal_days.as_of_date = as_of.as_of_date
),

last_change as (
    select
        account_id,
        max(as_of_date) as signals_changed_at
    from signal_days
    where is_changed
    group by account_id
),

stripe_customers as (
    -- an account billed under several customers sends the lowest live customer id (the count says so)
    select
        account_id,
        min(case when not coalesce(is_deleted, false) then customer_id end) as live_customer_id,
        min(customer_id) as any_customer_id,
        count(*) as stripe_customers
    from billing_customers
    where account_id is not null
    group by account_id
),

final as (
    select
        cast(accounts.account_id as {{ health_text_type() }}) as account_id,
        cast(case when not accounts.is_billing_only then accounts.account_id end as {{ health_text_type() }})
            as segment_group_id,
        cast(
            coalesce(stripe_customers.live_customer_id, stripe_customers.any_customer_id)
            as {{ health_text_type() }}
        ) as stripe_customer_id,
        cast(coalesce(stripe_customers.stripe_customers, 0) as {{ dbt.type_bigint() }}) as stripe_customers,
        cast(accounts.account_name as {{ health_text_type() }}) as account_name,
        latest_signals.health_score,
        latest_signals.health_band,
        latest_signals.health_driver,
        latest_signals.quadrant,
        latest_signals.mrr,
        latest_signals.next_renewal_date,
        latest_signals.open_alert_types,
        cast(coalesce(latest_signals.open_alert_type_count, 0) as {{ dbt.type_bigint() }}) as open_alert_type_count,
        cast(call_list.call_rank as {{ dbt.type_int() }}) as call_list_rank,
        as_of.as_of_date,
        last_change.signals_changed_at
    from accounts
    cross join as_of
    -- an account with no health history by the as-of date (no attributed activity yet) is kept,
    -- with null signals and a null signals_changed_at
    left join latest_signals
        on accounts.account_id = latest_signals.account_id
    left join last_change
        on accounts.account_id = last_change.account_id
    left join stripe_customers
        on accounts.account_id = stripe_customers.account_id
    left join call_list
        on accounts.account_id = call_list.account_id
)

select * from final
