-- Credit notes that cannot be booked to an account: no customer of their own and an invoice that is
-- not staged, either never delivered (`unknown_invoice`) or set aside by staging (`invoice_set_aside`,
-- e.g. a currency without a rate). They are left out of int_billing_documents and every billing mart;
-- this list holds them with their amount so that nothing is dropped silently. Same as-of rules as the
-- billing documents: created up to the as-of date, not void by then.
with credit_notes as (
    select * from {{ ref('stg_stripe__credit_notes') }}
),

invoices as (
    select * from {{ ref('stg_stripe__invoices') }}
),

base_invoices as (
    select * from {{ ref('base_stripe__invoice') }}
),

as_of as (
    select as_of_date from {{ ref('util_as_of_date') }}
),

set_aside_invoices as (
    select
        invoice_id,
        min(rejection_reason) as rejection_reason
    from base_invoices
    where rejection_reason is not null
        and invoice_id is not null
    group by invoice_id
),

final as (
    select
        credit_notes.credit_note_id,
        credit_notes.invoice_id,
        credit_notes.created_at,
        credit_notes.currency,
        credit_notes.total,
        case
            when set_aside_invoices.invoice_id is not null then 'invoice_set_aside'
            else 'unknown_invoice'
        end as reason,
        set_aside_invoices.rejection_reason as invoice_rejection_reason
    from credit_notes
    cross join as_of
    left join invoices
        on credit_notes.invoice_id = invoices.invoice_id
    left join set_aside_invoices
        on credit_notes.invoice_id = set_aside_invoices.invoice_id
    where credit_notes.customer_id is null
        and invoices.invoice_id is null
        and cast(credit_notes.created_at as date) <= as_of.as_of_date
        and (
            credit_notes.credit_note_status <> 'void'
            or cast(credit_notes.voided_at as date) > as_of.as_of_date
        )
)

select * from final
