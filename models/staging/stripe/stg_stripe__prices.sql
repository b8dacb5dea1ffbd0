-- Prices in decimal units of their currency.
with base as (
    select * from {{ ref('base_stripe__price') }}
),

kept as (
    select
        price_id,
        product_id,
        unit_amount,
        currency,
        recurring_interval,
        recurring_interval_count,
        price_type
    from base
    where rejection_reason is null
        and delivery_rank = 1
)

select * from kept
