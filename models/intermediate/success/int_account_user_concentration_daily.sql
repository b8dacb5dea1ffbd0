-- Account × day: how concentrated the account's activity is on one user, point in time.
-- top_user_share = the busiest user's share of the account's events in the trailing window ending
-- on the day (var trailing_window_days; events of identified users, so the shares of all users add
-- up to 1). Silent champion: a user whose last active day L (so far) ended a trailing window in
-- which they made more than var champion_event_share of the account's events ("the prior 30
-- days"), among at least two users with events, who then stayed silent for var
-- champion_silent_days days while the account kept being used (an event of someone else in those
-- days). They are the account's silent champion from L + champion_silent_days until the day they
-- are active again. A user alone is not a champion over anyone, and an account gone quiet
-- altogether is the dormant and engagement alerts' business. The share is taken once, at L, so the
-- condition does not flicker as the window slides on.
--
-- Per-user trailing event counts without expanding every event over the window: a user's count
-- only changes on an activity day a (+events) and on a + window (-events). Between two change
-- points it is constant, so each user is a handful of segments (at most window days long while
-- they hold events), expanded to the days they cover with a small table of day offsets.
{%- set window_days = var('trailing_window_days') %}
{%- set silent_days = var('champion_silent_days') %}

with account_days as (
    select * from {{ ref('fct_account_activity_daily') }}
),

user_days as (
    select * from {{ ref('int_account_user_days') }}
),

user_days_until_as_of as (
    select
        account_id,
        user_id,
        activity_date,
        events,
        lead(activity_date) over (
            partition by account_id, user_id
            order by activity_date
        ) as next_activity_date
    from user_days
    where activity_date <= {{ as_of_date_sql() }}
),

event_changes as (
    select
        account_id,
        user_id,
        activity_date as change_date,
        events as events_change,
        1 as is_activity_day,
        next_activity_date
    from user_days_until_as_of
    union all
    select
        account_id,
        user_id,
        cast({{ dbt.dateadd('day', window_days, 'activity_date') }} as date) as change_date,
        -1 * events as events_change,
        0 as is_activity_day,
        cast(null as date) as next_activity_date
    from user_days_until_as_of
),

change_points as (
    select
        account_id,
        user_id,
        change_date,
        sum(events_change) as events_change,
        max(is_activity_day) as is_activity_day,
        max(next_activity_date) as next_activity_date
    from event_changes
    group by
        account_id,
        user_id,
        change_date
),

user_segments as (
    select
        account_id,
        user_id,
        change_date as segment_from,
        is_activity_day as starts_on_activity_day,
        next_activity_date,
        lead(change_date) over (
            partition by account_id, user_id
            order by change_date
        ) as segment_until,
        sum(events_change) over (
            partition by account_id, user_id
            order by change_date
            rows between unbounded preceding and current row
        ) as user_events_in_window
    from change_points
),

day_offsets as (
    -- a segment with events lasts at most window_days days: its events drop out by then
    select integer_value as day_offset
    from ({{ integer_series(4) }}) as integers
    where integer_value < {{ window_days }}
),

user_window_days as (
    select
        user_segments.account_id,
        user_segments.user_id,
        cast({{ dbt.dateadd('day', 'day_offsets.day_offset', 'user_segments.segment_from') }} as date) as activity_date,
        user_segments.user_events_in_window,
        user_segments.starts_on_activity_day = 1 and day_offsets.day_offset = 0 as is_activity_day,
        user_segments.next_activity_date
    from user_segments
    inner join day_offsets
        on day_offsets.day_offset < {{ dbt.datediff('user_segments.segment_from', 'user_segments.segment_until', 'day') }}
    where user_segments.user_events_in_window > 0
),

