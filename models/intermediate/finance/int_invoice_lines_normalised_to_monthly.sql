-- Recurring invoice lines with the gross MRR each adds on the days it covers, in the line's currency:
-- quantity × the price normalised to a month. A proration line adds the same at the full-period rate,
-- signed by its amount (the credit for the old quantity negative, the charge for the new one positive).
-- One-time prices, metered prices (usage revenue: int_account_usage_revenue_monthly), lines of no
-- subscription, void invoices and $0 regular lines (trials) add nothing. The price is a Stripe price or a
-- legacy plan (int_prices_unioned_with_plans). Where the line has unit_amount_excluding_tax, the price
-- is counted net of tax: × the line's tax_exclusive_share (unit_amount_excluding_tax × quantity ÷ amount,
-- at most 1), so a tax-inclusive price never inflates MRR. is_seat: the quantity is licensed seats
-- (macro is_seat_price: the product's seat unit_label, else a per-unit price; var seat_products narrows).
-- Discounts are applied per subscription and day from the coupon in force (int_subscription_mrr_daily).
-- A negative regular (non-proration) line is a credit, never MRR: it must reverse an earlier charge of the
-- same subscription item, price, period, quantity and amount (mrr_rule `reversal`, adds nothing). The
-- reversed charge is replaced by a charge of the same item and period that is not reversed (a re-bill,
-- `reversed_rebilled`, adds nothing); without one, the latest reversed charge still counts
-- (`reversed_credited`: the credit is a cash event, the subscription still recurs at that price). Any
-- other negative regular line is `unclassified_credit`: it adds nothing and the singular test
-- assert_no_unclassified_negative_recurring_lines stops the build naming it.
with invoice_lines as (
    select * from {{ ref('stg_stripe__invoice_line_items') }}
),

invoices as (
    select * from {{ ref('stg_stripe__invoices') }}
),

prices as (
    select * from {{ ref('int_prices_unioned_with_plans') }}
),

products as (
    select * from {{ ref('stg_stripe__products') }}
),

-- does the catalogue label its seats? then unit_label decides which prices are seats (macro is_seat_price)
catalogue as (
    select coalesce(max(case when {{ is_seat_unit_label('unit_label') }} then 1 else 0 end), 0) = 1 as has_seat_labels
    from products
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
        {{ is_seat_price(
            'prices.billing_scheme', 'products.unit_label', 'catalogue.has_seat_labels',
            'prices.product_id', 'products.product_name'
        ) }} as is_seat,
        invoice_lines.currency,
        invoice_lines.is_proration,
        invoice_lines.quantity,
        invoice_lines.amount,
        invoice_lines.discount_amount,
        invoice_lines.unit_amount_excluding_tax,
        {{ tax_exclusive_share(
            'invoice_lines.unit_amount_excluding_tax', 'invoice_lines.quantity', 'invoice_lines.amount'
        ) }} as tax_exclusive_share,
        prices.unit_amount,
        prices.price_source,
        prices.recurring_interval,
        prices.recurring_interval_count,
        invoice_lines.period_start_at,
        invoice_lines.period_end_at,
        invoices.created_at as invoice_created_at
    from invoice_lines
    inner join prices
        on invoice_lines.price_id = prices.price_id
    inner join invoices
        on invoice_lines.invoice_id = invoices.invoice_id
    left join products
        on prices.product_id = products.product_id
    cross join catalogue
    where prices.price_type = 'recurring'
        and coalesce(prices.usage_type, 'licensed') <> 'metered'
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

charges_and_credits as (
    -- regular lines with an amount, ranked per reversal key so that the n-th credit reverses the n-th
    -- charge (one to one, oldest first)
    select
        invoice_line_item_id,
        subscription_id,
        subscription_item_id,
        period_start_at,
        period_end_at,
        invoice_created_at,
        case when amount > 0 then 'charge' else 'credit' end as side,
        row_number() over (
            partition by
                subscription_id,
                subscription_item_id,
                price_id,
                period_start_at,
                period_end_at,
                coalesce(quantity, 1),
                abs(amount),
                case when amount > 0 then 'charge' else 'credit' end
            order by invoice_created_at, invoice_line_item_id
        ) as match_rank,
        price_id,
        coalesce(quantity, 1) as match_quantity,
        abs(amount) as match_amount
    from normalised
    where not is_proration
        and amount <> 0
),

matched as (
    select
        charges_and_credits.invoice_line_item_id,
        charges_and_credits.subscription_id,
        charges_and_credits.subscription_item_id,
        charges_and_credits.period_start_at,
        charges_and_credits.period_end_at,
        charges_and_credits.invoice_created_at,
        charges_and_credits.side,
        counterparts.invoice_line_item_id is not null as is_matched
    from charges_and_credits
    left join charges_and_credits as counterparts
        on charges_and_credits.subscription_id = counterparts.subscription_id
            and (
                charges_and_credits.subscription_item_id = counterparts.subscription_item_id
                or (charges_and_credits.subscription_item_id is null and counterparts.subscription_item_id is null)
            )
            and charges_and_credits.price_id = counterparts.price_id
            and charges_and_credits.period_start_at = counterparts.period_start_at
            and charges_and_credits.period_end_at = counterparts.period_end_at
            and charges_and_credits.match_quantity = counterparts.match_quantity
            and charges_and_credits.match_amount = counterparts.match_amount
            and charges_and_credits.match_rank = counterparts.match_rank
            and charges_and_credits.side <> counterparts.side
),

charges_per_period as (
    -- per subscription item and service period: is any charge not reversed (a re-bill or the original)?
    select
        invoice_line_item_id,
        side,
        is_matched,
        max(case when side = 'charge' and not is_matched then 1 else 0 end) over (
            partition by subscription_id, subscription_item_id, period_start_at, period_end_at
        ) as has_unreversed_charge,
        row_number() over (
            partition by subscription_id, subscription_item_id, period_start_at, period_end_at, side, is_matched
            order by invoice_created_at desc, invoice_line_item_id desc
        ) as recency_rank
    from matched
),

classified as (
    select
        normalised.*,
        case
            when normalised.is_proration then 'proration'
            when normalised.amount = 0 then 'trial'
            when charges_per_period.side = 'credit' and charges_per_period.is_matched then 'reversal'
            when charges_per_period.side = 'credit' then 'unclassified_credit'
            when not charges_per_period.is_matched then 'regular'
            when charges_per_period.has_unreversed_charge = 0 and charges_per_period.recency_rank = 1
                then 'reversed_credited'
            else 'reversed_rebilled'
        end as mrr_rule
    from normalised
    left join charges_per_period
        on normalised.invoice_line_item_id = charges_per_period.invoice_line_item_id
),

valued as (
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
        mrr_rule,
        quantity,
        -- only the rules that add MRR add quantity (seats)
        case
            when mrr_rule in ('reversal', 'reversed_rebilled', 'unclassified_credit') then 0
            else signed_quantity
        end as signed_quantity,
        amount,
        discount_amount,
        unit_amount,
        tax_exclusive_share,
        price_source,
        recurring_interval,
        recurring_interval_count,
        months_numerator,
        months_denominator,
        period_start_at,
        period_end_at,
        -- 10 decimals: exact enough below the cent, and the same value on every engine
        cast(unit_amount * tax_exclusive_share * months_numerator / months_denominator as decimal(38, 10))
            as monthly_unit_amount,
        cast(
            case
                when mrr_rule in ('trial', 'reversal', 'reversed_rebilled', 'unclassified_credit') then 0
                else signed_quantity * unit_amount * tax_exclusive_share * months_numerator / months_denominator
            end as decimal(38, 10)
        ) as monthly_gross_amount
    from classified
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
        mrr_rule,
        quantity,
        signed_quantity,
        amount,
        discount_amount,
        unit_amount,
        tax_exclusive_share,
        price_source,
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
