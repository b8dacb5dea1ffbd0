{#- Spark (parquet, no Delta here): rewrite whole event_date partitions; Databricks (Delta): merge -#}
{{
    config(
        materialized='incremental',
        unique_key='event_id',
        incremental_strategy=(
            'insert_overwrite' if target.type == 'spark'
            else 'merge' if target.type == 'databricks'
            else 'delete+insert'
        ),
        partition_by=(['event_date'] if target.type == 'spark' else none),
        file_format=('parquet' if target.type == 'spark' else none),
    )
}}
-- Every kept track, page and screen event (a mobile app's page view) with the user it belongs to and the
-- account it counts for.
-- user_id: the event's own user_id, else the user its anonymous_id was identified as at the event (a
-- shared device: the user of the most recent claim at or before it, see int_anonymous_ids_stitched_to_users).
-- account_id, in order: the event's context_group_id ('context_group'); else the account of the
-- user's membership valid at event time, i.e. of the most recent group call at or before the
-- event, a call at the same instant already applying; events before the user's first group call
-- go to that first call's account ('membership'); else null ('unresolved', kept and counted in
-- mon_unresolved_events). One pass: a hash join on the identity map and a range join on the
-- membership timeline.
--
-- Incremental runs reprocess (delete+insert on event_id; on Spark every event of the event dates
-- these touch, overwriting those event_date partitions):
--   * every event received in the last `lookback_days` days before the latest received_at loaded
--     (late events land by received_at; a duplicate delivery keeps its first delivery's row);
--   * every event of an anonymous id whose identity may have changed: a claim (identify, or any
--     call carrying both ids) received in that window at or before the anonymous id's first claim, or
--     any such claim of a shared device (several claiming users);
--   * every event of a user whose membership timeline may have changed: a group call received in
--     that window that starts a membership or shares its instant with another call of the user (a
--     call repeating the membership in force moves nothing), an anonymous group call of a
--     re-identified anonymous id, or a user who held a re-identified anonymous id before.
-- That is exactly what can move an older event, so an incremental run equals a full refresh
-- (orchestration/tests/test_attribution_incremental.py) as long as received_at only moves forward.
with tracks as (
    select * from {{ ref('stg_segment__tracks') }}
),

pages as (
    select * from {{ ref('stg_segment__pages') }}
),

-- empty where the warehouse has no screens table (no mobile source)
screens as (
    select * from {{ ref('stg_segment__screens') }}
),

stitched_anonymous_ids as (
    select * from {{ ref('int_anonymous_ids_stitched_to_users') }}
),

memberships as (
    select * from {{ ref('int_account_memberships') }}
),

-- depends_on: {{ ref('stg_segment__groups') }}
-- depends_on: {{ ref('stg_segment__identifies') }}
{%- if is_incremental() %}

-- read by incremental runs only (identity and membership changes)
group_calls as (
    select * from {{ ref('stg_segment__groups') }}
),

identifies as (
    select * from {{ ref('stg_segment__identifies') }}
),
{%- endif %}

events as (
    select
        event_id,
        cast('track' as {{ dbt.type_string() }}) as event_source,
        user_id,
        anonymous_id,
        context_group_id,
        event_name,
        event_at,
        received_at
    from tracks
    union all
    select
        page_view_id as event_id,
        cast('page' as {{ dbt.type_string() }}) as event_source,
        user_id,
        anonymous_id,
        context_group_id,
        cast('page_viewed' as {{ dbt.type_string() }}) as event_name,
        event_at,
        received_at
    from pages
    union all
    select
        screen_view_id as event_id,
        cast('screen' as {{ dbt.type_string() }}) as event_source,
        user_id,
        anonymous_id,
        context_group_id,
        cast('screen_viewed' as {{ dbt.type_string() }}) as event_name,
        event_at,
        received_at
    from screens
),

-- the linter lays out only the rendered (full-refresh) branch; the incremental CTEs are laid out by hand
-- noqa: disable=LT02
{%- if is_incremental() %}

reprocess_window as (
    select
        {{ dbt.dateadd(
            'day',
            -1 * var('lookback_days'),
            'coalesce(max(received_at), cast(\'1900-01-01\' as ' ~ dbt.type_timestamp() ~ '))'
        ) }} as received_from
    from {{ this }}
),

recent_claims as (
    select
        anonymous_id,
        identified_at as claimed_at
    from identifies
    where anonymous_id is not null
        and received_at >= (select received_from from reprocess_window)
    -- any call carrying both ids. The staging tables are read here directly, not through the `events`,
    -- `tracks` or `pages` CTEs: DuckDB materialises a CTE with two readers, i.e. every event of history
    -- (2.7 GB at 10M events; spilled to disk at 100M) instead of streaming this filter.
    {%- set claim_sources = [
        (ref('stg_segment__tracks'), 'event_at'),
        (ref('stg_segment__pages'), 'event_at'),
        (ref('stg_segment__screens'), 'event_at'),
        ('group_calls', 'grouped_at'),
    ] %}
    {%- for calls, claimed_at in claim_sources %}
    union all
    select
        anonymous_id,
        {{ claimed_at }} as claimed_at
    from {{ calls }}
    where anonymous_id is not null
        and user_id is not null
        and received_at >= (select received_from from reprocess_window)
    {%- endfor %}
),

-- an anonymous id claimed by one user belongs to it at all times: a claim later than its first claim
-- cannot change that; on a shared device (several claiming users) any claim can move a period boundary
reidentified_anonymous_ids as (
    select distinct recent_claims.anonymous_id
    from recent_claims
    inner join stitched_anonymous_ids
        on recent_claims.anonymous_id = stitched_anonymous_ids.anonymous_id
            and stitched_anonymous_ids.period_number = 1
    where recent_claims.claimed_at <= stitched_anonymous_ids.identified_at
        or stitched_anonymous_ids.has_conflicting_claims
),

-- every group call with its user (an anonymous call: the user its anonymous id was identified as)
resolved_group_calls as (
    select
        coalesce(group_calls.user_id, stitched_anonymous_ids.user_id) as user_id,
        group_calls.anonymous_id,
        group_calls.user_id is null as is_anonymous_call,
        group_calls.account_id,
        group_calls.grouped_at,
        group_calls.received_at >= (select received_from from reprocess_window) as is_recent
    from group_calls
    left join stitched_anonymous_ids
        on group_calls.user_id is null
            and group_calls.anonymous_id = stitched_anonymous_ids.anonymous_id
            and {{ within_stitched_period('group_calls.grouped_at', 'stitched_anonymous_ids') }}
),

first_older_group_calls as (
    select
        user_id,
        min(grouped_at) as first_older_call_at
    from resolved_group_calls
    where not is_recent
        and user_id is not null
    group by user_id
),

shared_group_call_instants as (
    select
        user_id,
        grouped_at
    from resolved_group_calls
    where user_id is not null
    group by
        user_id,
        grouped_at
    having count(*) > 1
),

-- A recent group call can move events only when it changes the user's membership timeline. Segment
-- sends a group call at the start of most sessions, so most recent calls repeat the membership in
-- force: such a call starts no membership (int_account_memberships merges it into the running one)
-- and shares its instant with no other call of the user (of calls at one instant only the last
-- received counts, which could merge or split memberships). A call that starts the user's first
-- membership moves nothing either when an older call already held that membership: the first
-- membership covers everything before it. Every other recent call moves its user's events.
moving_group_calls as (
    select recent_calls.user_id
    from resolved_group_calls as recent_calls
    left join shared_group_call_instants
        on recent_calls.user_id = shared_group_call_instants.user_id
            and recent_calls.grouped_at = shared_group_call_instants.grouped_at
    left join memberships
        on recent_calls.user_id = memberships.user_id
            and recent_calls.grouped_at = memberships.valid_from
    left join first_older_group_calls
        on recent_calls.user_id = first_older_group_calls.user_id
    where recent_calls.is_recent
        and recent_calls.user_id is not null
        and (
            shared_group_call_instants.user_id is not null
            or (
                memberships.user_id is not null
                and not (
                    memberships.membership_number = 1
                    and first_older_group_calls.first_older_call_at is not null
                    and (
                        memberships.valid_to is null
                        or first_older_group_calls.first_older_call_at < memberships.valid_to
                    )
                )
            )
        )
),

regrouped_users as (
    select user_id from moving_group_calls
    union all
    select user_id
    from resolved_group_calls
    where is_anonymous_call
        and anonymous_id in (select anonymous_id from reidentified_anonymous_ids)
    union all
    select previous.user_id
    from {{ this }} as previous
    where previous.anonymous_id in (select anonymous_id from reidentified_anonymous_ids)
),

regrouped_user_anonymous_ids as (
    select distinct anonymous_id
    from stitched_anonymous_ids
    where user_id in (select user_id from regrouped_users)
),

changed_events as (
    select *
    from events
    where received_at >= (select received_from from reprocess_window)
        or anonymous_id in (select anonymous_id from reidentified_anonymous_ids)
        or user_id in (select user_id from regrouped_users)
        or (
            user_id is null
            and anonymous_id in (select anonymous_id from regrouped_user_anonymous_ids)
        )
),
{%- if target.type == 'spark' %}

-- insert_overwrite replaces whole event_date partitions: every event of a touched date is rewritten
batch as (
    select *
    from events
    where cast(event_at as date) in (select distinct cast(changed_events.event_at as date) from changed_events)
),
{%- else %}

batch as (
    select * from changed_events
),
{%- endif %}
{%- else %}

batch as (
    select * from events
),
{%- endif %}
-- noqa: enable=LT02

-- one row per message id even if a batch holds two deliveries of it
deduplicated as (
    select
        *,
        row_number() over (
            partition by event_id
            order by received_at asc, event_source desc
        ) as delivery_rank
    from batch
),

with_users as (
    select
        deduplicated.event_id,
        deduplicated.event_source,
        coalesce(deduplicated.user_id, stitched_anonymous_ids.user_id) as user_id,
        deduplicated.anonymous_id,
        deduplicated.context_group_id,
        deduplicated.event_name,
        deduplicated.event_at,
        deduplicated.received_at
    from deduplicated
    left join stitched_anonymous_ids
        on deduplicated.user_id is null
            and deduplicated.anonymous_id = stitched_anonymous_ids.anonymous_id
            and {{ within_stitched_period('deduplicated.event_at', 'stitched_anonymous_ids') }}
    where deduplicated.delivery_rank = 1
),

-- the first membership also covers everything before the user's first group call
membership_windows as (
    select
        user_id,
        account_id,
        case
            when membership_number = 1 then cast('1900-01-01' as {{ dbt.type_timestamp() }})
            else valid_from
        end as window_start,
        coalesce(valid_to, cast('9999-12-31' as {{ dbt.type_timestamp() }})) as window_end
    from memberships
),

attributed as (
    select
        with_users.*,
        membership_windows.account_id as membership_account_id
    from with_users
    left join membership_windows
        on with_users.context_group_id is null
            and with_users.user_id = membership_windows.user_id
            and with_users.event_at >= membership_windows.window_start
            and with_users.event_at < membership_windows.window_end
),

final as (
    select
        event_id,
        event_source,
        user_id,
        anonymous_id,
        coalesce(context_group_id, membership_account_id) as account_id,
        cast(
            case
                when context_group_id is not null then 'context_group'
                when membership_account_id is not null then 'membership'
                else 'unresolved'
            end as {{ dbt.type_string() }}
        ) as attribution_method,
        event_name,
        event_at,
        cast(event_at as date) as event_date,
        received_at,
        -- the start of this run: what the user-day pre-aggregates catch up from (macros/replace_days.sql)
        cast('{{ run_started_at.strftime('%Y-%m-%d %H:%M:%S.%f') }}' as {{ dbt.type_timestamp() }}) as attributed_at
    from attributed
)
{%- set restamp = is_incremental() and target.type != 'spark' %}
{{- ',' if restamp }}
{%- if restamp %}

-- noqa: disable=LT02
-- A reprocessed event whose user and account come out as stored keeps its attributed_at (nothing else
-- of an event can change): most of a batch is history of users with a recent group call, and the
-- user-day pre-aggregates rebuild only the days where an attribution really changed. (Spark keeps
-- those pre-aggregates as tables, so every row there is stamped.)
restamped as (
    select
        {%- for column in ['event_id', 'event_source', 'user_id', 'anonymous_id', 'account_id', 'attribution_method',
                           'event_name', 'event_at', 'event_date', 'received_at'] %}
        final.{{ column }},
        {%- endfor %}
        case
            when stored.event_id is not null
                and final.user_id is not distinct from stored.user_id
                and final.account_id is not distinct from stored.account_id
                then stored.attributed_at
            else final.attributed_at
        end as attributed_at
    from final
    left join (
        select
            event_id,
            user_id,
            account_id,
            attributed_at
        from {{ this }}
    ) as stored
        on final.event_id = stored.event_id
)

-- noqa: enable=LT02
{%- endif %}

select * from {{ 'restamped' if restamp else 'final' }}
