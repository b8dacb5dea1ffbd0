-- Account × day: distinct users active in the trailing windows ending on the day (var
-- trailing_window_days, default 30, and var adoption_denominator_days, default 90), events in the
-- trailing window and the last day with activity. Point in time: a day's values read activity up to
-- that day only. Rows are the dense account × day spine of fct_account_activity_daily.
--
-- Distinct users per sliding window without a self-join ("coverage intervals"): a user's activity
-- day a, whose next activity day is n, covers the days [a, min(n, a + window)). One user's
-- intervals never overlap, so +1 at each interval start and -1 at its end, summed in day order,
-- count the distinct users active in the window ending on each day.
{%- set short_window = var('trailing_window_days') %}
{%- set long_window = var('adoption_denominator_days') %}

with account_days as (
    select * from {{ ref('fct_account_activity_daily') }}
),

user_days as (
    select * from {{ ref('int_account_user_days') }}
),

user_activity_sequences as (
    select
        account_id,
        user_id,
        activity_date,
        lead(activity_date) over (
            partition by account_id, user_id
            order by activity_date
        ) as next_activity_date
    from user_days
    where activity_date <= {{ as_of_date_sql() }}
),

window_ends as (
    select
        account_id,
        activity_date,
        next_activity_date,
        cast({{ dbt.dateadd('day', short_window, 'activity_date') }} as date) as short_window_end,
        cast({{ dbt.dateadd('day', long_window, 'activity_date') }} as date) as long_window_end
    from user_activity_sequences
),

coverage_intervals as (
    select
        account_id,
        activity_date as covered_from,
        case
            when next_activity_date < short_window_end then next_activity_date
            else short_window_end
        end as short_covered_until,
        case
            when next_activity_date < long_window_end then next_activity_date
            else long_window_end
        end as long_covered_until
    from window_ends
),

coverage_markers as (
    select
        account_id,
        covered_from as marker_date,
        1 as short_change,
        1 as long_change
    from coverage_intervals
    union all
    select
        account_id,
        short_covered_until as marker_date,
        -1 as short_change,
        0 as long_change
    from coverage_intervals
    union all
    select
        account_id,
        long_covered_until as marker_date,
        0 as short_change,
        -1 as long_change
    from coverage_intervals
),

daily_changes as (
    select
        account_id,
        marker_date,
        sum(short_change) as short_change,
        sum(long_change) as long_change
    from coverage_markers
    group by
        account_id,
        marker_date
),

spine_with_changes as (
    select
        account_days.account_id,
        account_days.activity_date,
        account_days.events,
        coalesce(daily_changes.short_change, 0) as short_change,
        coalesce(daily_changes.long_change, 0) as long_change,
        case when account_days.events > 0 then account_days.activity_date end as day_with_activity
    from account_days
    left join daily_changes
        on account_days.account_id = daily_changes.account_id
            and account_days.activity_date = daily_changes.marker_date
),

running_counts as (
    select
        account_id,
        activity_date,
        sum(short_change) over (
            partition by account_id
            order by activity_date
            rows between unbounded preceding and current row
        ) as active_users_short,
        sum(long_change) over (
            partition by account_id
            order by activity_date
            rows between unbounded preceding and current row
        ) as active_users_long,
        sum(events) over (
            partition by account_id
            order by activity_date
            rows between {{ short_window - 1 }} preceding and current row
        ) as events_short,
        max(day_with_activity) over (
            partition by account_id
            order by activity_date
            rows between unbounded preceding and current row
        ) as last_active_date
    from spine_with_changes
),

final as (
    select
        account_id,
        activity_date as as_of_date,
        cast(active_users_short as {{ dbt.type_bigint() }}) as active_users_30d,
        cast(active_users_long as {{ dbt.type_bigint() }}) as active_users_90d,
        cast(events_short as {{ dbt.type_bigint() }}) as events_30d,
        last_active_date,
        cast({{ dbt.datediff('last_active_date', 'activity_date', 'day') }} as {{ dbt.type_bigint() }}) as days_since_last_activity
    from running_counts
)

select * from final
