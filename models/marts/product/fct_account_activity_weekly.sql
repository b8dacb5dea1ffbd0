-- Account × ISO week (Monday start) activity with the account's own baseline: every complete week of
-- the account's life — from the first week that starts on or after its first attributed activity day
-- to the last week ending on or before the as-of date — zero weeks included. A week the account only
-- partly lived (it started mid-week, or the data starts mid-week) would sit in the baseline as a
-- false low for 8 weeks, so it has no row (its days are in fct_account_activity_daily).
-- baseline_active_users = mean active users over up to var baseline_weeks previous weeks of the
-- account's rows (zero weeks count), null with fewer than var baseline_min_weeks of them;
-- pct_vs_baseline = (active_users - baseline) / baseline, null when the baseline is null or 0;
-- is_below_baseline when pct_vs_baseline <= var below_baseline_threshold, false without a baseline.
with daily_activity as (
    select * from {{ ref('fct_account_activity_daily') }}
),

user_days as (
    select * from {{ ref('int_account_user_days') }}
),

account_first_days as (
    select
        account_id,
        min(activity_date) as first_activity_date
    from daily_activity
    group by account_id
),

days_in_weeks as (
    select
        account_id,
        cast({{ dbt.date_trunc('week', 'activity_date') }} as date) as week_start,
        active_users,
        events,
        core_feature_events
    from daily_activity
),

weekly_totals as (
    select
        account_id,
        week_start,
        sum(events) as events,
        sum(core_feature_events) as core_feature_events,
        sum(case when active_users > 0 then 1 else 0 end) as active_days
    from days_in_weeks
    group by
        account_id,
        week_start
),

weekly_users as (
    select
        account_id,
        cast({{ dbt.date_trunc('week', 'activity_date') }} as date) as week_start,
        count(distinct user_id) as active_users
    from user_days
    where activity_date <= {{ as_of_date_sql() }}
    group by
        account_id,
        cast({{ dbt.date_trunc('week', 'activity_date') }} as date)
),

complete_weeks as (
    select
        weekly_totals.account_id,
        weekly_totals.week_start,
        cast({{ dbt.dateadd('day', 6, 'weekly_totals.week_start') }} as date) as week_end,
        cast(coalesce(weekly_users.active_users, 0) as {{ dbt.type_bigint() }}) as active_users,
        cast(weekly_totals.events as {{ dbt.type_bigint() }}) as events,
        cast(weekly_totals.core_feature_events as {{ dbt.type_bigint() }}) as core_feature_events,
        cast(weekly_totals.active_days as {{ dbt.type_bigint() }}) as active_days
    from weekly_totals
    inner join account_first_days
        on weekly_totals.account_id = account_first_days.account_id
    left join weekly_users
        on weekly_totals.account_id = weekly_users.account_id
            and weekly_totals.week_start = weekly_users.week_start
    where weekly_totals.week_start >= account_first_days.first_activity_date
        and {{ dbt.dateadd('day', 6, 'weekly_totals.week_start') }} <= {{ as_of_date_sql() }}
),

trailing_weeks as (
    select
        *,
        count(*) over (
            partition by account_id
            order by week_start
            rows between {{ var('baseline_weeks') }} preceding and 1 preceding
        ) as trailing_weeks_count,
        sum(active_users) over (
            partition by account_id
            order by week_start
            rows between {{ var('baseline_weeks') }} preceding and 1 preceding
        ) as trailing_active_users_sum
    from complete_weeks
),

-- baseline = sum / weeks of the frame; the ratio and the flag are taken on those integers
-- (pct = (active × weeks − sum) / sum), so the flag at the threshold is exact on every engine
with_baseline as (
    select
        account_id,
        week_start,
        week_end,
        active_users,
        events,
        core_feature_events,
        active_days,
        cast(trailing_weeks_count as {{ dbt.type_bigint() }}) as baseline_weeks_available,
        case
            when trailing_weeks_count >= {{ var('baseline_min_weeks') }} then trailing_active_users_sum
        end as baseline_sum
    from trailing_weeks
),

with_change as (
    select
        *,
        {{ safe_divide('baseline_sum', 'baseline_weeks_available') }} as baseline_active_users,
        {{ safe_divide('active_users * baseline_weeks_available - baseline_sum', 'baseline_sum') }} as pct_vs_baseline,
        coalesce(
            baseline_sum > 0
            and active_users * baseline_weeks_available
            <= (1 + ({{ var('below_baseline_threshold') }})) * baseline_sum,
            false
        ) as is_below_baseline
    from with_baseline
),

final as (
    select
        account_id,
        week_start,
        week_end,
        active_users,
        events,
        core_feature_events,
        active_days,
        baseline_weeks_available,
        baseline_active_users,
        pct_vs_baseline,
        is_below_baseline
    from with_change
)

select * from final
