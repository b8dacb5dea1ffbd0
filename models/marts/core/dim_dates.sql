-- One row per calendar day from var earliest_billing_date to the end of 2099: the time spine
-- MetricFlow joins metrics to (the semantic layer, models/semantic). Built from digits so the same
-- SQL runs on DuckDB, PostgreSQL and Spark (no generate_series); independent of the data.
with digits as (
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
    select date_day
    from days
    where date_day < cast('2100-01-01' as date)
)

select * from final
