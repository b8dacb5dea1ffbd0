-- Coupons; amount_off in decimal units.
with base as (
    select * from {{ ref('base_stripe__coupon') }}
),

kept as (
    select
        coupon_id,
        amount_off,
        percent_off,
        currency,
        duration,
        duration_in_months
    from base
    where rejection_reason is null
        and delivery_rank = 1
)

select * from kept
