-- Account onboarding as of the as-of date: how many of the account's users started and completed
-- the checklist of seeds/onboarding_steps (a step counts when its event is attributed to the
-- account; all steps in any order = completed), time to value (account creation → first meaningful
-- adoption of a core feature) and a stuck flag for accounts past `onboarding_stuck_after_days` that
-- have no value yet or whose completion rate is below `onboarding_stuck_completion_rate`.
with as_of as (
    select * from {{ ref('util_as_of_date') }}
),

accounts as (
    select * from {{ ref('int_accounts') }}
),

attributed_events as (
    select * from {{ ref('int_events_attributed_to_accounts') }}
),

account_user_days as (
    select * from {{ ref('int_account_user_days') }}
),

onboarding_steps as (
    select * from {{ ref('onboarding_steps') }}
),

features as (
    select * from {{ ref('features') }}
),

first_adoptions as (
    select * from {{ ref('int_account_feature_first_adoptions') }}
),

existing_accounts as (
    select
        accounts.account_id,
        cast(coalesce(accounts.created_at, accounts.first_seen_at) as date) as account_created_date,
        as_of.as_of_date
    from accounts
    cross join as_of
    where cast(coalesce(accounts.created_at, accounts.first_seen_at) as date) <= as_of.as_of_date
),

checklist as (
    select count(distinct step_number) as total_steps
    from onboarding_steps
),

steps_done as (
    select distinct
        attributed_events.account_id,
        attributed_events.user_id,
        onboarding_steps.step_number
    from attributed_events
    inner join onboarding_steps
        on attributed_events.event_name = onboarding_steps.event_name
    cross join as_of
    where attributed_events.event_source = 'track'
        and attributed_events.account_id is not null
        and attributed_events.user_id is not null
        and attributed_events.event_date <= as_of.as_of_date
),

user_progress as (
    select
        account_id,
        user_id,
        count(*) as steps_completed
    from steps_done
    group by
        account_id,
        user_id
),

account_progress as (
    select
        user_progress.account_id,
        count(*) as users_started,
        sum(case when user_progress.steps_completed >= checklist.total_steps then 1 else 0 end) as users_completed
    from user_progress
    cross join checklist
    group by user_progress.account_id
),

account_users as (
    select
        account_user_days.account_id,
        count(distinct account_user_days.user_id) as users_seen
    from account_user_days
    cross join as_of
    where account_user_days.activity_date <= as_of.as_of_date
    group by account_user_days.account_id
),

first_value as (
    select
        first_adoptions.account_id,
        min(first_adoptions.first_adopted_date) as first_value_date
    from first_adoptions
    inner join features
        on first_adoptions.feature_id = features.feature_id
    where features.is_core
    group by first_adoptions.account_id
),

onboarding as (
    select
        existing_accounts.account_id,
        existing_accounts.account_created_date,
        {{ dbt.datediff('existing_accounts.account_created_date', 'existing_accounts.as_of_date', 'day') }} as account_age_days,
        coalesce(account_users.users_seen, 0) as users_seen,
        coalesce(account_progress.users_started, 0) as users_started,
        coalesce(account_progress.users_completed, 0) as users_completed,
        {{ safe_divide('account_progress.users_completed', 'account_progress.users_started') }} as completion_rate,
        first_value.first_value_date,
        {{ dbt.datediff('existing_accounts.account_created_date', 'first_value.first_value_date', 'day') }} as time_to_value_days
    from existing_accounts
    left join account_users
        on existing_accounts.account_id = account_users.account_id
    left join account_progress
        on existing_accounts.account_id = account_progress.account_id
    left join first_value
        on existing_accounts.account_id = first_value.account_id
),

final as (
    select
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(account_created_date as date) as account_created_date,
        cast(account_age_days as {{ dbt.type_int() }}) as account_age_days,
        cast(users_seen as {{ dbt.type_bigint() }}) as users_seen,
        cast(users_started as {{ dbt.type_bigint() }}) as users_started,
        cast(users_completed as {{ dbt.type_bigint() }}) as users_completed,
        cast(completion_rate as {{ dbt.type_float() }}) as completion_rate,
        cast(first_value_date as date) as first_value_date,
        cast(time_to_value_days as {{ dbt.type_int() }}) as time_to_value_days,
        account_age_days > {{ var('onboarding_stuck_after_days') }}
        and (
            first_value_date is null
            or coalesce(completion_rate < {{ var('onboarding_stuck_completion_rate') }}, false)
        ) as is_stuck
    from onboarding
)

select * from final
