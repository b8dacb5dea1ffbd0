-- The coupons in force on each subscription and the days they cover (the days whose end falls between
-- the discount's start and its end). A repeating coupon without an end lasts duration_in_months from its
-- start; a forever coupon has no end. A `once` coupon discounts one invoice, not the recurring revenue,
-- so it is left out of MRR.
with discounts as (
    select * from {{ ref('stg_stripe__discounts') }}
),

coupons as (
    select * from {{ ref('stg_stripe__coupons') }}
),

subscription_discounts as (
    select
        discounts.discount_id,
        coalesce(discounts.subscription_id, discounts.type_id) as subscription_id,
        discounts.customer_id,
        discounts.coupon_id,
        coupons.duration,
        coupons.duration_in_months,
        coupons.percent_off,
        coupons.amount_off,
        coupons.currency as coupon_currency,
        discounts.started_at,
        coalesce(
            discounts.ended_at,
            case
                when coupons.duration = 'repeating'
                    then {{ dbt.dateadd('month', 'coupons.duration_in_months', 'discounts.started_at') }}
            end
        ) as ended_at
    from discounts
    inner join coupons
        on discounts.coupon_id = coupons.coupon_id
    where discounts.discount_type = 'subscription'
        and coupons.duration <> 'once'
),

final as (
    select
        discount_id,
        subscription_id,
        customer_id,
        coupon_id,
        duration,
        duration_in_months,
        percent_off,
        amount_off,
        coupon_currency,
        started_at,
        ended_at,
        cast(started_at as date) as first_discounted_date,
        cast({{ dbt.dateadd('day', -1, 'cast(ended_at as date)') }} as date) as last_discounted_date
    from subscription_discounts
)

select * from final
