-- One row per calendar day from var earliest_billing_date to a year after the as-of date: the time
-- spine MetricFlow joins metrics to (the semantic layer, models/semantic). Empty on an empty warehouse
-- (no as-of date), like every mart. Built from integer_series (100,000 days) so the same SQL runs on
-- DuckDB, PostgreSQL and Spark (no generate_series).
with as_of as (
    select * from {{ ref('util_as_of_date') }}
),

day_numbers as (
    select integer_value as day_number
    from ({{ integer_series(5) }}) as integer_series
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
