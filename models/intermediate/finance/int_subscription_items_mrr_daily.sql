-- Gross MRR per subscription item, price and day, on the days the subscription counts as revenue.
-- Quantity in force = signed sum of the quantities of the recurring lines covering the day (a line
-- covers the days whose end falls inside its period); gross MRR = sum of the lines' monthly amounts,
-- in the line currency, before discounts (applied per subscription in int_subscription_mrr_daily).
with invoice_lines as (
    select * from {{ ref('int_invoice_lines_normalised_to_monthly') }}
),

billing_days as (
    select * from {{ ref('util_billing_days') }}
),

status_periods as (
    select * from {{ ref('int_subscription_status_periods') }}
),

customers as (
    select * from {{ ref('int_billing_customers_mapped_to_accounts') }}
),

line_days as (
    select
        invoice_lines.subscription_id,
        invoice_lines.subscription_item_id,
        invoice_lines.price_id,
        invoice_lines.product_id,
        invoice_lines.is_seat,
        invoice_lines.currency,
        invoice_lines.signed_quantity,
        invoice_lines.monthly_gross_amount,
        invoice_lines.months_numerator,
        invoice_lines.months_denominator,
        billing_days.date_day
    from invoice_lines
    inner join billing_days
        on billing_days.date_day >= invoice_lines.first_covered_date
            and billing_days.date_day <= invoice_lines.last_covered_date
),

item_days as (
    select
        subscription_id,
        subscription_item_id,
        price_id,
        product_id,
        is_seat,
        currency,
        date_day as mrr_date,
        sum(signed_quantity) as quantity,
        cast(sum(monthly_gross_amount) as decimal(38, 10)) as gross_mrr_local,
        max(months_numerator) as months_numerator,
        max(months_denominator) as months_denominator,
        count(*) as line_count
    from line_days
    group by
        subscription_id,
        subscription_item_id,
        price_id,
        product_id,
        is_seat,
        currency,
        date_day
),

revenue_days as (
    -- cut by the status in force at the end of the day and by ended_at
    select
        item_days.*,
        status_periods.customer_id,
        status_periods.status as subscription_status
    from item_days
    inner join status_periods
        on item_days.subscription_id = status_periods.subscription_id
            and item_days.mrr_date >= status_periods.in_force_from_date
            and (status_periods.in_force_to_date is null or item_days.mrr_date <= status_periods.in_force_to_date)
    where status_periods.is_revenue_status
        and (status_periods.last_running_date is null or item_days.mrr_date <= status_periods.last_running_date)
),

final as (
    select
        coalesce(
            customers.account_id,
            {{ dbt.concat(["'" ~ var('unmapped_customer_account_prefix') ~ "'", 'revenue_days.customer_id']) }}
        ) as account_id,
        revenue_days.customer_id,
        revenue_days.subscription_id,
        revenue_days.subscription_item_id,
        revenue_days.price_id,
        revenue_days.product_id,
        revenue_days.is_seat,
        revenue_days.mrr_date,
        revenue_days.subscription_status,
        revenue_days.currency,
        revenue_days.quantity,
        revenue_days.line_count,
        revenue_days.months_numerator,
        revenue_days.months_denominator,
        revenue_days.gross_mrr_local
    from revenue_days
    left join customers
        on revenue_days.customer_id = customers.customer_id
    where revenue_days.quantity <> 0
        or revenue_days.gross_mrr_local <> 0
)

select * from final
