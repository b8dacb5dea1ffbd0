-- Billing per account and month beside MRR, so finance can reconcile MRR with cash: invoiced (the
-- totals of finalized invoices created in the month, tax included, net of discounts), paid (their
-- amount_paid), credited (credit notes issued in the month and not void) and refunded (the credit
-- notes among them that carry a refund), in the reporting currency at each document's day rate,
-- rounded to cents per account and month; month-end MRR from fct_account_mrr_monthly. Rows: every
-- account-month of fct_account_mrr_monthly and every account-month with a billing document.
-- Credit notes and refunds never change MRR (they are no invoice lines).
with documents as (
    select * from {{ ref('int_billing_documents') }}
),

account_months as (
    select * from {{ ref('fct_account_mrr_monthly') }}
),

billed as (
    select
        account_id,
        month_start,
        sum(invoiced) as invoiced,
        sum(paid) as paid,
        sum(credited) as credited,
        sum(refunded) as refunded,
        sum(case when document_type = 'invoice' then 1 else 0 end) as invoice_count,
        sum(case when document_type = 'credit_note' then 1 else 0 end) as credit_note_count
    from documents
    group by
        account_id,
        month_start
),

months as (
    select
        account_id,
        month_start
    from billed
    union
    select
        account_id,
        month_start
    from account_months
),

final as (
    select
        months.account_id,
        months.month_start,
        cast(coalesce(account_months.mrr, 0) as decimal(38, 2)) as mrr,
        cast(coalesce({{ round_money('billed.invoiced') }}, 0) as decimal(38, 2)) as invoiced,
        cast(coalesce({{ round_money('billed.paid') }}, 0) as decimal(38, 2)) as paid,
        cast(coalesce({{ round_money('billed.credited') }}, 0) as decimal(38, 2)) as credited,
        cast(coalesce({{ round_money('billed.refunded') }}, 0) as decimal(38, 2)) as refunded,
        cast(coalesce(billed.invoice_count, 0) as {{ dbt.type_int() }}) as invoice_count,
        cast(coalesce(billed.credit_note_count, 0) as {{ dbt.type_int() }}) as credit_note_count
    from months
    left join billed
        on months.account_id = billed.account_id
            and months.month_start = billed.month_start
    left join account_months
        on months.account_id = account_months.account_id
            and months.month_start = account_months.month_start
)

select * from final
