-- The rate to the reporting currency in force on every billing day: the seed row with the latest
-- valid_from on or before the day.
with fx_rates as (
    select * from {{ ref('fx_rates') }}
),

billing_days as (
    select * from {{ ref('util_billing_days') }}
),

rate_periods as (
    select
        lower(currency) as currency,
        rate_to_reporting,
        valid_from,
        lead(valid_from) over (
            partition by lower(currency)
            order by valid_from
        ) as next_valid_from
    from fx_rates
),

final as (
    select
        rate_periods.currency,
        billing_days.date_day as rate_date,
        rate_periods.rate_to_reporting,
        rate_periods.valid_from
    from rate_periods
    inner join billing_days
        on billing_days.date_day >= rate_periods.valid_from
            and (rate_periods.next_valid_from is null or billing_days.date_day < rate_periods.next_valid_from)
)

select * from final
