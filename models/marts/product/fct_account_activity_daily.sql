-- Account × day activity from the account's first attributed activity day to the as-of date, days
-- without activity included as zeros. Reads the int_account_user_days pre-aggregate only.
with user_days as (
    select * from {{ ref('int_account_user_days') }}
),

account_first_days as (
    select
        account_id,
        min(activity_date) as first_activity_date
    from user_days
    group by account_id
),

digits as (
    select 0 as digit
    union all
    select 1
    union all
    select 2
    union all
    select 3
    union all
    select 4
    union all
    select 5
    union all
    select 6
    union all
    select 7
    union all
    select 8
    union all
    select 9
),

-- 0 .. 99,999 days (274 years) without an engine-specific series function
day_offsets as (
    select ones.digit + 10 * tens.digit + 100 * hundreds.digit + 1000 * thousands.digit + 10000 * ten_thousands.digit as day_offset
    from digits as ones
    cross join digits as tens
    cross join digits as hundreds
    cross join digits as thousands
    cross join digits as ten_thousands
),

calendar_bounds as (
    select
        min(first_activity_date) as first_date,
        {{ as_of_date_sql() }} as last_date
    from account_first_days
),

calendar as (
    select cast({{ dbt.dateadd('day', 'day_offsets.day_offset', 'calendar_bounds.first_date') }} as date) as activity_date
    from day_offsets
    cross join calendar_bounds
    where day_offsets.day_offset <= {{ dbt.datediff('calendar_bounds.first_date', 'calendar_bounds.last_date', 'day') }}
),

account_days as (
    select
        account_first_days.account_id,
        calendar.activity_date
    from account_first_days
    inner join calendar
        on calendar.activity_date >= account_first_days.first_activity_date
),

daily_activity as (
    select
        account_id,
        activity_date,
        count(distinct user_id) as active_users,
        sum(events) as events,
        sum(track_events) as track_events,
        sum(page_events) as page_events,
        sum(screen_events) as screen_events,
        sum(core_feature_events) as core_feature_events
    from user_days
    group by
        account_id,
        activity_date
),

final as (
    select
        account_days.account_id,
        account_days.activity_date,
        cast(coalesce(daily_activity.active_users, 0) as {{ dbt.type_bigint() }}) as active_users,
        cast(coalesce(daily_activity.events, 0) as {{ dbt.type_bigint() }}) as events,
        cast(coalesce(daily_activity.track_events, 0) as {{ dbt.type_bigint() }}) as track_events,
        cast(coalesce(daily_activity.page_events, 0) as {{ dbt.type_bigint() }}) as page_events,
        cast(coalesce(daily_activity.screen_events, 0) as {{ dbt.type_bigint() }}) as screen_events,
        cast(coalesce(daily_activity.core_feature_events, 0) as {{ dbt.type_bigint() }}) as core_feature_events
    from account_days
    left join daily_activity
        on account_days.account_id = daily_activity.account_id
            and account_days.activity_date = daily_activity.activity_date
)

select * from final
