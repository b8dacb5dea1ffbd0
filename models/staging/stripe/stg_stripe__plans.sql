-- Legacy plans in decimal units of their currency; deleted plans kept (what they billed still resolves).
with base as (
    select * from {{ ref('base_stripe__plan') }}
),

kept as (
    select
        plan_id,
        product_id,
        unit_amount,
        currency,
        recurring_interval,
        recurring_interval_count,
        usage_type,
        billing_scheme,
        is_deleted
    from base
    where rejection_reason is null
        and delivery_rank = 1
)

select * from kept
