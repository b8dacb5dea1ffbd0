-- Revenue never vanishes silently: an invoice line of a subscription that staging had to set aside
-- (a currency with no rate in seeds/fx_rates.csv, a negative quantity, a missing id or period, an amount
-- that could not be read as a number) stops the build instead of leaving MRR short. A set-aside delivery
-- of a line whose usable delivery is kept (ranked first: staging ranks usable rows first) loses nothing.
-- Add the rate to the seed or fix the source row, then rerun. Returns the set-aside lines with the
-- reason and currency. Lines excluded by rule (test mode, deleted at the source: never revenue) are not
-- revenue lost.
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
        and rejection_reason not in ('test_mode', 'deleted_at_source')
        and (delivery_rank = 1 or invoice_line_item_id is null)
        and subscription_id is not null
        and (amount is null or amount <> 0)
)

select * from set_aside
