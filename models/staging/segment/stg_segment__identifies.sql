-- Identify calls: first delivery of each message id; unusable rows set aside.
with base as (
    select * from {{ ref('base_segment__identifies') }}
),

kept as (
    select
        identify_id,
        anonymous_id,
        user_id,
        identified_at,
        received_at,
        email,
        user_name,
        user_role
    from base
    where rejection_reason is null
        and delivery_rank = 1
)

select * from kept
