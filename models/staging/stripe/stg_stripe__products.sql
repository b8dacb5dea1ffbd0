-- Products.
with base as (
    select * from {{ ref('base_stripe__product') }}
),

kept as (
    select
        product_id,
        product_name,
        unit_label,
        is_deleted
    from base
    where rejection_reason is null
        and delivery_rank = 1
)

select * from kept
