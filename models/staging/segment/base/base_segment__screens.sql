-- Every raw screen call (a mobile app's page view): house names, Segment's corrected event time (mobile
-- devices queue calls offline and their clocks are wrong, so the rule of tracks), rejection reason and
-- delivery rank per message id. `screens` is an optional table: a warehouse without a mobile source has
-- none, and this model is then empty (an optional table of the contract: raw_table reads no rows).
with source as (
    {{ raw_table('segment', 'screens') }}
),

renamed as (
    select
        {{ key_value('id') }} as screen_view_id,
        {{ key_value('anonymous_id') }} as anonymous_id,
        {{ pseudonymous_user_id(key_value('user_id')) }} as user_id,
        {{ key_value('context_group_id') }} as context_group_id,
        cast(
            {{ segment_event_time('received_at', 'sent_at', 'original_timestamp', adapter.quote('timestamp')) }}
            as {{ dbt.type_timestamp() }}
        ) as event_at,
        cast(sent_at as {{ dbt.type_timestamp() }}) as sent_at,
        cast(received_at as {{ dbt.type_timestamp() }}) as received_at,
        cast(name as {{ dbt.type_string() }}) as screen_name,
        type_drift_reason
    from source
),

flagged as (
    select
        *,
        case
            when screen_view_id is null then 'missing_id'
            when type_drift_reason is not null then type_drift_reason
            when received_at is null or event_at is null then 'missing_timestamp'
            when user_id is null and anonymous_id is null then 'missing_user_and_anonymous_id'
            when event_at > {{ dbt.dateadd('day', 1, 'received_at') }} then 'event_time_after_receipt'
            when event_at < {{ dbt.dateadd('day', -1 * var('max_event_delay_days'), 'received_at') }}
                then 'event_time_implausibly_old'
        end as rejection_reason
    from renamed
),

ranked as (
    select
        *,
        row_number() over (
            partition by screen_view_id
            order by case when rejection_reason is null then 0 else 1 end, received_at
        ) as delivery_rank
    from flagged
)

select * from ranked
