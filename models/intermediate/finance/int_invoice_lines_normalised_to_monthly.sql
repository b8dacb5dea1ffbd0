-- Recurring invoice lines with the gross MRR each adds on the days it covers, in the line's currency:
-- quantity × the price normalised to a month. A proration line adds the same at the full-period rate,
-- signed by its amount (the credit for the old quantity negative, the charge for the new one positive).
-- One-time prices, lines of no subscription, void invoices and $0 regular lines (trials) add nothing.
-- Discounts are applied per subscription and day from the coupon in force (int_subscription_mrr_daily).
with invoice_lines as (
    select * from {{ ref('stg_stripe__invoice_line_items') }}
),

invoices as (
    select * from {{ ref('stg_stripe__invoices') }}
),

prices as (
    select * from {{ ref('stg_stripe__prices') }}
),

products as (
    select * from {{ ref('stg_stripe__products') }}
),

recurring_lines as (
    select
        invoice_lines.invoice_line_item_id,
        invoice_lines.invoice_id,
        invoices.customer_id,
        invoice_lines.subscription_id,
        invoice_lines.subscription_item_id,
        invoice_lines.price_id,
        prices.product_id,
        products.product_name,
        {{ is_seat_product('prices.product_id', 'products.product_name') }} as is_seat,
        invoice_lines.currency,
        invoice_lines.is_proration,
        invoice_lines.quantity,
        invoice_lines.amount,
        invoice_lines.discount_amount,
        prices.unit_amount,
        prices.recurring_interval,
        prices.recurring_interval_count,
        invoice_lines.period_start_at,
        invoice_lines.period_end_at
    from invoice_lines
    inner join prices
        on invoice_lines.price_id = prices.price_id
    inner join invoices
        on invoice_lines.invoice_id = invoices.invoice_id
    left join products
        on prices.product_id = products.product_id
    where prices.price_type = 'recurring'
        and invoice_lines.subscription_id is not null
        and invoices.invoice_status <> 'void'
),

normalised as (
    select
        *,
        -- months per billing period as a fraction: month / count, year / (12 × count),
        -- week × 52 / (12 × count), day × 365 / (12 × count); the division comes last
        case recurring_interval
            when 'week' then 52
            when 'day' then 365
            else 1
        end as months_numerator,
        case recurring_interval
            when 'month' then recurring_interval_count
            when 'year' then 12 * recurring_interval_count
            when 'week' then 12 * recurring_interval_count
            when 'day' then 12 * recurring_interval_count
        end as months_denominator,
        case when amount < 0 then -1 else 1 end * coalesce(quantity, 1) as signed_quantity
    from recurring_lines
),

valued as (
    select
        *,
        -- 10 decimals: exact enough below the cent, and the same value on every engine
        cast(unit_amount * months_numerator / months_denominator as decimal(38, 10)) as monthly_unit_amount,
        cast(
            case
                when not is_proration and amount = 0 then 0
                else signed_quantity * unit_amount * months_numerator / months_denominator
            end as decimal(38, 10)
        ) as monthly_gross_amount
    from normalised
),

final as (
    select
        invoice_line_item_id,
        invoice_id,
        customer_id,
        subscription_id,
        subscription_item_id,
        price_id,
        product_id,
        product_name,
        is_seat,
        currency,
        is_proration,
        quantity,
        signed_quantity,
        amount,
        discount_amount,
        unit_amount,
        recurring_interval,
        recurring_interval_count,
        months_numerator,
        months_denominator,
        monthly_unit_amount,
        monthly_gross_amount,
        period_start_at,
        period_end_at,
        cast(period_start_at as date) as first_covered_date,
        cast({{ dbt.dateadd('day', -1, 'cast(period_end_at as date)') }} as date) as last_covered_date
    from valued
)

select * from final
