-- Credit notes with amounts in decimal units of their currency. The raw table is optional (a Stripe
-- account that never issued a credit note has none): raw_table() then reads it as no rows. Test-mode
-- rows (livemode false) are set aside unless var include_stripe_test_mode; unknown currencies too.
with source as (
    {{ raw_table('stripe', 'credit_note') }}
),

renamed as (
    select
        {{ key_value('id') }} as credit_note_id,
        {{ key_value('invoice_id') }} as invoice_id,
        {{ key_value('customer_id') }} as customer_id,
        cast(lower(coalesce(status, 'issued')) as {{ dbt.type_string() }}) as credit_note_status,
        cast(lower(type) as {{ dbt.type_string() }}) as credit_note_type,
        cast(reason as {{ dbt.type_string() }}) as reason,
        cast(created as {{ dbt.type_timestamp() }}) as created_at,
        cast(voided_at as {{ dbt.type_timestamp() }}) as voided_at,
        cast(lower(currency) as {{ dbt.type_string() }}) as currency,
        {{ minor_to_decimal('total', 'currency') }} as total,
        {{ minor_to_decimal('subtotal', 'currency') }} as subtotal,
        {{ key_value('refund_id') }} as refund_id,
        coalesce(livemode, true) as is_live_mode,
        type_drift_reason
    from source
),

flagged as (
    select
        *,
        case
            when credit_note_id is null then 'missing_id'
            when type_drift_reason is not null then type_drift_reason
            {%- if not var('include_stripe_test_mode', false) %}
                when not is_live_mode then 'test_mode'
            {%- endif %}
            when invoice_id is null then 'missing_invoice_id'
            when created_at is null then 'missing_timestamp'
            when total is null then 'missing_amount'
            when lower(currency) not in (select lower(fx_rate.currency) from {{ ref('fx_rates') }} as fx_rate) then 'unknown_currency'
        end as rejection_reason
    from renamed
),

ranked as (
    select
        *,
        row_number() over (
            partition by credit_note_id
            order by case when rejection_reason is null then 0 else 1 end, created_at
        ) as delivery_rank
    from flagged
)

select * from ranked
