-- Membership timeline: one row per stretch of time a user belonged to an account, from group calls.
-- A group call to another account moves the user (the previous membership ends at that instant);
-- repeated calls to the same account extend one membership; returning later opens a new one.
-- So at any instant after a user's first group call exactly one membership is valid: the one of the
-- most recent group call at or before that instant. Of several calls by one user at the same
-- instant only the last received takes effect. Role: the latest role trait identified before the
-- membership ended (else the first one identified afterwards).
with group_calls as (
    select * from {{ ref('stg_segment__groups') }}
),

identifies as (
    select * from {{ ref('stg_segment__identifies') }}
),

stitched_anonymous_ids as (
    select * from {{ ref('int_anonymous_ids_stitched_to_users') }}
),

-- a group call without user_id belongs to the user its anonymous id was identified as at the call
-- (int_anonymous_ids_stitched_to_users: period 1 also covers everything before its first claim)
calls_with_users as (
    select
        group_calls.group_call_id,
        coalesce(group_calls.user_id, stitched_anonymous_ids.user_id) as user_id,
        group_calls.account_id,
        group_calls.grouped_at,
        group_calls.received_at
    from group_calls
    left join stitched_anonymous_ids
        on group_calls.user_id is null
            and group_calls.anonymous_id = stitched_anonymous_ids.anonymous_id
            and {{ within_stitched_period('group_calls.grouped_at', 'stitched_anonymous_ids') }}
),

ranked_within_instant as (
    select
        *,
        row_number() over (
            partition by user_id, grouped_at
            order by received_at desc, group_call_id desc
        ) as instant_rank
    from calls_with_users
    where user_id is not null
),

effective_calls as (
    select
        group_call_id,
        user_id,
        account_id,
        grouped_at
    from ranked_within_instant
    where instant_rank = 1
),

flagged_moves as (
    select
        *,
        case
            when account_id = lag(account_id) over (partition by user_id order by grouped_at) then 0
            else 1
        end as starts_membership
    from effective_calls
),

numbered as (
    select
        *,
        cast(sum(starts_membership) over (
            partition by user_id
            order by grouped_at
            rows between unbounded preceding and current row
        ) as {{ dbt.type_bigint() }}) as membership_number
    from flagged_moves
),

memberships as (
    select
        user_id,
        account_id,
        membership_number,
        min(grouped_at) as valid_from,
        max(grouped_at) as last_group_call_at,
        cast(count(*) as {{ dbt.type_bigint() }}) as group_calls
    from numbered
    group by
        user_id,
        account_id,
        membership_number
),

timeline as (
    select
        *,
        lead(valid_from) over (partition by user_id order by membership_number) as valid_to
    from memberships
),

role_traits as (
    select
        identify_id,
        user_id,
        user_role,
        identified_at,
        received_at
    from identifies
    where user_role is not null
),

role_candidates as (
    select
        timeline.user_id,
        timeline.membership_number,
        role_traits.user_role,
        row_number() over (
            partition by timeline.user_id, timeline.membership_number
            order by
                case when timeline.valid_to is null or role_traits.identified_at < timeline.valid_to then 0 else 1 end,
                case
                    when timeline.valid_to is null or role_traits.identified_at < timeline.valid_to
                        then role_traits.identified_at
                end desc,
                role_traits.identified_at,
                role_traits.received_at desc,
                role_traits.identify_id desc
        ) as role_rank
    from timeline
    inner join role_traits
        on timeline.user_id = role_traits.user_id
),

final as (
    select
        timeline.user_id,
        timeline.account_id,
        timeline.membership_number,
        timeline.valid_from,
        timeline.valid_to,
        timeline.valid_to is null as is_current,
        timeline.last_group_call_at,
        timeline.group_calls,
        role_candidates.user_role
    from timeline
    left join role_candidates
        on timeline.user_id = role_candidates.user_id
            and timeline.membership_number = role_candidates.membership_number
            and role_candidates.role_rank = 1
)

select * from final
