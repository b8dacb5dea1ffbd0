-- One row per account × user that ever had a membership in the account or an event attributed to
-- it: role, membership dates, whether the user is a member now, activity in the account up to the
-- as-of date. No email or name: users are identified by user_id only.
with memberships as (
    select * from {{ ref('int_account_memberships') }}
),

user_days as (
    select * from {{ ref('int_account_user_days') }}
),

membership_summary as (
    select
        account_id,
        user_id,
        min(valid_from) as joined_at,
        max(valid_to) as last_valid_to,
        max(case when is_current then 1 else 0 end) as is_current_flag,
        count(*) as memberships
    from memberships
    group by
        account_id,
        user_id
),

ranked_account_roles as (
    select
        account_id,
        user_id,
        user_role,
        row_number() over (partition by account_id, user_id order by membership_number desc) as role_rank
    from memberships
),

ranked_user_roles as (
    select
        user_id,
        user_role,
        row_number() over (partition by user_id order by membership_number desc) as role_rank
    from memberships
),

activity as (
    select
        account_id,
        user_id,
        min(activity_date) as first_seen_date,
        max(activity_date) as last_seen_date,
        count(*) as active_days,
        sum(events) as events
    from user_days
    where activity_date <= {{ as_of_date_sql() }}
    group by
        account_id,
        user_id
),

account_users as (
    select
        account_id,
        user_id
    from membership_summary
    union
    select
        account_id,
        user_id
    from activity
),

final as (
    select
        account_users.account_id,
        account_users.user_id,
        coalesce(ranked_account_roles.user_role, ranked_user_roles.user_role) as user_role,
        membership_summary.joined_at,
        case when membership_summary.is_current_flag = 0 then membership_summary.last_valid_to end as left_at,
        coalesce(membership_summary.is_current_flag = 1, false) as is_current_member,
        cast(coalesce(membership_summary.memberships, 0) as {{ dbt.type_bigint() }}) as memberships,
        activity.first_seen_date,
        activity.last_seen_date,
        cast(coalesce(activity.active_days, 0) as {{ dbt.type_bigint() }}) as active_days,
        cast(coalesce(activity.events, 0) as {{ dbt.type_bigint() }}) as events
    from account_users
    left join membership_summary
        on account_users.account_id = membership_summary.account_id
            and account_users.user_id = membership_summary.user_id
    left join ranked_account_roles
        on account_users.account_id = ranked_account_roles.account_id
            and account_users.user_id = ranked_account_roles.user_id
            and ranked_account_roles.role_rank = 1
    left join ranked_user_roles
        on account_users.user_id = ranked_user_roles.user_id
            and ranked_user_roles.role_rank = 1
    left join activity
        on account_users.account_id = activity.account_id
            and account_users.user_id = activity.user_id
)

select * from final
