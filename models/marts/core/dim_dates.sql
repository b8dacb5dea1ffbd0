-- One row per calendar day from var earliest_billing_date to a year after the as-of date: the time
-- spine MetricFlow joins metrics to (the semantic layer, models/semantic). Empty on an empty warehouse
-- (no as-of date), like every mart. Built from digits (100,000 days) so the same SQL runs on DuckDB,
-- PostgreSQL and Spark (no generate_series).
with as_of as (
    select * from {{ ref('util_as_of_date') }}
),

digits as (
    select 0 as digit
    union all
    select 1
    union all
    select 2
    union all
    select 3
    union all
    select 4
    union all
    select 5
    union all
    select 6
    union all
    select 7
    union all
    select 8
    union all
    select 9
),

day_numbers as (
    select
        ten_thousands.digit * 10000
        + thousands.digit * 1000
        + hundreds.digit * 100
        + tens.digit * 10
        + ones.digit as day_number
    from digits as ten_thousands
    cross join digits as thousands
    cross join digits as hundreds
    cross join digits as tens
    cross join digits as ones
),

days as (
    select
        cast({{ dbt.dateadd('day', 'day_number', "cast('" ~ var('earliest_billing_date') ~ "' as date)") }} as date)
            as date_day
    from day_numbers
),

final as (
    select days.date_day
    from days
    cross join as_of
    where days.date_day <= cast({{ dbt.dateadd('day', 366, 'as_of.as_of_date') }} as date)
)

select * from final
