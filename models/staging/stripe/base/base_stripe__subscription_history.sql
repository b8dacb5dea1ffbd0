-- Every version of every subscription (Fivetran history mode) with house names.
with source as (
    {{ raw_table('stripe', 'subscription_history') }}
),

renamed as (
    select
        {{ key_value('id') }} as subscription_id,
        {{ key_value('customer_id') }} as customer_id,
        cast(lower(status) as {{ dbt.type_string() }}) as status,
        cast(created as {{ dbt.type_timestamp() }}) as created_at,
        cast(coalesce(start_date, created) as {{ dbt.type_timestamp() }}) as started_at,
        cast(current_period_start as {{ dbt.type_timestamp() }}) as current_period_start_at,
        cast(current_period_end as {{ dbt.type_timestamp() }}) as current_period_end_at,
        coalesce(cancel_at_period_end, false) as is_cancel_at_period_end,
        cast(canceled_at as {{ dbt.type_timestamp() }}) as canceled_at,
        cast(ended_at as {{ dbt.type_timestamp() }}) as ended_at,
        cast(trial_start as {{ dbt.type_timestamp() }}) as trial_start_at,
        cast(trial_end as {{ dbt.type_timestamp() }}) as trial_end_at,
        cast(coalesce(_fivetran_start, _fivetran_synced, created) as {{ dbt.type_timestamp() }}) as valid_from,
        cast(_fivetran_end as {{ dbt.type_timestamp() }}) as valid_to,
        coalesce(_fivetran_active, _fivetran_end is null) as is_current_version,
        type_drift_reason
    from source
),

flagged as (
    select
        *,
        case
            when subscription_id is null then 'missing_id'
            when type_drift_reason is not null then type_drift_reason
            when valid_from is null then 'missing_timestamp'
            when customer_id is null then 'missing_customer_id'
        end as rejection_reason
    from renamed
),

ranked as (
    select
        *,
        row_number() over (
            partition by subscription_id, valid_from
            order by case when rejection_reason is null then 0 else 1 end, valid_to desc
        ) as delivery_rank
    from flagged
)

select * from ranked
