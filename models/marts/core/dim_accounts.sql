-- One row per account seen in Segment (group calls or events' context_group_id) or subscribed in
-- Stripe (a customer whose account_id matches no Segment group is a billing-only account): identity, latest
-- traits, size band, lifecycle dates and user counts as of the as-of date, and the billing state on
-- that date from int_account_revenue_current (seats, seat utilization, MRR/ARR, renewal, lifecycle).
with segment_accounts as (
    select * from {{ ref('int_accounts') }}
),

revenue as (
    select * from {{ ref('int_account_revenue_current') }}
),

memberships as (
    select * from {{ ref('int_account_memberships') }}
),

user_days as (
    select * from {{ ref('int_account_user_days') }}
),

activity_until_as_of as (
    select
        account_id,
        user_id,
        activity_date,
        case
            when activity_date > {{ dbt.dateadd('day', -30, as_of_date_sql()) }} then user_id
        end as user_id_active_30d
    from user_days
    where activity_date <= {{ as_of_date_sql() }}
),

user_counts as (
    select
        account_id,
        count(distinct user_id) as lifetime_users,
        count(distinct user_id_active_30d) as active_users_30d
    from activity_until_as_of
    group by account_id
),

current_members as (
    select
        account_id,
        count(distinct user_id) as current_members
    from memberships
    where is_current
    group by account_id
),

billing_only_accounts as (
    -- named after their earliest Stripe customer; no traits, no product usage
    select
        revenue.account_id,
        revenue.billing_name as account_name,
        cast(null as {{ dbt.type_string() }}) as plan,
        cast(null as {{ dbt.type_string() }}) as industry,
        cast(null as {{ dbt.type_bigint() }}) as employees,
        {{ segment_band('cast(null as ' ~ dbt.type_bigint() ~ ')') }} as segment,
        revenue.billing_created_at as created_at,
        cast(null as {{ dbt.type_timestamp() }}) as first_seen_at,
        cast(null as {{ dbt.type_timestamp() }}) as last_seen_at,
        true as is_billing_only
    from revenue
    left join segment_accounts
        on revenue.account_id = segment_accounts.account_id
    where segment_accounts.account_id is null
        and revenue.has_subscription
),

accounts as (
    select
        account_id,
        account_name,
        plan,
        industry,
        employees,
        segment,
        created_at,
        first_seen_at,
        last_seen_at,
        false as is_billing_only
    from segment_accounts
    union all
    select * from billing_only_accounts
),

final as (
    select
        accounts.account_id,
        accounts.account_name,
        accounts.plan,
        accounts.industry,
        cast(accounts.employees as {{ dbt.type_bigint() }}) as employees,
        accounts.segment,
        accounts.created_at,
        accounts.first_seen_at,
        accounts.last_seen_at,
        cast(coalesce(user_counts.lifetime_users, 0) as {{ dbt.type_bigint() }}) as lifetime_users,
        cast(coalesce(current_members.current_members, 0) as {{ dbt.type_bigint() }}) as current_members,
        cast(coalesce(user_counts.active_users_30d, 0) as {{ dbt.type_bigint() }}) as active_users_30d,
        cast(revenue.licensed_seats as {{ dbt.type_bigint() }}) as licensed_seats,
        {{ safe_divide('coalesce(user_counts.active_users_30d, 0)', 'revenue.licensed_seats') }} as seat_utilization,
        cast(coalesce(revenue.current_mrr, 0) as decimal(38, 2)) as current_mrr,
        cast(coalesce(revenue.current_arr, 0) as decimal(38, 2)) as current_arr,
        revenue.next_renewal_date,
        revenue.billing_currency,
        coalesce(revenue.lifecycle_status, 'never_paid') as lifecycle_status,
        revenue.first_paid_date,
        accounts.is_billing_only
    from accounts
    left join user_counts
        on accounts.account_id = user_counts.account_id
    left join current_members
        on accounts.account_id = current_members.account_id
    left join revenue
        on accounts.account_id = revenue.account_id
)

select * from final
