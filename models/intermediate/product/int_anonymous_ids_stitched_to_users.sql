-- Identity stitching: every anonymous_id that was ever seen together with a user_id, as a timeline of
-- who it belonged to. Evidence ("claims"): identify calls and any track, page, screen or group call
-- carrying both ids. An anonymous id claimed by one user belongs to that user at all times. A shared
-- device (an anonymous id claimed by several users) belongs at any instant to the user of the most recent claim at
-- or before it; before its first claim, to the first claimer (a device's pre-login history goes to the
-- first person who logged in on it). Two users are never merged: only events without user_id are
-- stitched. One row per anonymous id and period (period 1 also covers everything before its first claim).

with claims as (
    select
        anonymous_id,
        user_id,
        identified_at as claimed_at
    from {{ ref('stg_segment__identifies') }}
    where anonymous_id is not null
        and user_id is not null
    union all
    select
        anonymous_id,
        user_id,
        event_at as claimed_at
    from {{ ref('stg_segment__tracks') }}
    where anonymous_id is not null
        and user_id is not null
    union all
    select
        anonymous_id,
        user_id,
        event_at as claimed_at
    from {{ ref('stg_segment__pages') }}
    where anonymous_id is not null
        and user_id is not null
    union all
    select
        anonymous_id,
        user_id,
        event_at as claimed_at
    from {{ ref('stg_segment__screens') }}
    where anonymous_id is not null
        and user_id is not null
    union all
    select
        anonymous_id,
        user_id,
        grouped_at as claimed_at
    from {{ ref('stg_segment__groups') }}
    where anonymous_id is not null
        and user_id is not null
),

-- aggregate before anything else: identified events carry both ids, so claims are as many as events
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

claimants as (
    select
        anonymous_id,
        user_id,
        first_claimed_at,
        count(*) over (partition by anonymous_id) as claiming_users,
        min(first_claimed_at) over (partition by anonymous_id) as identified_at
    from claims_per_user
),

shared_anonymous_ids as (
    select distinct anonymous_id
    from claimants
    where claiming_users > 1
),

-- shared devices (rare): their whole claim sequence. The staging tables are read again, filtered to
-- these anonymous ids, instead of reusing `claims`: a CTE with two readers is materialised by DuckDB,
-- i.e. every identified event of history.
shared_claims as (
    select
        anonymous_id,
        user_id,
        identified_at as claimed_at
    from {{ ref('stg_segment__identifies') }}
    where user_id is not null
        and anonymous_id in (select shared_anonymous_ids.anonymous_id from shared_anonymous_ids)
    union all
    select
        anonymous_id,
        user_id,
        event_at as claimed_at
    from {{ ref('stg_segment__tracks') }}
    where user_id is not null
        and anonymous_id in (select shared_anonymous_ids.anonymous_id from shared_anonymous_ids)
    union all
    select
        anonymous_id,
        user_id,
        event_at as claimed_at
    from {{ ref('stg_segment__pages') }}
    where user_id is not null
        and anonymous_id in (select shared_anonymous_ids.anonymous_id from shared_anonymous_ids)
    union all
    select
        anonymous_id,
        user_id,
        event_at as claimed_at
    from {{ ref('stg_segment__screens') }}
    where user_id is not null
        and anonymous_id in (select shared_anonymous_ids.anonymous_id from shared_anonymous_ids)
    union all
    select
        anonymous_id,
        user_id,
        grouped_at as claimed_at
    from {{ ref('stg_segment__groups') }}
    where user_id is not null
        and anonymous_id in (select shared_anonymous_ids.anonymous_id from shared_anonymous_ids)
),

-- a period starts at each claim by another user than the claim before (claims at one instant: smallest
-- user_id first)
shared_claim_switches as (
    select
        anonymous_id,
        user_id,
        claimed_at,
        case
            when user_id = lag(user_id) over (partition by anonymous_id order by claimed_at, user_id) then 0
            else 1
        end as starts_period
    from shared_claims
),

shared_claim_periods as (
    select
        anonymous_id,
        user_id,
        claimed_at,
        sum(starts_period) over (
            partition by anonymous_id
            order by claimed_at, user_id
            rows between unbounded preceding and current row
        ) as period_number
    from shared_claim_switches
),

periods as (
    select
        anonymous_id,
        cast(1 as {{ dbt.type_bigint() }}) as period_number,
        user_id,
        first_claimed_at as valid_from
    from claimants
    where claiming_users = 1
    union all
    select
        anonymous_id,
        cast(period_number as {{ dbt.type_bigint() }}) as period_number,
        min(user_id) as user_id,
        min(claimed_at) as valid_from
    from shared_claim_periods
    group by
        anonymous_id,
        period_number
),

anonymous_ids as (
    select
        anonymous_id,
        min(identified_at) as identified_at,
        min(claiming_users) as claiming_users
    from claimants
    group by anonymous_id
),

final as (
    select
        periods.anonymous_id,
        periods.period_number,
        periods.user_id,
        periods.valid_from,
        lead(periods.valid_from) over (
            partition by periods.anonymous_id
            order by periods.period_number
        ) as valid_to,
        anonymous_ids.identified_at,
        anonymous_ids.claiming_users,
        anonymous_ids.claiming_users > 1 as has_conflicting_claims
    from periods
    inner join anonymous_ids
        on periods.anonymous_id = anonymous_ids.anonymous_id
)

select * from final
