-- Credit notes in decimal units of their currency (none when the raw table is absent).
with base as (
    select * from {{ ref('base_stripe__credit_note') }}
),

kept as (
    select
        credit_note_id,
        invoice_id,
        customer_id,
        credit_note_status,
        credit_note_type,
        reason,
        created_at,
        voided_at,
        currency,
        total,
        subtotal,
        refund_id
    from base
    where rejection_reason is null
        and delivery_rank = 1
)

select * from kept
