-- Every raw identify call with house names, rejection reason and delivery rank. A call dated more than
-- a day after its receipt or more than max_event_delay_days before it is set aside (the rule of tracks).
with source as (
    {{ raw_table('segment', 'identifies') }}
),

renamed as (
    select
        {{ key_value('id') }} as identify_id,
        {{ key_value('anonymous_id') }} as anonymous_id,
        {{ pseudonymous_user_id(key_value('user_id')) }} as user_id,
        cast(coalesce({{ adapter.quote('timestamp') }}, received_at) as {{ dbt.type_timestamp() }}) as identified_at,
        cast(received_at as {{ dbt.type_timestamp() }}) as received_at,
        cast(lower(trim(email)) as {{ dbt.type_string() }}) as email,
        cast(name as {{ dbt.type_string() }}) as user_name,
        cast(lower(nullif(trim(role), '')) as {{ dbt.type_string() }}) as user_role,
        type_drift_reason
    from source
),

flagged as (
    select
        *,
        case
            when identify_id is null then 'missing_id'
            when type_drift_reason is not null then type_drift_reason
            when identified_at is null then 'missing_timestamp'
            when user_id is null then 'missing_user_id'
            when identified_at > {{ dbt.dateadd('day', 1, 'received_at') }} then 'event_time_after_receipt'
            when identified_at < {{ dbt.dateadd('day', -1 * var('max_event_delay_days'), 'received_at') }}
                then 'event_time_implausibly_old'
        end as rejection_reason
    from renamed
),

ranked as (
    select
        *,
        row_number() over (
            partition by identify_id
            order by case when rejection_reason is null then 0 else 1 end, received_at
        ) as delivery_rank
    from flagged
)

select * from ranked
