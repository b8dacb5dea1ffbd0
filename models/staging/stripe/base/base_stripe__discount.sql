-- Discounts: one row for the subscription (type = 'subscription') and one per invoice it touched.
with source as (
    select
        {{ source_columns(source('stripe', 'discount'), [
            ('id', dbt.type_string(), true),
            ('type', dbt.type_string(), true),
            ('type_id', dbt.type_string(), true),
            ('coupon_id', dbt.type_string(), true),
            ('customer_id', dbt.type_string(), false),
            ('subscription_id', dbt.type_string(), false),
            ('invoice_id', dbt.type_string(), false),
            ('start', dbt.type_timestamp(), true),
            ('end', dbt.type_timestamp(), false),
        ]) }}
    from {{ source('stripe', 'discount') }}
),

flagged as (
    select
        cast(id as {{ dbt.type_string() }}) as discount_id,
        cast(lower({{ adapter.quote('type') }}) as {{ dbt.type_string() }}) as discount_type,
        cast(type_id as {{ dbt.type_string() }}) as type_id,
        cast(coupon_id as {{ dbt.type_string() }}) as coupon_id,
        cast(customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(subscription_id as {{ dbt.type_string() }}) as subscription_id,
        cast(invoice_id as {{ dbt.type_string() }}) as invoice_id,
        cast({{ adapter.quote('start') }} as {{ dbt.type_timestamp() }}) as started_at,
        cast({{ adapter.quote('end') }} as {{ dbt.type_timestamp() }}) as ended_at,
        case when id is null then 'missing_id' when coupon_id is null then 'missing_coupon_id' end as rejection_reason
    from source
),

ranked as (
    select
        *,
        row_number() over (partition by discount_id, discount_type, type_id order by started_at) as delivery_rank
    from flagged
)

select * from ranked
