-- Identity stitching: every anonymous_id that was ever seen together with a user_id, mapped to one
-- user. Evidence ("claims"): identify calls and any track, page or group call carrying both ids.
-- Tie-break when several users claimed the same anonymous id: the earliest claim wins (then the
-- smallest user_id), so a device's pre-login history goes to the first person who logged in on it
-- and a later login by someone else never moves history that was already attributed.
with identifies as (
    select * from {{ ref('stg_segment__identifies') }}
),

tracks as (
    select * from {{ ref('stg_segment__tracks') }}
),

pages as (
    select * from {{ ref('stg_segment__pages') }}
),

group_calls as (
    select * from {{ ref('stg_segment__groups') }}
),

claims as (
    select
        anonymous_id,
        user_id,
        identified_at as claimed_at
    from identifies
    where anonymous_id is not null
    union all
    select
        anonymous_id,
        user_id,
        event_at as claimed_at
    from tracks
    where anonymous_id is not null
        and user_id is not null
    union all
    select
        anonymous_id,
        user_id,
        event_at as claimed_at
    from pages
    where anonymous_id is not null
        and user_id is not null
    union all
    select
        anonymous_id,
        user_id,
        grouped_at as claimed_at
    from group_calls
    where anonymous_id is not null
        and user_id is not null
),

-- aggregate before ranking: identified events carry both ids, so claims are as many as events
claims_per_user as (
    select
        anonymous_id,
        user_id,
        min(claimed_at) as first_claimed_at
    from claims
    group by
        anonymous_id,
        user_id
),

ranked as (
    select
        anonymous_id,
        user_id,
        first_claimed_at,
        count(*) over (partition by anonymous_id) as claiming_users,
        row_number() over (
            partition by anonymous_id
            order by first_claimed_at, user_id
        ) as claim_rank
    from claims_per_user
),

final as (
    select
        anonymous_id,
        user_id,
        first_claimed_at as identified_at,
        claiming_users,
        claiming_users > 1 as has_conflicting_claims
    from ranked
    where claim_rank = 1
)

select * from final
