{#- Stripe rows kept as Stripe states them although a time is before var earliest_billing_date (setting them
    aside would drop a subscription's status, an invoice's lines or a customer's account link; DECISIONLOG):
    counted as flagged. -#}
{%- set billing_time_checks = [
    ('stg_stripe__customers', 'stripe.customer', ['created_at']),
    ('stg_stripe__subscription_history', 'stripe.subscription_history', [
        'created_at', 'started_at', 'current_period_start_at', 'current_period_end_at', 'canceled_at',
        'ended_at', 'trial_start_at', 'trial_end_at', 'valid_from']),
    ('stg_stripe__subscription_items', 'stripe.subscription_item', ['created_at']),
    ('stg_stripe__discounts', 'stripe.discount', ['started_at', 'ended_at']),
    ('stg_stripe__invoices', 'stripe.invoice', ['created_at', 'period_start_at', 'period_end_at']),
] %}
{#- Stripe records kept although deleted (DECISIONLOG): a deleted customer's past revenue stays, and what a
    deleted price, plan or product billed still resolves; counted as flagged. -#}
{%- set kept_deleted_checks = [
    ('base_stripe__customer', 'stripe.customer', true),
    ('base_stripe__price', 'stripe.price', true),
    ('base_stripe__plan', 'stripe.plan', true),
    ('base_stripe__product', 'stripe.product', true),
    ('base_stripe__coupon', 'stripe.coupon', false),
    ('base_stripe__discount', 'stripe.discount', false),
    ('base_stripe__subscription_discount', 'stripe.subscription_discount', false),
] %}

-- Every raw row accounted for: per source table, how many were kept, were duplicate deliveries
-- of a message id, or were set aside, and why. raw rows = kept + duplicate + rejected.
with audit as (
    {{ source_row_audit('base_segment__tracks', 'segment.tracks') }}
    union all
    {{ source_row_audit('base_segment__pages', 'segment.pages') }}
    union all
    {{ source_row_audit('base_segment__screens', 'segment.screens') }}
    union all
    {{ source_row_audit('base_segment__identifies', 'segment.identifies') }}
    union all
    {{ source_row_audit('base_segment__groups', 'segment.groups') }}
    union all
    {{ source_row_audit('base_stripe__customer', 'stripe.customer') }}
    union all
    {{ source_row_audit('base_stripe__subscription_history', 'stripe.subscription_history') }}
    union all
    {{ source_row_audit('base_stripe__subscription_item', 'stripe.subscription_item') }}
    union all
    {{ source_row_audit('base_stripe__price', 'stripe.price') }}
    union all
    {{ source_row_audit('base_stripe__plan', 'stripe.plan') }}
    union all
    {{ source_row_audit('base_stripe__product', 'stripe.product') }}
    union all
    {{ source_row_audit('base_stripe__coupon', 'stripe.coupon') }}
    union all
    {{ source_row_audit('base_stripe__discount', 'stripe.discount') }}
    union all
    {{ source_row_audit('base_stripe__subscription_discount', 'stripe.subscription_discount') }}
    union all
    {{ source_row_audit('base_stripe__invoice', 'stripe.invoice') }}
    union all
    {{ source_row_audit('base_stripe__invoice_line_item', 'stripe.invoice_line_item') }}
    union all
    {{ source_row_audit('base_stripe__credit_note', 'stripe.credit_note') }}
),

flags as (
    -- rows kept but with a problem worth counting
    select
        'stripe.customer' as source_table,
        'flagged' as disposition,
        {{ dbt.concat(["'metadata_'", 'metadata_status']) }} as reason,
        count(*) as row_count
    from {{ ref('stg_stripe__customers') }}
    where metadata_status <> 'ok'
    group by 1, 2, 3
    union all
    select
        'segment.groups' as source_table,
        'flagged' as disposition,
        'invalid_employees' as reason,
        count(*) as row_count
    from {{ ref('stg_segment__groups') }}
    where has_invalid_employees
    group by 1, 2, 3
    {%- for model, source_table, has_is_deleted in kept_deleted_checks %}
        union all
        select
            '{{ source_table }}' as source_table,
            'flagged' as disposition,
            case when is_deleted_at_source then 'deleted_at_source' else 'deleted_in_stripe' end as reason,
            count(*) as row_count
        from {{ ref(model) }}
        where rejection_reason is null
            and delivery_rank = 1
            and ({% if has_is_deleted %}is_deleted or {% endif %}is_deleted_at_source)
        group by 1, 2, 3
    {%- endfor %}
    {%- for model, source_table, columns in billing_time_checks %}
        union all
        select
            '{{ source_table }}' as source_table,
            'flagged' as disposition,
            'time_before_earliest_billing_date' as reason,
            count(*) as row_count
        from {{ ref(model) }}
        where {{ before_earliest_billing_date(columns) }}
        group by 1, 2, 3
    {%- endfor %}
),

final as (
    select * from audit
    union all
    select * from flags
)

select * from final
