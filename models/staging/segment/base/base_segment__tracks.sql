-- Every raw track with house names, Segment's corrected event time, a rejection reason
-- for rows that cannot be used, and a delivery rank per message id (1 = first delivery).
with source as (
    {{ raw_table('segment', 'tracks') }}
),

renamed as (
    select
        {{ key_value('id') }} as event_id,
        {{ key_value('anonymous_id') }} as anonymous_id,
        {{ pseudonymous_user_id(key_value('user_id')) }} as user_id,
        cast(nullif(trim(event), '') as {{ dbt.type_string() }}) as event_name,
        cast(event_text as {{ dbt.type_string() }}) as event_text,
        {{ key_value('context_group_id') }} as context_group_id,
        cast(
            {{ segment_event_time('received_at', 'sent_at', 'original_timestamp', adapter.quote('timestamp')) }}
            as {{ dbt.type_timestamp() }}
        ) as event_at,
        cast(original_timestamp as {{ dbt.type_timestamp() }}) as device_at,
        cast(sent_at as {{ dbt.type_timestamp() }}) as sent_at,
        cast(received_at as {{ dbt.type_timestamp() }}) as received_at,
        cast(uuid_ts as {{ dbt.type_timestamp() }}) as loaded_at,
        type_drift_reason
    from source
),

flagged as (
    select
        *,
        case
            when event_id is null then 'missing_id'
            when type_drift_reason is not null then type_drift_reason
            when received_at is null or event_at is null then 'missing_timestamp'
            when event_name is null then 'missing_event_name'
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
            partition by event_id
            order by case when rejection_reason is null then 0 else 1 end, received_at, loaded_at
        ) as delivery_rank
    from flagged
)

select * from ranked
