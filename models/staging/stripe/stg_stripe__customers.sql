-- Billing customers, one row each; metadata_status says whether the account link could be read.
with base as (
    select * from {{ ref('base_stripe__customer') }}
),

kept as (
    select
        customer_id,
        customer_name,
        email,
        created_at,
        currency,
        is_deleted,
        metadata_account_id,
        metadata_status
    from base
    where rejection_reason is null
        and delivery_rank = 1
)

select * from kept
