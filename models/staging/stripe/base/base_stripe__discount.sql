-- Discounts: one row for the subscription (type = 'subscription') and one per invoice it touched.
with source as (
    {{ raw_table('stripe', 'discount') }}
),

flagged as (
    select
        {{ key_value('id') }} as discount_id,
        cast(lower({{ adapter.quote('type') }}) as {{ dbt.type_string() }}) as discount_type,
        {{ key_value('type_id') }} as type_id,
        {{ key_value('coupon_id') }} as coupon_id,
        {{ key_value('customer_id') }} as customer_id,
        {{ key_value('subscription_id') }} as subscription_id,
        {{ key_value('invoice_id') }} as invoice_id,
        cast({{ adapter.quote('start') }} as {{ dbt.type_timestamp() }}) as started_at,
        cast({{ adapter.quote('end') }} as {{ dbt.type_timestamp() }}) as ended_at,
        case
            when {{ key_value('id') }} is null then 'missing_id'
            when type_drift_reason is not null then type_drift_reason
            when {{ key_value('coupon_id') }} is null then 'missing_coupon_id'
        end as rejection_reason
    from source
),

ranked as (
    select
        *,
        row_number() over (
            partition by discount_id, discount_type, type_id
            order by case when rejection_reason is null then 0 else 1 end, started_at
        ) as delivery_rank
    from flagged
)

select * from ranked
