-- Legacy plans (older Stripe accounts bill through plans; their items' plan_id is a plan id), with the
-- amount in decimal units of the plan's currency. Unknown currencies, negative amounts and test-mode plans
-- set aside; deleted plans kept (what they billed still resolves).
with source as (
    {{ raw_table('stripe', 'plan') }}
),

renamed as (
    select
        {{ key_value('id') }} as plan_id,
        {{ key_value('product_id') }} as product_id,
        -- amount_decimal (text) where amount is empty
        {{ minor_to_decimal('coalesce(cast(amount as ' ~ dbt.type_float() ~ '), ' ~ safe_text_to_number('amount_decimal') ~ ')', 'currency') }}
            as unit_amount,
        cast(lower(currency) as {{ dbt.type_string() }}) as currency,
        cast(lower({{ adapter.quote('interval') }}) as {{ dbt.type_string() }}) as recurring_interval,
        cast(coalesce(interval_count, 1) as {{ dbt.type_bigint() }}) as recurring_interval_count,
        cast(lower(usage_type) as {{ dbt.type_string() }}) as usage_type,
        cast(lower(billing_scheme) as {{ dbt.type_string() }}) as billing_scheme,
        coalesce(is_deleted, false) as is_deleted,
        {{ stripe_fivetran_flags() }},
        type_drift_reason
    from source
),

flagged as (
    select
        *,
        case
            when plan_id is null then 'missing_id'
            when type_drift_reason is not null then type_drift_reason
            {{- stripe_set_aside_reasons(set_aside_deleted=false) }}
            when lower(currency) not in (select lower(fx_rate.currency) from {{ ref('fx_rates') }} as fx_rate) then 'unknown_currency'
            when unit_amount < 0 then 'negative_amount'
        end as rejection_reason
    from renamed
),

ranked as (
    select
        *,
        row_number() over (
            partition by plan_id
            order by case when rejection_reason is null then 0 else 1 end, product_id
        ) as delivery_rank
    from flagged
)

select * from ranked
