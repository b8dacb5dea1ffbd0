-- Subscription discounts of Fivetran's older `subscription_discount` table (one row per discount and
-- subscription). A discount deleted at the source (removed) ends when Fivetran saw it deleted, if not before.
with source as (
    {{ raw_table('stripe', 'subscription_discount') }}
),

flagged as (
    select
        {{ key_value('id') }} as discount_id,
        {{ key_value('subscription_id') }} as subscription_id,
        {{ key_value('coupon_id') }} as coupon_id,
        {{ key_value('customer_id') }} as customer_id,
        cast({{ adapter.quote('start') }} as {{ dbt.type_timestamp() }}) as started_at,
        case
            when coalesce(_fivetran_deleted, false)
                and _fivetran_synced is not null
                and ({{ adapter.quote('end') }} is null or {{ adapter.quote('end') }} > _fivetran_synced)
                then cast(_fivetran_synced as {{ dbt.type_timestamp() }})
            else cast({{ adapter.quote('end') }} as {{ dbt.type_timestamp() }})
        end as ended_at,
        coalesce(_fivetran_deleted, false) as is_deleted_at_source,
        case
            when {{ key_value('id') }} is null then 'missing_id'
            when type_drift_reason is not null then type_drift_reason
            when {{ key_value('subscription_id') }} is null then 'missing_subscription_id'
            when {{ key_value('coupon_id') }} is null then 'missing_coupon_id'
            when {{ adapter.quote('start') }} is null then 'missing_timestamp'
        end as rejection_reason
    from source
),

ranked as (
    select
        *,
        row_number() over (
            partition by discount_id, subscription_id
            order by case when rejection_reason is null then 0 else 1 end, started_at
        ) as delivery_rank
    from flagged
)

select * from ranked
