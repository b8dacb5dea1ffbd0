-- Every raw group call (user -> account) with account traits, rejection reason and delivery rank.
-- employees arrives as free text: digits become an integer, anything else null and is flagged. A call dated
-- more than a day after its receipt or more than max_event_delay_days before it is set aside (the rule of
-- tracks): a bogus date would decide a membership, and with it the account of a user's earlier events.
with source as (
    {{ raw_table('segment', 'groups') }}
),

renamed as (
    select
        {{ key_value('id') }} as group_call_id,
        {{ key_value('anonymous_id') }} as anonymous_id,
        {{ pseudonymous_user_id(key_value('user_id')) }} as user_id,
        {{ key_value('group_id') }} as account_id,
        cast(coalesce({{ adapter.quote('timestamp') }}, received_at) as {{ dbt.type_timestamp() }}) as grouped_at,
        cast(received_at as {{ dbt.type_timestamp() }}) as received_at,
        cast(name as {{ dbt.type_string() }}) as account_name,
        cast(lower(nullif(trim(plan), '')) as {{ dbt.type_string() }}) as plan,
        cast(nullif(trim(industry), '') as {{ dbt.type_string() }}) as industry,
        {{ safe_text_to_integer('employees') }} as employees,
        cast(employees as {{ dbt.type_string() }}) as employees_raw,
        cast(created_at as {{ dbt.type_timestamp() }}) as account_created_at,
        type_drift_reason
    from source
),

flagged as (
    select
        *,
        employees_raw is not null and trim(employees_raw) <> '' and employees is null as has_invalid_employees,
        case
            when group_call_id is null then 'missing_id'
            when type_drift_reason is not null then type_drift_reason
            when grouped_at is null then 'missing_timestamp'
            when account_id is null then 'missing_group_id'
            when user_id is null and anonymous_id is null then 'missing_user_and_anonymous_id'
            when grouped_at > {{ dbt.dateadd('day', 1, 'received_at') }} then 'event_time_after_receipt'
            when grouped_at < {{ dbt.dateadd('day', -1 * var('max_event_delay_days'), 'received_at') }}
                then 'event_time_implausibly_old'
        end as rejection_reason
    from renamed
),

ranked as (
    select
        *,
        row_number() over (
            partition by group_call_id
            order by case when rejection_reason is null then 0 else 1 end, received_at
        ) as delivery_rank
    from flagged
)

select * from ranked
