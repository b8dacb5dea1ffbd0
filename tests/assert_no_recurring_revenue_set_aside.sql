-- Revenue never vanishes silently: an invoice line of a subscription that staging had to set aside
-- (a currency with no rate in seeds/fx_rates.csv, a negative quantity, a missing id or period) stops
-- the build instead of leaving MRR short. Add the rate to the seed or fix the source row, then rerun.
-- Returns the set-aside lines with the reason and currency.
with invoice_lines as (
    select * from {{ ref('base_stripe__invoice_line_item') }}
),

set_aside as (
    select
        invoice_line_item_id,
        invoice_id,
        subscription_id,
        currency,
        amount,
        rejection_reason
    from invoice_lines
    where rejection_reason is not null
        and subscription_id is not null
        and amount <> 0
)

select * from set_aside
