-- Billing customers whose revenue cannot be tied to a Segment account, with their MRR: no readable
-- account_id in metadata (booked to an account of their own), an account_id that matches no Segment
-- group (a billing-only account), or subscriptions of a customer missing from stripe.customer.
-- Their revenue stays in every MRR mart; this list is for fixing the link at the source.
with customers as (
    select * from {{ ref('int_billing_customers_mapped_to_accounts') }}
),

item_days as (
    select * from {{ ref('int_subscription_mrr_daily') }}
),

as_of as (
    select {{ as_of_date_sql() }} as as_of_date
),

customer_revenue as (
    select
        item_days.customer_id,
        max(item_days.account_id) as account_id,
        sum(case when item_days.mrr_date = as_of.as_of_date then item_days.mrr else 0 end) as current_mrr,
        min(item_days.mrr_date) as first_revenue_date,
        max(item_days.mrr_date) as last_revenue_date
    from item_days
    inner join as_of
        on item_days.mrr_date <= as_of.as_of_date
    group by item_days.customer_id
),

unmapped as (
    select
        customers.customer_id,
        customers.customer_name,
        customers.mapping_status,
        customers.metadata_status,
        customers.metadata_account_id,
        customers.account_id
    from customers
    where customers.mapping_status <> 'matched'
    union all
    select
        customer_revenue.customer_id,
        cast(null as {{ dbt.type_string() }}) as customer_name,
        'unknown_customer' as mapping_status,
        cast(null as {{ dbt.type_string() }}) as metadata_status,
        cast(null as {{ dbt.type_string() }}) as metadata_account_id,
        customer_revenue.account_id
    from customer_revenue
    left join customers
        on customer_revenue.customer_id = customers.customer_id
    where customers.customer_id is null
),

final as (
    select
        unmapped.customer_id,
        unmapped.customer_name,
        unmapped.mapping_status,
        unmapped.metadata_status,
        unmapped.metadata_account_id,
        unmapped.account_id,
        {{ round_money('coalesce(customer_revenue.current_mrr, 0)') }} as current_mrr,
        customer_revenue.first_revenue_date,
        customer_revenue.last_revenue_date
    from unmapped
    left join customer_revenue
        on unmapped.customer_id = customer_revenue.customer_id
)

select * from final
