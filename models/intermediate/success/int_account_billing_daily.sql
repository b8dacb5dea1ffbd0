-- Account × day billing state, point in time, for every account that has paid: MRR and ARR on the
-- day (int_account_mrr_daily), licensed seats on the day (quantity in force of seat products on the
-- day, int_subscription_items_mrr_daily) and the next renewal date seen on the day (the earliest end
-- of the paid periods covering the day of the subscriptions counting as revenue), plus the median
-- MRR of the accounts paying on that day (the "high MRR" line of the Revenue × Health quadrant).
with account_mrr_days as (
    select * from {{ ref('int_account_mrr_daily') }}
),

item_mrr_days as (
    select * from {{ ref('int_subscription_items_mrr_daily') }}
),

invoice_lines as (
    select * from {{ ref('int_invoice_lines_normalised_to_monthly') }}
),

seats_per_day as (
    select
        account_id,
        mrr_date,
        sum(case when is_seat then quantity else 0 end) as licensed_seats
    from item_mrr_days
    group by
        account_id,
        mrr_date
),

subscriptions_per_day as (
    select distinct
        account_id,
        subscription_id,
        mrr_date
    from item_mrr_days
),

renewals_per_day as (
    select
        subscriptions_per_day.account_id,
        subscriptions_per_day.mrr_date,
        min(cast(invoice_lines.period_end_at as date)) as next_renewal_date
    from subscriptions_per_day
    inner join invoice_lines
        on subscriptions_per_day.subscription_id = invoice_lines.subscription_id
            and subscriptions_per_day.mrr_date >= invoice_lines.first_covered_date
            and subscriptions_per_day.mrr_date <= invoice_lines.last_covered_date
    where not invoice_lines.is_proration
    group by
        subscriptions_per_day.account_id,
        subscriptions_per_day.mrr_date
),

paying_accounts_ranked as (
    select
        mrr_date,
        mrr,
        row_number() over (partition by mrr_date order by mrr, account_id) as mrr_rank,
        count(*) over (partition by mrr_date) as paying_accounts
    from account_mrr_days
    where mrr > 0
),

median_mrr_per_day as (
    -- the middle value, or the mean of the two middle values for an even count
    select
        mrr_date,
        avg(mrr) as median_paying_mrr,
        max(paying_accounts) as paying_accounts
    from paying_accounts_ranked
    where mrr_rank in (
            cast(floor((paying_accounts + 1) / 2.0) as {{ dbt.type_bigint() }}),
            cast(floor((paying_accounts + 2) / 2.0) as {{ dbt.type_bigint() }})
        )
    group by mrr_date
),

final as (
    select
        account_mrr_days.account_id,
        account_mrr_days.mrr_date as as_of_date,
        cast(account_mrr_days.mrr as decimal(38, 2)) as mrr,
        cast(12 * account_mrr_days.mrr as decimal(38, 2)) as arr,
        case
            when account_mrr_days.mrr > 0 then cast(seats_per_day.licensed_seats as {{ dbt.type_bigint() }})
        end as licensed_seats,
        case when account_mrr_days.mrr > 0 then renewals_per_day.next_renewal_date end as next_renewal_date,
        -- half a cent is the finest a median of cent amounts gets: three decimals hold it exactly
        cast(median_mrr_per_day.median_paying_mrr as decimal(38, 3)) as median_paying_mrr,
        cast(coalesce(median_mrr_per_day.paying_accounts, 0) as {{ dbt.type_bigint() }}) as paying_accounts
    from account_mrr_days
    left join seats_per_day
        on account_mrr_days.account_id = seats_per_day.account_id
            and account_mrr_days.mrr_date = seats_per_day.mrr_date
    left join renewals_per_day
        on account_mrr_days.account_id = renewals_per_day.account_id
            and account_mrr_days.mrr_date = renewals_per_day.mrr_date
    left join median_mrr_per_day
        on account_mrr_days.mrr_date = median_mrr_per_day.mrr_date
)

select * from final
