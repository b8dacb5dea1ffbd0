{{ replace_days_config() }}
-- Account × user × day activity: the pre-aggregate every "active users" metric reads.
-- Only attributed events of identified users count (an active user needs a user id); core-feature
-- events are track events whose slug belongs to a core feature in seeds features/feature_events
-- (counted once even when a slug belongs to several features).
-- Incremental runs rebuild only the days holding newly (re)attributed events: macros/replace_days.sql.
with attributed_events as (
    select * from {{ ref('int_events_attributed_to_accounts') }}
),

features as (
    select * from {{ ref('features') }}
),

feature_events as (
    select * from {{ ref('feature_events') }}
),

core_event_names as (
    select distinct feature_events.event_name
    from feature_events
    inner join features
        on feature_events.feature_id = features.feature_id
    where features.is_core
),

catalog as (
    select {{ catalog_fingerprint('event_name') }} as catalog_fingerprint
    from core_event_names
),

{{ attributed_events_to_replace('attributed_events', ref('int_events_attributed_to_accounts'), 'catalog', is_incremental()) }}

flagged_events as (
    select
        batch_events.account_id,
        batch_events.user_id,
        batch_events.event_date,
        batch_events.event_source,
        batch_events.attributed_at,
        batch_events.event_source = 'track' and core_event_names.event_name is not null as is_core_feature_event
    from batch_events
    left join core_event_names
        on batch_events.event_name = core_event_names.event_name
    where batch_events.account_id is not null
        and batch_events.user_id is not null
),

user_days as (
    select
        account_id,
        user_id,
        event_date as activity_date,
        cast(count(*) as {{ dbt.type_bigint() }}) as events,
        cast(sum(case when event_source = 'track' then 1 else 0 end) as {{ dbt.type_bigint() }}) as track_events,
        cast(sum(case when event_source = 'page' then 1 else 0 end) as {{ dbt.type_bigint() }}) as page_events,
        cast(sum(case when event_source = 'screen' then 1 else 0 end) as {{ dbt.type_bigint() }}) as screen_events,
        cast(sum(case when is_core_feature_event then 1 else 0 end) as {{ dbt.type_bigint() }}) as core_feature_events,
        max(attributed_at) as attributed_at
    from flagged_events
    group by
        account_id,
        user_id,
        event_date
),

final as (
    select
        user_days.account_id,
        user_days.user_id,
        user_days.activity_date,
        user_days.events,
        user_days.track_events,
        user_days.page_events,
        user_days.screen_events,
        user_days.core_feature_events,
        user_days.attributed_at,
        catalog.catalog_fingerprint
    from user_days
    cross join catalog
)

{{ select_replacing_days('final', is_incremental()) }}
