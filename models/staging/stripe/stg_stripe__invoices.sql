-- Invoices in decimal units of their currency.
with base as (
    select * from {{ ref('base_stripe__invoice') }}
),

kept as (
    select
        invoice_id,
        customer_id,
        subscription_id,
        invoice_status,
        created_at,
        period_start_at,
        period_end_at,
        currency,
        subtotal,
        total,
        amount_due,
        amount_paid
    from base
    where rejection_reason is null
        and delivery_rank = 1
)

select * from kept
