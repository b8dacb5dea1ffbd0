-- Coupons with amount_off in decimal units of the coupon's currency.
with source as (
    {{ raw_table('stripe', 'coupon') }}
),

flagged as (
    select
        {{ key_value('id') }} as coupon_id,
        {{ minor_to_decimal('amount_off', 'currency') }} as amount_off,
        cast(percent_off as {{ dbt.type_float() }}) as percent_off,
        cast(lower(currency) as {{ dbt.type_string() }}) as currency,
        cast(lower(duration) as {{ dbt.type_string() }}) as duration,
        cast(duration_in_months as {{ dbt.type_bigint() }}) as duration_in_months,
        case
            when {{ key_value('id') }} is null then 'missing_id'
            when type_drift_reason is not null then type_drift_reason
        end as rejection_reason
    from source
),

ranked as (
    select
        *,
        row_number() over (
            partition by coupon_id
            order by case when rejection_reason is null then 0 else 1 end, duration
        ) as delivery_rank
    from flagged
)

select * from ranked
