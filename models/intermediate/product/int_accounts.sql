-- One row per Segment account: every account named by a group call or by an event's context_group_id.
-- Traits come from the latest group call that carried each trait (a call that omits a trait does not
-- erase it); latest = grouped_at, then received_at, then group_call_id. created_at is the created_at
-- trait, else the first group call, else the first attributed event.
with group_calls as (
    select * from {{ ref('stg_segment__groups') }}
),

attributed_events as (
    select * from {{ ref('int_events_attributed_to_accounts') }}
),

ranked_traits as (
    select
        account_id,
        account_name,
        plan,
        industry,
        employees,
        account_created_at,
        row_number() over (
            partition by account_id, case when account_name is null then 1 else 0 end
            order by grouped_at desc, received_at desc, group_call_id desc
        ) as account_name_rank,
        row_number() over (
            partition by account_id, case when plan is null then 1 else 0 end
            order by grouped_at desc, received_at desc, group_call_id desc
        ) as plan_rank,
        row_number() over (
            partition by account_id, case when industry is null then 1 else 0 end
            order by grouped_at desc, received_at desc, group_call_id desc
        ) as industry_rank,
        row_number() over (
            partition by account_id, case when employees is null then 1 else 0 end
            order by grouped_at desc, received_at desc, group_call_id desc
        ) as employees_rank,
        row_number() over (
            partition by account_id, case when account_created_at is null then 1 else 0 end
            order by grouped_at desc, received_at desc, group_call_id desc
        ) as created_at_rank
    from group_calls
),

latest_traits as (
    select
        account_id,
        max(case when account_name_rank = 1 then account_name end) as account_name,
        max(case when plan_rank = 1 then plan end) as plan,
        max(case when industry_rank = 1 then industry end) as industry,
        max(case when employees_rank = 1 then employees end) as employees,
        max(case when created_at_rank = 1 then account_created_at end) as created_at_trait
    from ranked_traits
    group by account_id
),

group_call_times as (
    select
        account_id,
        min(grouped_at) as first_group_call_at,
        max(grouped_at) as last_group_call_at,
        count(*) as group_calls
    from group_calls
    group by account_id
),

event_times as (
    select
        account_id,
        min(event_at) as first_event_at,
        max(event_at) as last_event_at
    from attributed_events
    where account_id is not null
    group by account_id
),

seen_times as (
    select
        account_id,
        first_group_call_at as first_at,
        last_group_call_at as last_at
    from group_call_times
    union all
    select
        account_id,
        first_event_at as first_at,
        last_event_at as last_at
    from event_times
),

seen as (
    select
        account_id,
        min(first_at) as first_seen_at,
        max(last_at) as last_seen_at
    from seen_times
    group by account_id
),

final as (
    select
        seen.account_id,
        latest_traits.account_name,
        latest_traits.plan,
        latest_traits.industry,
        latest_traits.employees,
        {{ segment_band('latest_traits.employees') }} as segment,
        coalesce(latest_traits.created_at_trait, group_call_times.first_group_call_at, event_times.first_event_at) as created_at,
        seen.first_seen_at,
        seen.last_seen_at,
        group_call_times.first_group_call_at,
        group_call_times.last_group_call_at,
        event_times.first_event_at,
        event_times.last_event_at,
        coalesce(group_call_times.group_calls, 0) as group_calls
    from seen
    left join latest_traits
        on seen.account_id = latest_traits.account_id
    left join group_call_times
        on seen.account_id = group_call_times.account_id
    left join event_times
        on seen.account_id = event_times.account_id
)

select * from final