user_window_days_flagged as (
    select
        user_window_days.account_id,
        user_window_days.user_id,
        user_window_days.activity_date,
        user_window_days.user_events_in_window,
        sum(user_window_days.user_events_in_window) over (
            partition by user_window_days.account_id, user_window_days.activity_date
        ) as account_events_in_window,
        count(*) over (
            partition by user_window_days.account_id, user_window_days.activity_date
        ) as users_in_window,
        case when user_window_days.is_activity_day then user_window_days.activity_date end as active_date,
        -- on an activity day: the user's next activity day (null: none up to the as-of date)
        case when user_window_days.is_activity_day then user_window_days.next_activity_date end as next_active_date
    from user_window_days
    inner join account_days
        on user_window_days.account_id = account_days.account_id
            and user_window_days.activity_date = account_days.activity_date
),

user_shares as (
    select
        account_id,
        user_id,
        activity_date,
        user_events_in_window,
        account_events_in_window,
        users_in_window,
        {{ safe_divide('user_events_in_window', 'account_events_in_window') }} as event_share,
        active_date,
        next_active_date
    from user_window_days_flagged
),

account_days_ahead as (
    -- events of the account in the silent_days days after each day
    select
        account_id,
        activity_date,
        coalesce(sum(events) over (
            partition by account_id
            order by activity_date
            rows between 1 following and {{ silent_days }} following
        ), 0) as events_in_following_days
    from account_days
),

ranked_users as (
    select
        *,
        row_number() over (
            partition by account_id, activity_date
            order by user_events_in_window desc, user_id asc
        ) as user_rank
    from user_shares
),

top_users as (
    select
        account_id,
        activity_date,
        user_id as top_user_id,
        event_share as top_user_share,
        account_events_in_window,
        users_in_window
    from ranked_users
    where user_rank = 1
),

champion_silences as (
    -- a champion's last active day before a silence of at least silent_days days while others went on
    select
        ranked_users.account_id,
        ranked_users.user_id,
        ranked_users.event_share,
        cast({{ dbt.dateadd('day', silent_days, 'ranked_users.activity_date') }} as date) as silent_from,
        ranked_users.next_active_date as silent_until
    from ranked_users
    inner join account_days_ahead
        on ranked_users.account_id = account_days_ahead.account_id
            and ranked_users.activity_date = account_days_ahead.activity_date
    where ranked_users.active_date is not null
        and ranked_users.user_rank = 1
        and ranked_users.users_in_window >= 2
        and ranked_users.event_share > {{ var('champion_event_share') }}
        and account_days_ahead.events_in_following_days > 0
        and (
            ranked_users.next_active_date is null
            or ranked_users.next_active_date > {{ dbt.dateadd('day', silent_days, 'ranked_users.activity_date') }}
        )
),

silent_champion_days as (
    -- each silence covers [silent_from, silent_until); should two overlap, the larger share is shown
    select
        account_days.account_id,
        account_days.activity_date,
        champion_silences.user_id,
        champion_silences.event_share,
        row_number() over (
            partition by account_days.account_id, account_days.activity_date
            order by champion_silences.event_share desc, champion_silences.user_id asc
        ) as champion_rank
    from champion_silences
    inner join account_days
        on champion_silences.account_id = account_days.account_id
            and account_days.activity_date >= champion_silences.silent_from
            and (champion_silences.silent_until is null or account_days.activity_date < champion_silences.silent_until)
),

champions_going_silent as (
    select
        account_id,
        activity_date as silent_champion_date,
        user_id,
        event_share
    from silent_champion_days
    where champion_rank = 1
),

final as (
    select
        account_days.account_id,
        account_days.activity_date as as_of_date,
        top_users.top_user_id,
        top_users.top_user_share,
        cast(coalesce(top_users.users_in_window, 0) as {{ dbt.type_bigint() }}) as users_with_events,
        champions_going_silent.user_id as silent_champion_user_id,
        champions_going_silent.event_share as silent_champion_event_share,
        champions_going_silent.user_id is not null as has_silent_champion
    from account_days
    left join top_users
        on account_days.account_id = top_users.account_id
            and account_days.activity_date = top_users.activity_date
    left join champions_going_silent
        on account_days.account_id = champions_going_silent.account_id
            and account_days.activity_date = champions_going_silent.silent_champion_date
)

select * from final
