-- Account × user × day activity: the pre-aggregate every "active users" metric reads.
-- Only attributed events of identified users count (an active user needs a user id); core-feature
-- events are track events whose slug belongs to a core feature in seeds features/feature_events
-- (counted once even when a slug belongs to several features).
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

flagged_events as (
    select
        attributed_events.account_id,
        attributed_events.user_id,
        attributed_events.event_date,
        attributed_events.event_source,
        attributed_events.event_source = 'track' and core_event_names.event_name is not null as is_core_feature_event
    from attributed_events
    left join core_event_names
        on attributed_events.event_name = core_event_names.event_name
    where attributed_events.account_id is not null
        and attributed_events.user_id is not null
),

final as (
    select
        account_id,
        user_id,
        event_date as activity_date,
        cast(count(*) as {{ dbt.type_bigint() }}) as events,
        cast(sum(case when event_source = 'track' then 1 else 0 end) as {{ dbt.type_bigint() }}) as track_events,
        cast(sum(case when event_source = 'page' then 1 else 0 end) as {{ dbt.type_bigint() }}) as page_events,
        cast(sum(case when is_core_feature_event then 1 else 0 end) as {{ dbt.type_bigint() }}) as core_feature_events
    from flagged_events
    group by
        account_id,
        user_id,
        event_date
)

select * from final
