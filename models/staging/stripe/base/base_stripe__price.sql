-- Prices with amounts in decimal units of their currency; unknown currencies set aside.
with source as (
    {{ raw_table('stripe', 'price') }}
),

renamed as (
    select
        {{ key_value('id') }} as price_id,
        {{ key_value('product_id') }} as product_id,
        {{ minor_to_decimal('unit_amount', 'currency') }} as unit_amount,
        cast(lower(currency) as {{ dbt.type_string() }}) as currency,
        cast(lower(recurring_interval) as {{ dbt.type_string() }}) as recurring_interval,
        cast(coalesce(recurring_interval_count, 1) as {{ dbt.type_bigint() }}) as recurring_interval_count,
        cast(lower({{ adapter.quote('type') }}) as {{ dbt.type_string() }}) as price_type,
        type_drift_reason
    from source
),

flagged as (
    select
        *,
        case
            when price_id is null then 'missing_id'
            when type_drift_reason is not null then type_drift_reason
            when lower(currency) not in (select lower(fx_rate.currency) from {{ ref('fx_rates') }} as fx_rate) then 'unknown_currency'
            when unit_amount < 0 then 'negative_amount'
        end as rejection_reason
    from renamed
),

ranked as (
    select
        *,
        row_number() over (
            partition by price_id
            order by case when rejection_reason is null then 0 else 1 end, product_id
        ) as delivery_rank
    from flagged
)

select * from ranked
