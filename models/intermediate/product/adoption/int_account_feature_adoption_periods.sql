{#-
    Account × feature × period adoption measures, for two kinds of period:
      'month'           calendar months, the current one ending on the as-of date;
      'trailing_window' consecutive windows of `trailing_window_days` ending on the as-of date
                        (period_number 0 = the trailing window, -1 the one before it, …).
    Every formula (denominator, adopting users, rate, depth, top-user share, single champion,
    change, consecutive declines) lives here once; fct_account_feature_adoption_monthly and
    fct_account_feature_adoption select their period type from it.
    Rows: every catalog feature for every period from the one holding the account's first
    attributed event to the one holding the as-of date.
-#}
{%- set denominator_days = var('adoption_denominator_days') | int -%}
{%- set window_days = var('trailing_window_days') | int -%}
{#- a day can count in the denominator of a period up to this many periods later (a month has ≥ 28 days) -#}
{%- set max_period_offset = (denominator_days // ([window_days, 28] | min)) + 1 -%}
{#- days of history covered (about 44 years): far beyond any Segment warehouse -#}
{%- set max_history_days = 16384 -%}
with as_of as (
    select * from {{ ref('util_as_of_date') }}
),

features as (
    select * from {{ ref('features') }}
),

attributed_events as (
    select * from {{ ref('int_events_attributed_to_accounts') }}
),

account_user_days as (
    select * from {{ ref('int_account_user_days') }}
),

account_user_feature_days as (
    select * from {{ ref('int_account_user_feature_days') }}
),

account_first_events as (
    select
        attributed_events.account_id,
        min(attributed_events.event_date) as first_event_date
    from attributed_events
    cross join as_of
    where attributed_events.account_id is not null
        and attributed_events.event_date <= as_of.as_of_date
    group by attributed_events.account_id
),

history as (
    select
        as_of.as_of_date,
        {{ dbt.datediff('min(account_first_events.first_event_date)', 'as_of.as_of_date', 'day') }} as history_days
    from account_first_events
    cross join as_of
    group by as_of.as_of_date
),

day_offsets as (
    select cast(generated_number as {{ dbt.type_int() }}) - 1 as day_offset
    from ({{ dbt.generate_series(max_history_days) }}) as series
),

calendar_days as (
    select
        day_offsets.day_offset,
        cast({{ dbt.dateadd('day', '-1 * day_offsets.day_offset', 'history.as_of_date') }} as date) as day_date,
        history.as_of_date
    from day_offsets
    cross join history
    where day_offsets.day_offset <= history.history_days
),

-- each day in its month and in its trailing window
day_periods as (
    select
        day_date,
        'month' as period_type,
        {{ dbt.datediff("cast('1970-01-01' as date)", 'day_date', 'month') }} as period_number,
        cast({{ dbt.date_trunc('month', 'day_date') }} as date) as period_start_date,
        least(cast({{ dbt.last_day('day_date', 'month') }} as date), as_of_date) as period_end_date,
        cast({{ dbt.last_day('day_date', 'month') }} as date) <= as_of_date as is_complete_period
    from calendar_days
    union all
    select
        day_date,
        'trailing_window' as period_type,
        -1 * floor(cast(day_offset as {{ dbt.type_float() }}) / {{ window_days }}) as period_number,
        cast({{ dbt.dateadd(
            'day',
            '-1 * (floor(cast(day_offset as ' ~ dbt.type_float() ~ ') / ' ~ window_days ~ ') * ' ~ window_days ~ ' + ' ~ (window_days - 1) ~ ')',
            'as_of_date'
        ) }} as date) as period_start_date,
        cast({{ dbt.dateadd(
            'day',
            '-1 * floor(cast(day_offset as ' ~ dbt.type_float() ~ ') / ' ~ window_days ~ ') * ' ~ window_days,
            'as_of_date'
        ) }} as date) as period_end_date,
        true as is_complete_period
    from calendar_days
),

periods as (
    select distinct
        period_type,
        cast(period_number as {{ dbt.type_int() }}) as period_number,
        period_start_date,
        period_end_date,
        is_complete_period
    from day_periods
),

account_periods as (
    select
        account_first_events.account_id,
        periods.period_type,
        periods.period_number,
        periods.period_start_date,
        periods.period_end_date,
        periods.is_complete_period
    from account_first_events
    inner join periods
        on account_first_events.first_event_date <= periods.period_end_date
),

-- denominator: a user counts for a period when active in the account in the
-- `adoption_denominator_days` days ending on the period's end date. Each user's last active day of
-- each period is carried forward to the periods whose window can still reach it.
user_periods as (
    select
        account_user_days.account_id,
        account_user_days.user_id,
        day_periods.period_type,
        cast(day_periods.period_number as {{ dbt.type_int() }}) as period_number,
        max(account_user_days.activity_date) as last_active_date
    from account_user_days
    inner join day_periods
        on account_user_days.activity_date = day_periods.day_date
    group by
        account_user_days.account_id,
        account_user_days.user_id,
        day_periods.period_type,
        day_periods.period_number
),

period_offsets as (
    select cast(generated_number as {{ dbt.type_int() }}) - 1 as period_offset
    from ({{ dbt.generate_series(max_period_offset + 1) }}) as series
),

active_users as (
    select
        user_periods.account_id,
        periods.period_type,
        periods.period_number,
        count(distinct user_periods.user_id) as active_users_90d
    from user_periods
    cross join period_offsets
    inner join periods
        on user_periods.period_type = periods.period_type
            and user_periods.period_number + period_offsets.period_offset = periods.period_number
    where user_periods.last_active_date
        >= cast({{ dbt.dateadd('day', -(denominator_days - 1), 'periods.period_end_date') }} as date)
    group by
        user_periods.account_id,
        periods.period_type,
        periods.period_number
),

-- numerator side: uses per account × feature × user × period
feature_user_periods as (
    select
        account_user_feature_days.account_id,
        account_user_feature_days.feature_id,
        account_user_feature_days.user_id,
        day_periods.period_type,
        cast(day_periods.period_number as {{ dbt.type_int() }}) as period_number,
        sum(account_user_feature_days.uses) as uses,
        max(account_user_feature_days.max_depth_level) as max_depth_level
    from account_user_feature_days
    inner join day_periods
        on account_user_feature_days.activity_date = day_periods.day_date
    group by
        account_user_feature_days.account_id,
        account_user_feature_days.feature_id,
        account_user_feature_days.user_id,
        day_periods.period_type,
        day_periods.period_number
),

feature_periods as (
    select
        account_id,
        feature_id,
        period_type,
        period_number,
        count(*) as feature_users,
        sum(case when uses >= {{ var('adoption_min_uses') }} then 1 else 0 end) as adopting_users,
        sum(uses) as uses,
        max(max_depth_level) as depth_level,
        max(uses) as top_user_uses
    from feature_user_periods
    group by
        account_id,
        feature_id,
        period_type,
        period_number
),

account_feature_periods as (
    select
        account_periods.account_id,
        features.feature_id,
        account_periods.period_type,
        account_periods.period_number,
        account_periods.period_start_date,
        account_periods.period_end_date,
        account_periods.is_complete_period,
        coalesce(active_users.active_users_90d, 0) as active_users_90d,
        coalesce(feature_periods.feature_users, 0) as feature_users,
        coalesce(feature_periods.adopting_users, 0) as adopting_users,
        coalesce(feature_periods.uses, 0) as uses,
        coalesce(feature_periods.depth_level, 0) as depth_level,
        coalesce(feature_periods.top_user_uses, 0) as top_user_uses
    from account_periods
    cross join features
    left join active_users
        on account_periods.account_id = active_users.account_id
            and account_periods.period_type = active_users.period_type
            and account_periods.period_number = active_users.period_number
    left join feature_periods
        on account_periods.account_id = feature_periods.account_id
            and features.feature_id = feature_periods.feature_id
            and account_periods.period_type = feature_periods.period_type
            and account_periods.period_number = feature_periods.period_number
),

rates as (
    select
        *,
        {{ safe_divide('adopting_users', 'active_users_90d') }} as adoption_rate,
        {{ safe_divide('top_user_uses', 'uses') }} as top_user_share
    from account_feature_periods
),

compared as (
    select
        *,
        lag(adoption_rate) over (
            partition by account_id, feature_id, period_type
            order by period_number
        ) as previous_adoption_rate
    from rates
),

-- a decline: the rate is below the previous period's rate (both known) by at least
-- adoption_decline_min_change (0.10 = 10 points; 0 = any drop). A small margin absorbs floating-point
-- error, so a drop of exactly the threshold (0.9 -> 0.8) counts. The current, partial month is never a
-- decline and has no change (its rate counts fewer days, so it is lower by construction): it neither
-- extends nor breaks the streak, and carries the latest complete month's consecutive_declines.
declines as (
    select
        *,
        case when is_complete_period then adoption_rate - previous_adoption_rate end as adoption_rate_change,
        case
            when not is_complete_period then 0
            when
                adoption_rate < previous_adoption_rate
                and previous_adoption_rate - adoption_rate >= {{ var('adoption_decline_min_change') }} - 1e-9
                then 1
            else 0
        end as is_decline
    from compared
),

-- gaps and islands: every complete period that is not a decline starts a new streak
decline_streaks as (
    select
        *,
        sum(case when is_complete_period then 1 - is_decline else 0 end) over (
            partition by account_id, feature_id, period_type
            order by period_number
            rows between unbounded preceding and current row
        ) as streak_number
    from declines
),

streak_lengths as (
    select
        *,
        sum(is_decline) over (
            partition by account_id, feature_id, period_type, streak_number
            order by period_number
            rows between unbounded preceding and current row
        ) as consecutive_declines
    from decline_streaks
),

final as (
    select
        account_id,
        feature_id,
        period_type,
        period_number,
        period_start_date,
        period_end_date,
        is_complete_period,
        active_users_90d,
        feature_users,
        adopting_users,
        adoption_rate,
        uses,
        depth_level,
        coalesce(adoption_rate >= {{ var('adopted_rate_threshold') }}, false) as is_adopted,
        previous_adoption_rate,
        adoption_rate_change,
        consecutive_declines,
        consecutive_declines >= {{ var('declining_after_consecutive') }} as is_declining,
        top_user_uses,
        top_user_share,
        adopting_users >= 1
        and (
            (
                adopting_users <= {{ var('single_champion_max_users') }}
                and active_users_90d >= {{ var('single_champion_min_active_users') }}
            )
            or top_user_share > {{ var('single_champion_top_share') }}
        ) as is_single_champion
    from streak_lengths
)

select * from final
