-- Account × core feature × day (from the feature's release, or the account's first activity, to the
-- as-of date): adoption of the feature in the trailing window ending on the day (var
-- trailing_window_days), point in time. adopting_users = users with at least var adoption_min_uses
-- uses in the window; adoption_rate = adopting users / users active in the account in the var
-- adoption_denominator_days days ending on the day (SPEC); depth_level = deepest rung reached in the
-- window by any user. (Trend — declines — is judged on complete calendar months, see
-- int_account_health_inputs_daily.)
--
-- Adopting users per sliding window without a self-join: for a user's use day a, let k be var
-- adoption_min_uses and s the day of the user's k-th latest use counted back from a (uses on one
-- day all count). The user is adopting on the days [a, min(next use day, s + window)); one user's
-- intervals never overlap, so a running sum of +1/-1 markers counts adopting users per day.
{%- set window_days = var('trailing_window_days') %}
{%- set min_uses = var('adoption_min_uses') %}

with account_days as (
    select * from {{ ref('fct_account_activity_daily') }}
),

trailing_activity as (
    select * from {{ ref('int_account_trailing_activity_daily') }}
),

user_feature_days as (
    select * from {{ ref('int_account_user_feature_days') }}
),

features as (
    select * from {{ ref('features') }}
),

feature_events as (
    select * from {{ ref('feature_events') }}
),

core_features as (
    select
        features.feature_id,
        cast(features.released_at as date) as released_date,
        max(feature_events.depth_level) as ladder_depth
    from features
    inner join feature_events
        on features.feature_id = feature_events.feature_id
    where features.is_core
    group by
        features.feature_id,
        cast(features.released_at as date)
),

core_use_days as (
    select
        user_feature_days.account_id,
        user_feature_days.user_id,
        user_feature_days.feature_id,
        user_feature_days.activity_date,
        user_feature_days.uses,
        user_feature_days.max_depth_level
    from user_feature_days
    inner join core_features
        on user_feature_days.feature_id = core_features.feature_id
    where user_feature_days.activity_date <= {{ as_of_date_sql() }}
),

use_sequences as (
    select
        account_id,
        feature_id,
        activity_date,
        uses,
        {%- for back in range(1, min_uses) %}
            lag(activity_date, {{ back }}) over (
                partition by account_id, user_id, feature_id
                order by activity_date
            ) as use_date_back_{{ back }},
            lag(uses, {{ back }}) over (
                partition by account_id, user_id, feature_id
                order by activity_date
            ) as uses_back_{{ back }},
        {%- endfor %}
        lead(activity_date) over (
            partition by account_id, user_id, feature_id
            order by activity_date
        ) as next_use_date
    from core_use_days
),

kth_latest_uses as (
    -- the day of the k-th latest use counted back from this use day (null: fewer than k uses so far)
    select
        account_id,
        feature_id,
        activity_date,
        next_use_date,
        case
            when uses >= {{ min_uses }} then activity_date
            {%- for back in range(1, min_uses) %}
                when uses{% for step in range(1, back + 1) %} + uses_back_{{ step }}{% endfor %} >= {{ min_uses }}
                    then use_date_back_{{ back }}
            {%- endfor %}
        end as kth_latest_use_date
    from use_sequences
),

adopting_intervals as (
    select
        account_id,
        feature_id,
        activity_date as adopting_from,
        case
            when next_use_date < {{ dbt.dateadd('day', window_days, 'kth_latest_use_date') }} then next_use_date
            else cast({{ dbt.dateadd('day', window_days, 'kth_latest_use_date') }} as date)
        end as adopting_until
    from kth_latest_uses
    where kth_latest_use_date is not null
),

adopting_markers as (
    select
        account_id,
        feature_id,
        adopting_from as marker_date,
        1 as adopting_change
    from adopting_intervals
    where adopting_until > adopting_from
    union all
    select
        account_id,
        feature_id,
        adopting_until as marker_date,
        -1 as adopting_change
    from adopting_intervals
    where adopting_until > adopting_from
),

daily_adopting_changes as (
    select
        account_id,
        feature_id,
        marker_date,
        sum(adopting_change) as adopting_change
    from adopting_markers
    group by
        account_id,
        feature_id,
        marker_date
),

daily_feature_use as (
    select
        account_id,
        feature_id,
        activity_date,
        sum(uses) as uses,
        max(max_depth_level) as depth_level
    from core_use_days
    group by
        account_id,
        feature_id,
        activity_date
),

account_feature_days as (
    select
        account_days.account_id,
        core_features.feature_id,
        core_features.released_date,
        core_features.ladder_depth,
        account_days.activity_date
    from account_days
    cross join core_features
),

spine_with_use as (
    select
        account_feature_days.account_id,
        account_feature_days.feature_id,
        account_feature_days.released_date,
        account_feature_days.ladder_depth,
        account_feature_days.activity_date,
        coalesce(daily_adopting_changes.adopting_change, 0) as adopting_change,
        coalesce(daily_feature_use.uses, 0) as uses,
        coalesce(daily_feature_use.depth_level, 0) as depth_level
    from account_feature_days
    left join daily_adopting_changes
        on account_feature_days.account_id = daily_adopting_changes.account_id
            and account_feature_days.feature_id = daily_adopting_changes.feature_id
            and account_feature_days.activity_date = daily_adopting_changes.marker_date
    left join daily_feature_use
        on account_feature_days.account_id = daily_feature_use.account_id
            and account_feature_days.feature_id = daily_feature_use.feature_id
            and account_feature_days.activity_date = daily_feature_use.activity_date
),

trailing_window_use as (
    select
        account_id,
        feature_id,
        released_date,
        ladder_depth,
        activity_date,
        sum(adopting_change) over (
            partition by account_id, feature_id
            order by activity_date
            rows between unbounded preceding and current row
        ) as adopting_users,
        sum(uses) over (
            partition by account_id, feature_id
            order by activity_date
            rows between {{ window_days - 1 }} preceding and current row
        ) as uses_in_window,
        max(depth_level) over (
            partition by account_id, feature_id
            order by activity_date
            rows between {{ window_days - 1 }} preceding and current row
        ) as depth_in_window
    from spine_with_use
),

with_rate as (
    select
        trailing_window_use.*,
        trailing_activity.active_users_90d,
        {{ safe_divide('trailing_window_use.adopting_users', 'trailing_activity.active_users_90d') }} as adoption_rate
    from trailing_window_use
    inner join trailing_activity
        on trailing_window_use.account_id = trailing_activity.account_id
            and trailing_window_use.activity_date = trailing_activity.as_of_date
),

final as (
    select
        account_id,
        feature_id,
        activity_date as as_of_date,
        cast(adopting_users as {{ dbt.type_bigint() }}) as adopting_users,
        cast(active_users_90d as {{ dbt.type_bigint() }}) as active_users_90d,
        adoption_rate,
        coalesce(adoption_rate >= {{ var('adopted_rate_threshold') }}, false) as is_adopted,
        cast(uses_in_window as {{ dbt.type_bigint() }}) as uses,
        cast(depth_in_window as {{ dbt.type_bigint() }}) as depth_level,
        cast(ladder_depth as {{ dbt.type_bigint() }}) as ladder_depth
    from with_rate
    where released_date <= activity_date
)

select * from final
