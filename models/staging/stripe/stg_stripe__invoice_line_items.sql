-- Invoice lines in decimal units; recurring lines carry their service period.
with base as (
    select * from {{ ref('base_stripe__invoice_line_item') }}
),

kept as (
    select
        invoice_line_item_id,
        invoice_id,
        subscription_id,
        subscription_item_id,
        price_id,
        amount,
        discount_amount,
        unit_amount_excluding_tax,
        currency,
        quantity,
        period_start_at,
        period_end_at,
        is_proration,
        line_type
    from base
    where rejection_reason is null
        and delivery_rank = 1
)

select * from kept
