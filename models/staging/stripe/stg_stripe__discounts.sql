-- Discounts (subscription rows and per-invoice rows).
with base as (
    select * from {{ ref('base_stripe__discount') }}
),

kept as (
    select
        discount_id,
        discount_type,
        type_id,
        coupon_id,
        customer_id,
        subscription_id,
        invoice_id,
        invoice_item_id,
        amount_minor,
        started_at,
        ended_at
    from base
    where rejection_reason is null
        and delivery_rank = 1
)

select * from kept
