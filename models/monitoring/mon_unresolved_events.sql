-- Events that resolved to no account, by event day, reason and source: kept in
-- int_events_attributed_to_accounts (attribution_method = 'unresolved'), counted here, never dropped.
-- Reasons: anonymous_never_identified (no user_id and the anonymous id was never identified, no
-- context_group_id); user_without_group_call (a known user with no group call and no context_group_id).
with attributed_events as (
    select * from {{ ref('int_events_attributed_to_accounts') }}
),

unresolved as (
    select
        event_date,
        case
            when user_id is null then 'anonymous_never_identified'
            else 'user_without_group_call'
        end as unresolved_reason,
        event_source,
        user_id,
        anonymous_id
    from attributed_events
    where attribution_method = 'unresolved'
),

final as (
    select
        event_date,
        unresolved_reason,
        event_source,
        cast(count(*) as {{ dbt.type_bigint() }}) as events,
        cast(count(distinct user_id) as {{ dbt.type_bigint() }}) as users,
        cast(count(distinct anonymous_id) as {{ dbt.type_bigint() }}) as anonymous_ids
    from unresolved
    group by
        event_date,
        unresolved_reason,
        event_source
)

select * from final
