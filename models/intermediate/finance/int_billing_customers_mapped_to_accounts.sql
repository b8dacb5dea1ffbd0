-- Every Stripe customer with the account its revenue belongs to. The metadata key account_id is the
-- Segment group id. A customer whose account_id matches no Segment group is still an account
-- (billing_only); a customer without a readable account_id becomes an account of its own, keyed by
-- its customer id (after var unmapped_customer_account_prefix, default empty), so no revenue is ever
-- dropped. Both are listed in mon_billing_customers_unmapped.
with customers as (
    select * from {{ ref('stg_stripe__customers') }}
),

segment_groups as (
    select * from {{ ref('stg_segment__groups') }}
),

segment_accounts as (
    select distinct account_id
    from segment_groups
    where account_id is not null
),

mapped as (
    select
        customers.customer_id,
        customers.customer_name,
        customers.created_at as customer_created_at,
        customers.currency as customer_currency,
        customers.is_deleted,
        customers.metadata_status,
        customers.metadata_account_id,
        coalesce(
            customers.metadata_account_id,
            {{ dbt.concat(["'" ~ var('unmapped_customer_account_prefix') ~ "'", 'customers.customer_id']) }}
        ) as account_id,
        case
            when customers.metadata_account_id is null then 'no_account_id'
            when segment_accounts.account_id is null then 'billing_only'
            else 'matched'
        end as mapping_status
    from customers
    left join segment_accounts
        on customers.metadata_account_id = segment_accounts.account_id
),

final as (
    select * from mapped
)

select * from final
