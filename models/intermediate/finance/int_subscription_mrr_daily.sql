-- MRR per subscription and day on the days it counts as revenue: gross MRR of its items, net of the
-- coupon in force that day (percent off; amount off per billing period normalised to a month like the
-- price), never below 0, then converted to the reporting currency at the rate in force that day.
-- Unrounded: money is rounded to cents per account and day (int_account_mrr_daily).
with item_days as (
    select * from {{ ref('int_subscription_items_mrr_daily') }}
),

discount_periods as (
    select * from {{ ref('int_subscription_discount_periods') }}
),

fx_rates as (
    select * from {{ ref('int_fx_rates_daily') }}
),

subscription_days as (
    select
        account_id,
        customer_id,
        subscription_id,
        mrr_date,
        currency,
        cast(sum(gross_mrr_local) as decimal(38, 10)) as gross_mrr_local,
        sum(case when is_seat then quantity else 0 end) as seats,
        -- a subscription bills all its items on one interval
        max(months_numerator) as months_numerator,
        max(months_denominator) as months_denominator
    from item_days
    group by
        account_id,
        customer_id,
        subscription_id,
        mrr_date,
        currency
),

discounts_in_force as (
    select
        subscription_days.subscription_id,
        subscription_days.mrr_date,
        max(discount_periods.percent_off) as percent_off,
        sum(discount_periods.amount_off) as amount_off,
        min(discount_periods.coupon_id) as coupon_id
    from subscription_days
    inner join discount_periods
        on subscription_days.subscription_id = discount_periods.subscription_id
            and subscription_days.mrr_date >= discount_periods.first_discounted_date
            and (
                discount_periods.last_discounted_date is null
                or subscription_days.mrr_date <= discount_periods.last_discounted_date
            )
    group by
        subscription_days.subscription_id,
        subscription_days.mrr_date
),

discounted as (
    select
        subscription_days.*,
        discounts_in_force.coupon_id,
        discounts_in_force.percent_off,
        discounts_in_force.amount_off,
        cast(
            subscription_days.gross_mrr_local * (100 - coalesce(discounts_in_force.percent_off, 0)) / 100
            - coalesce(discounts_in_force.amount_off, 0) * subscription_days.months_numerator
            / subscription_days.months_denominator
            as decimal(38, 10)
        ) as net_mrr_local
    from subscription_days
    left join discounts_in_force
        on subscription_days.subscription_id = discounts_in_force.subscription_id
            and subscription_days.mrr_date = discounts_in_force.mrr_date
),

final as (
    select
        discounted.account_id,
        discounted.customer_id,
        discounted.subscription_id,
        discounted.mrr_date,
        discounted.currency,
        discounted.seats,
        discounted.coupon_id,
        discounted.percent_off,
        discounted.amount_off,
        discounted.gross_mrr_local,
        cast(case when discounted.net_mrr_local > 0 then discounted.net_mrr_local else 0 end as decimal(38, 10))
            as mrr_local,
        fx_rates.rate_to_reporting as fx_rate,
        cast(
            case when discounted.net_mrr_local > 0 then discounted.net_mrr_local else 0 end
            * fx_rates.rate_to_reporting
            as decimal(38, 10)
        ) as mrr
    from discounted
    left join fx_rates
        on discounted.currency = fx_rates.currency
            and discounted.mrr_date = fx_rates.rate_date
)

select * from final
