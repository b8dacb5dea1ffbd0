-- Account × user × feature × day: how often the user used the feature in that account that day
-- (uses) and the deepest rung of the feature's ladder they reached (max_depth_level). Built from
-- attributed track events of identified users whose slug is listed in seeds/feature_events; a slug
-- listed under two features counts once for each. The pre-aggregate every adoption metric reads:
-- events are scanned once here, everything downstream works on user-days.
with attributed_events as (
    select * from {{ ref('int_events_attributed_to_accounts') }}
),

feature_events as (
    select * from {{ ref('feature_events') }}
),

attributed_tracks as (
    select
        account_id,
        user_id,
        event_name,
        event_date
    from attributed_events
    where event_source = 'track'
        and account_id is not null
        and user_id is not null
),

feature_uses as (
    select
        attributed_tracks.account_id,
        attributed_tracks.user_id,
        feature_events.feature_id,
        attributed_tracks.event_date as activity_date,
        count(*) as uses,
        max(feature_events.depth_level) as max_depth_level
    from attributed_tracks
    inner join feature_events
        on attributed_tracks.event_name = feature_events.event_name
    group by
        attributed_tracks.account_id,
        attributed_tracks.user_id,
        feature_events.feature_id,
        attributed_tracks.event_date
),

final as (
    select
        account_id,
        user_id,
        feature_id,
        activity_date,
        uses,
        max_depth_level
    from feature_uses
)

select * from final
