-- The coupons in force on each subscription and the days they cover (the days whose end falls between
-- the discount's start and its end). The subscription's discounts are read as Fivetran lands them: rows of
-- `discount` of type subscription (type_id, or subscription_id, names the subscription), rows of type
-- customer that name a subscription (how Fivetran once landed subscription discounts), and rows of the
-- older `subscription_discount` table; one discount id named in both counts once. A repeating coupon
-- without an end lasts duration_in_months from its start; a forever coupon has no end. A `once` coupon
-- discounts one invoice, not the recurring revenue, so it is left out of MRR. A discount deleted at the
-- source (removed from the subscription) ends when Fivetran saw it deleted (stg_stripe__discounts).
with discounts as (
    select * from {{ ref('stg_stripe__discounts') }}
),

legacy_subscription_discounts as (
    select * from {{ ref('stg_stripe__subscription_discounts') }}
),

coupons as (
    select * from {{ ref('stg_stripe__coupons') }}
),

discount_rows as (
    select
        discount_id,
        case when discount_type = 'subscription' then coalesce(subscription_id, type_id) else subscription_id end
            as subscription_id,
        customer_id,
        coupon_id,
        started_at,
        ended_at
    from discounts
    where discount_type = 'subscription'
        or (discount_type = 'customer' and subscription_id is not null)
),

legacy_rows as (
    select
        legacy_subscription_discounts.discount_id,
        legacy_subscription_discounts.subscription_id,
        legacy_subscription_discounts.customer_id,
        legacy_subscription_discounts.coupon_id,
        legacy_subscription_discounts.started_at,
        legacy_subscription_discounts.ended_at
    from legacy_subscription_discounts
    left join discount_rows
        on legacy_subscription_discounts.discount_id = discount_rows.discount_id
            and legacy_subscription_discounts.subscription_id = discount_rows.subscription_id
    where discount_rows.discount_id is null
),

all_subscription_discounts as (
    select * from discount_rows
    union all
    select * from legacy_rows
),

subscription_discounts as (
    select
        discounts.discount_id,
        discounts.subscription_id,
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
    from all_subscription_discounts as discounts
    inner join coupons
        on discounts.coupon_id = coupons.coupon_id
    where discounts.subscription_id is not null
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
