-- One row per day from the first day anything was billed (earliest invoice line period or
-- subscription version, not before var earliest_billing_date) to the as-of date: the calendar of the MRR
-- timeline.
with invoice_lines as (
    select * from {{ ref('stg_stripe__invoice_line_items') }}
),

subscription_history as (
    select * from {{ ref('stg_stripe__subscription_history') }}
),

billing_starts as (
    select cast(min(period_start_at) as date) as first_date from invoice_lines
    union all
    select cast(min(valid_from) as date) as first_date from subscription_history
),

bounds as (
    -- never before var earliest_billing_date: a far-past Stripe time (a subscription version dated
    -- 0001-01-01) cannot stretch the calendar past its series (integer_series(5): 100,000 days, from
    -- 2000-01-01 that is the year 2273); assert_billing_calendar_reaches_as_of_date stops a shorter one
    select
        case
            when min(first_date) < cast({{ earliest_billing_timestamp() }} as date)
                then cast({{ earliest_billing_timestamp() }} as date)
            else min(first_date)
        end as first_date,
        {{ as_of_date_sql() }} as last_date
    from billing_starts
),

day_offsets as (
    {{ integer_series(5) }}
),

days as (
    select cast({{ dbt.dateadd('day', 'day_offsets.integer_value', 'bounds.first_date') }} as date) as date_day
    from bounds
    inner join day_offsets
        on day_offsets.integer_value <= {{ dbt.datediff('bounds.first_date', 'bounds.last_date', 'day') }}
),

final as (
    select date_day from days
)

select * from final
