-- Prices in decimal units of their currency; deleted prices kept (what they billed still resolves).
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
        price_type,
        usage_type,
        billing_scheme,
        is_deleted
    from base
    where rejection_reason is null
        and delivery_rank = 1
)

select * from kept
