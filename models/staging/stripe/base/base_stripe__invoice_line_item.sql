-- Invoice lines with amounts in decimal units; unknown currencies, negative quantities and service periods
-- before var earliest_billing_date (implausible_time) set aside.
with source as (
    {{ raw_table('stripe', 'invoice_line_item') }}
),

renamed as (
    select
        coalesce({{ key_value('unique_id') }}, {{ key_value('id') }}) as invoice_line_item_id,
        {{ key_value('invoice_id') }} as invoice_id,
        {{ key_value('subscription_id') }} as subscription_id,
        {{ key_value('subscription_item_id') }} as subscription_item_id,
        {{ key_value('plan_id') }} as price_id,
        {{ minor_to_decimal('amount', 'currency') }} as amount,
        {{ minor_to_decimal('coalesce(discount_amount, 0)', 'currency') }} as discount_amount,
        cast(lower(currency) as {{ dbt.type_string() }}) as currency,
        cast(quantity as {{ dbt.type_bigint() }}) as quantity,
        cast(period_start as {{ dbt.type_timestamp() }}) as period_start_at,
        cast(period_end as {{ dbt.type_timestamp() }}) as period_end_at,
        coalesce(proration, false) as is_proration,
        cast(lower({{ adapter.quote('type') }}) as {{ dbt.type_string() }}) as line_type,
        type_drift_reason
    from source
),

flagged as (
    select
        *,
        case
            when invoice_line_item_id is null then 'missing_id'
            when type_drift_reason is not null then type_drift_reason
            when period_start_at is null or period_end_at is null then 'missing_timestamp'
            when {{ before_earliest_billing_date(['period_start_at', 'period_end_at']) }} then 'implausible_time'
            when lower(currency) not in (select lower(fx_rate.currency) from {{ ref('fx_rates') }} as fx_rate) then 'unknown_currency'
            when quantity < 0 then 'negative_quantity'
        end as rejection_reason
    from renamed
),

ranked as (
    select
        *,
        row_number() over (
            partition by invoice_line_item_id
            order by case when rejection_reason is null then 0 else 1 end, period_start_at
        ) as delivery_rank
    from flagged
)

select * from ranked
