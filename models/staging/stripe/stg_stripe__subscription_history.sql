-- Subscription versions (one row per subscription × Fivetran version).
with base as (
    select * from {{ ref('base_stripe__subscription_history') }}
),

kept as (
    select
        subscription_id,
        customer_id,
        status,
        created_at,
        started_at,
        current_period_start_at,
        current_period_end_at,
        is_cancel_at_period_end,
        canceled_at,
        ended_at,
        trial_start_at,
        trial_end_at,
        valid_from,
        valid_to,
        is_current_version
    from base
    where rejection_reason is null
        and delivery_rank = 1
)

select * from kept
