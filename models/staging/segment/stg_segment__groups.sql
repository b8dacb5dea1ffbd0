-- Group calls (user joins account): first delivery of each message id; unusable rows set aside.
with base as (
    select * from {{ ref('base_segment__groups') }}
),

kept as (
    select
        group_call_id,
        anonymous_id,
        user_id,
        account_id,
        grouped_at,
        received_at,
        account_name,
        plan,
        industry,
        employees,
        has_invalid_employees,
        account_created_at
    from base
    where rejection_reason is null
        and delivery_rank = 1
)

select * from kept
