-- Invoices with amounts in decimal units of their currency; unknown currencies set aside.
with source as (
    {{ raw_table('stripe', 'invoice') }}
),

renamed as (
    select
        {{ key_value('id') }} as invoice_id,
        {{ key_value('customer_id') }} as customer_id,
        {{ key_value('subscription_id') }} as subscription_id,
        cast(lower(status) as {{ dbt.type_string() }}) as invoice_status,
        cast(coalesce(created, period_end) as {{ dbt.type_timestamp() }}) as created_at,
        cast(period_start as {{ dbt.type_timestamp() }}) as period_start_at,
        cast(period_end as {{ dbt.type_timestamp() }}) as period_end_at,
        cast(lower(currency) as {{ dbt.type_string() }}) as currency,
        {{ minor_to_decimal('subtotal', 'currency') }} as subtotal,
        {{ minor_to_decimal('total', 'currency') }} as total,
        type_drift_reason
    from source
),

flagged as (
    select
        *,
        case
            when invoice_id is null then 'missing_id'
            when type_drift_reason is not null then type_drift_reason
            when created_at is null then 'missing_timestamp'
            when lower(currency) not in (select lower(fx_rate.currency) from {{ ref('fx_rates') }} as fx_rate) then 'unknown_currency'
        end as rejection_reason
    from renamed
),

ranked as (
    select
        *,
        row_number() over (
            partition by invoice_id
            order by case when rejection_reason is null then 0 else 1 end, created_at
        ) as delivery_rank
    from flagged
)

select * from ranked
