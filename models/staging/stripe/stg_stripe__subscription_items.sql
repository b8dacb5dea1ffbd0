-- Current subscription items; negative quantities are set aside.
with base as (
    select * from {{ ref('base_stripe__subscription_item') }}
),

kept as (
    select
        subscription_item_id,
        subscription_id,
        price_id,
        quantity,
        created_at
    from base
    where rejection_reason is null
        and delivery_rank = 1
)

select * from kept
