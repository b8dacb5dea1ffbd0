-- Subscription discounts of Fivetran's older subscription_discount table.
with base as (
    select * from {{ ref('base_stripe__subscription_discount') }}
),

kept as (
    select
        discount_id,
        subscription_id,
        customer_id,
        coupon_id,
        started_at,
        ended_at
    from base
    where rejection_reason is null
        and delivery_rank = 1
)

select * from kept
