-- One row per billing document up to the as-of date: every finalized invoice (open, paid or
-- uncollectible; drafts and void invoices bill nothing) and every credit note not void by then, with
-- its account, the month it belongs to (its creation) and its amounts in the billing currency and in
-- the reporting currency at the rate in force on its day. Credit notes are a cash event: nothing here
-- reaches MRR.
with invoices as (
    select * from {{ ref('stg_stripe__invoices') }}
),

credit_notes as (
    select * from {{ ref('stg_stripe__credit_notes') }}
),

customers as (
    select * from {{ ref('int_billing_customers_mapped_to_accounts') }}
),

fx_rates as (
    select * from {{ ref('int_fx_rates_daily') }}
),

as_of as (
    select as_of_date from {{ ref('util_as_of_date') }}
),

invoice_documents as (
    select
        'invoice' as document_type,
        invoices.invoice_id as document_id,
        invoices.invoice_id,
        invoices.customer_id,
        invoices.created_at as document_at,
        invoices.currency,
        invoices.total as invoiced_local,
        -- amount_paid where the loader has it, else the total of a paid invoice (a paid invoice with a
        -- total of 0 or below had nothing to pay)
        coalesce(
            invoices.amount_paid,
            case when invoices.invoice_status = 'paid' and invoices.total > 0 then invoices.total else 0 end
        ) as paid_local,
        cast(0 as decimal(38, 10)) as credited_local,
        cast(0 as decimal(38, 10)) as refunded_local
    from invoices
    where invoices.invoice_status in ('open', 'paid', 'uncollectible')
),

credit_note_documents as (
    select
        'credit_note' as document_type,
        credit_notes.credit_note_id as document_id,
        credit_notes.invoice_id,
        -- Fivetran's credit_note has no customer: the invoice's
        coalesce(credit_notes.customer_id, invoices.customer_id) as customer_id,
        credit_notes.created_at as document_at,
        credit_notes.currency,
        cast(0 as decimal(38, 10)) as invoiced_local,
        cast(0 as decimal(38, 10)) as paid_local,
        credit_notes.total as credited_local,
        case when credit_notes.refund_id is not null then credit_notes.total else 0 end as refunded_local
    from credit_notes
    left join invoices
        on credit_notes.invoice_id = invoices.invoice_id
    cross join as_of
    -- not void as of the as-of date (a void credit note voided after it still counts; one without a
    -- void time is void)
    where credit_notes.credit_note_status <> 'void'
        or cast(credit_notes.voided_at as date) > as_of.as_of_date
),

documents as (
    select * from invoice_documents
    union all
    select * from credit_note_documents
),

first_rates as (
    -- a document dated before the MRR calendar starts takes the currency's first rate in it
    select
        currency,
        min(rate_date) as first_rate_date
    from fx_rates
    group by currency
),

final as (
    select
        coalesce(
            customers.account_id,
            {{ dbt.concat(["'" ~ var('unmapped_customer_account_prefix') ~ "'", 'documents.customer_id']) }}
        ) as account_id,
        documents.document_type,
        documents.document_id,
        documents.invoice_id,
        documents.customer_id,
        documents.document_at,
        cast({{ dbt.date_trunc('month', 'documents.document_at') }} as date) as month_start,
        documents.currency,
        coalesce(day_rates.rate_to_reporting, first_day_rates.rate_to_reporting) as fx_rate,
        cast(documents.invoiced_local as decimal(38, 10)) as invoiced_local,
        cast(documents.paid_local as decimal(38, 10)) as paid_local,
        cast(documents.credited_local as decimal(38, 10)) as credited_local,
        cast(documents.refunded_local as decimal(38, 10)) as refunded_local,
        cast(
            documents.invoiced_local * coalesce(day_rates.rate_to_reporting, first_day_rates.rate_to_reporting)
            as decimal(38, 10)
        ) as invoiced,
        cast(
            documents.paid_local * coalesce(day_rates.rate_to_reporting, first_day_rates.rate_to_reporting)
            as decimal(38, 10)
        ) as paid,
        cast(
            documents.credited_local * coalesce(day_rates.rate_to_reporting, first_day_rates.rate_to_reporting)
            as decimal(38, 10)
        ) as credited,
        cast(
            documents.refunded_local * coalesce(day_rates.rate_to_reporting, first_day_rates.rate_to_reporting)
            as decimal(38, 10)
        ) as refunded
    from documents
    cross join as_of
    left join customers
        on documents.customer_id = customers.customer_id
    left join fx_rates as day_rates
        on documents.currency = day_rates.currency
            and cast(documents.document_at as date) = day_rates.rate_date
    left join first_rates
        on documents.currency = first_rates.currency
    left join fx_rates as first_day_rates
        on first_rates.currency = first_day_rates.currency
            and first_rates.first_rate_date = first_day_rates.rate_date
    where cast(documents.document_at as date) <= as_of.as_of_date
        and documents.customer_id is not null
)

select * from final
