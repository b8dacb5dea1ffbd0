-- A negative regular (non-proration) recurring line must reverse an earlier charge one to one (same
-- subscription item, price, service period, quantity and amount); a reversal and a re-bill are rules of
-- int_invoice_lines_normalised_to_monthly. Any other negative line (a partial credit, a credit for
-- another price or period) has no rule: it adds nothing to MRR and this test stops the build instead of
-- letting it change a number. Returns the lines. Fix at the source: void the invoice, issue a credit
-- note (a cash event, not MRR), or reverse the whole line and bill the corrected one.
with invoice_lines as (
    select * from {{ ref('int_invoice_lines_normalised_to_monthly') }}
)

select
    invoice_line_item_id,
    invoice_id,
    subscription_id,
    subscription_item_id,
    price_id,
    quantity,
    amount,
    currency,
    period_start_at,
    period_end_at
from invoice_lines
where mrr_rule = 'unclassified_credit'
