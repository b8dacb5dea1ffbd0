-- The MRR calendar (util_billing_days) is a fixed series of 100,000 days from its first day: a span longer
-- than that (var earliest_billing_date set centuries back, with billing data that old) would end the
-- calendar before the as-of date and leave every later MRR day out. The build stops instead. Returns the
-- calendar's first and last day and the as-of date when the calendar ends early.
with calendar as (
    select
        min(date_day) as first_date,
        max(date_day) as last_date,
        count(*) as day_count
    from {{ ref('util_billing_days') }}
),

as_of as (
    select as_of_date from {{ ref('util_as_of_date') }}
),

short as (
    select
        calendar.first_date,
        calendar.last_date,
        calendar.day_count,
        as_of.as_of_date
    from calendar
    cross join as_of
    where calendar.day_count > 0
        and calendar.last_date < as_of.as_of_date
)

select * from short
