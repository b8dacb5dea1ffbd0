-- Account × feature milestones as of the as-of date: when the feature became available to the account
-- (the later of its release and the account's creation), when the account first used it and when
-- it first reached meaningful adoption — `meaningful_adoption_min_users` distinct users with a use,
-- or `meaningful_adoption_min_uses` uses in total, counted cumulatively from the available date.
-- Uses before the available date (beta access) count for first_used_date only.
-- Rows: the accounts × catalog features of fct_account_feature_adoption.
with as_of as (
    select * from {{ ref('util_as_of_date') }}
),

features as (
    select * from {{ ref('features') }}
),

accounts as (
    select * from {{ ref('int_accounts') }}
),

adoption_periods as (
    select * from {{ ref('int_account_feature_adoption_periods') }}
),

account_user_feature_days as (
    select * from {{ ref('int_account_user_feature_days') }}
),

account_features as (
    select
        adoption_periods.account_id,
        adoption_periods.feature_id,
        features.released_at,
        cast(coalesce(accounts.created_at, accounts.first_seen_at) as date) as account_created_date
    from adoption_periods
    inner join features
        on adoption_periods.feature_id = features.feature_id
    left join accounts
        on adoption_periods.account_id = accounts.account_id
    where adoption_periods.period_type = 'trailing_window'
        and adoption_periods.period_number = 0
),

availability as (
    select
        account_id,
        feature_id,
        greatest(released_at, coalesce(account_created_date, released_at)) as available_date
    from account_features
),

feature_days as (
    select account_user_feature_days.*
    from account_user_feature_days
    cross join as_of
    where account_user_feature_days.activity_date <= as_of.as_of_date
),

first_uses as (
    select
        account_id,
        feature_id,
        min(activity_date) as first_used_date
    from feature_days
    group by
        account_id,
        feature_id
),

available_feature_days as (
    select feature_days.*
    from feature_days
    inner join availability
        on feature_days.account_id = availability.account_id
            and feature_days.feature_id = availability.feature_id
    where feature_days.activity_date >= availability.available_date
),

daily_uses as (
    select
        account_id,
        feature_id,
        activity_date,
        sum(uses) as uses
    from available_feature_days
    group by
        account_id,
        feature_id,
        activity_date
),

user_first_available_uses as (
    select
        account_id,
        feature_id,
        user_id,
        min(activity_date) as first_use_date
    from available_feature_days
    group by
        account_id,
        feature_id,
        user_id
),

daily_new_users as (
    select
        account_id,
        feature_id,
        first_use_date as activity_date,
        count(*) as new_users
    from user_first_available_uses
    group by
        account_id,
        feature_id,
        first_use_date
),

cumulative_usage as (
    select
        daily_uses.account_id,
        daily_uses.feature_id,
        daily_uses.activity_date,
        sum(daily_uses.uses) over (
            partition by daily_uses.account_id, daily_uses.feature_id
            order by daily_uses.activity_date
            rows between unbounded preceding and current row
        ) as cumulative_uses,
        sum(coalesce(daily_new_users.new_users, 0)) over (
            partition by daily_uses.account_id, daily_uses.feature_id
            order by daily_uses.activity_date
            rows between unbounded preceding and current row
        ) as cumulative_users
    from daily_uses
    left join daily_new_users
        on daily_uses.account_id = daily_new_users.account_id
            and daily_uses.feature_id = daily_new_users.feature_id
            and daily_uses.activity_date = daily_new_users.activity_date
),

first_adoptions as (
    select
        account_id,
        feature_id,
        min(activity_date) as first_adopted_date
    from cumulative_usage
    where cumulative_users >= {{ var('meaningful_adoption_min_users') }}
        or cumulative_uses >= {{ var('meaningful_adoption_min_uses') }}
    group by
        account_id,
        feature_id
),

final as (
    select
        availability.account_id,
        availability.feature_id,
        availability.available_date,
        first_uses.first_used_date,
        first_adoptions.first_adopted_date,
        {{ dbt.datediff('availability.available_date', 'first_adoptions.first_adopted_date', 'day') }} as days_to_adopt,
        {{ dbt.datediff('availability.available_date', 'as_of.as_of_date', 'day') }} as days_available
    from availability
    cross join as_of
    left join first_uses
        on availability.account_id = first_uses.account_id
            and availability.feature_id = first_uses.feature_id
    left join first_adoptions
        on availability.account_id = first_adoptions.account_id
            and availability.feature_id = first_adoptions.feature_id
)

select * from final
