{{ replace_days_config() }}
-- Account × user × feature × day: how often the user used the feature in that account that day
-- (uses) and the deepest rung of the feature's ladder they reached (max_depth_level). Built from
-- attributed track events of identified users whose slug is listed in seeds/feature_events; a slug
-- listed under two features counts once for each. The pre-aggregate every adoption metric reads:
-- events are scanned once here, everything downstream works on user-days.
-- Incremental runs rebuild only the days holding newly (re)attributed events: macros/replace_days.sql.
with attributed_events as (
    select * from {{ ref('int_events_attributed_to_accounts') }}
),

feature_events as (
    select * from {{ ref('feature_events') }}
),

catalog as (
    select
        {{ catalog_fingerprint(
            "feature_id || ':' || event_name || ':' || cast(depth_level as " ~ dbt.type_string() ~ ")"
        ) }} as catalog_fingerprint
    from feature_events
),

{{ attributed_events_to_replace('attributed_events', ref('int_events_attributed_to_accounts'), 'catalog', is_incremental()) }}

attributed_tracks as (
    select
        account_id,
        user_id,
        event_name,
        event_date,
        attributed_at
    from batch_events
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
        max(feature_events.depth_level) as max_depth_level,
        max(attributed_tracks.attributed_at) as attributed_at
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
        feature_uses.account_id,
        feature_uses.user_id,
        feature_uses.feature_id,
        feature_uses.activity_date,
        feature_uses.uses,
        feature_uses.max_depth_level,
        feature_uses.attributed_at,
        catalog.catalog_fingerprint
    from feature_uses
    cross join catalog
)

{{ select_replacing_days('final', is_incremental()) }}
