-- Every price an invoice line or subscription item can name, one row per id: Stripe prices and the
-- legacy plans of older accounts (their items' plan_id is a plan id). An id in both tables is read
-- from the price (Stripe lists a plan as a price with the same id and terms). Deleted prices and plans
-- are kept: lines billed before the deletion still resolve. usage_type metered = billed per unit of
-- reported usage (usage revenue, never MRR).
with prices as (
    select * from {{ ref('stg_stripe__prices') }}
),

plans as (
    select * from {{ ref('stg_stripe__plans') }}
),

price_rows as (
    select
        price_id,
        product_id,
        unit_amount,
        currency,
        recurring_interval,
        recurring_interval_count,
        price_type,
        coalesce(usage_type, 'licensed') as usage_type,
        billing_scheme,
        is_deleted,
        'price' as price_source
    from prices
),

plan_rows as (
    select
        plans.plan_id as price_id,
        plans.product_id,
        plans.unit_amount,
        plans.currency,
        plans.recurring_interval,
        plans.recurring_interval_count,
        'recurring' as price_type,
        coalesce(plans.usage_type, 'licensed') as usage_type,
        plans.billing_scheme,
        plans.is_deleted,
        'plan' as price_source
    from plans
    left join prices
        on plans.plan_id = prices.price_id
    where prices.price_id is null
),

final as (
    select * from price_rows
    union all
    select * from plan_rows
)

select * from final
