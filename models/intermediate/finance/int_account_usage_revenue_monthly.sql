-- Usage revenue per account and month: what the invoice lines of metered prices billed (a Stripe price
-- with recurring_usage_type metered, a legacy plan with usage_type metered). Never MRR: usage is not a
-- recurring commitment. A line counts in the month its invoice was created (up to the as-of date), net
-- of tax (× tax_exclusive_share, like MRR) and before discounts, converted to the reporting currency at
-- the rate of that day. Void invoices add nothing. Accounts as in int_billing_customers_mapped_to_accounts.
with invoice_lines as (
    select * from {{ ref('stg_stripe__invoice_line_items') }}
),

invoices as (
    select * from {{ ref('stg_stripe__invoices') }}
),

prices as (
    select * from {{ ref('int_prices_unioned_with_plans') }}
),

customers as (
    select * from {{ ref('int_billing_customers_mapped_to_accounts') }}
),

fx_rates as (
    select * from {{ ref('int_fx_rates_daily') }}
),

metered_lines as (
    select
        coalesce(
            customers.account_id,
            {{ dbt.concat(["'" ~ var('unmapped_customer_account_prefix') ~ "'", 'invoices.customer_id']) }}
        ) as account_id,
        invoice_lines.currency,
        cast(invoices.created_at as date) as billed_date,
        invoice_lines.amount * {{ tax_exclusive_share(
            'invoice_lines.unit_amount_excluding_tax', 'invoice_lines.quantity', 'invoice_lines.amount'
        ) }} as amount_excluding_tax
    from invoice_lines
    inner join prices
        on invoice_lines.price_id = prices.price_id
    inner join invoices
        on invoice_lines.invoice_id = invoices.invoice_id
    left join customers
        on invoices.customer_id = customers.customer_id
    where prices.usage_type = 'metered'
        and invoices.invoice_status <> 'void'
        and cast(invoices.created_at as date) <= {{ as_of_date_sql() }}
),

converted as (
    select
        metered_lines.account_id,
        cast({{ dbt.date_trunc('month', 'metered_lines.billed_date') }} as date) as month_start,
        metered_lines.amount_excluding_tax * fx_rates.rate_to_reporting as usage_revenue
    from metered_lines
    left join fx_rates
        on metered_lines.currency = fx_rates.currency
            and metered_lines.billed_date = fx_rates.rate_date
),

final as (
    select
        account_id,
        month_start,
        cast({{ round_money('sum(usage_revenue)') }} as decimal(38, 2)) as usage_revenue
    from converted
    group by
        account_id,
        month_start
)

select * from final
