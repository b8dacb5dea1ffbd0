{{ config(materialized='view') }}
-- Expansion list: paying accounts that on the as-of date sit in the expansion_candidate quadrant or
-- carry an open expansion_signal alert, ordered by headroom (largest first):
--   seat_headroom_mrr   = users above seats (active users 30d - licensed seats, if positive)
--                         × price per seat (MRR / licensed seats);
--   mrr_gap_to_high_mrr = the high-MRR line of the day - MRR (if positive);
--   expansion_headroom_mrr = the larger of the two.
with health_days as (
    select * from {{ ref('fct_account_health_daily') }}
),

alerts as (
    select * from {{ ref('account_alerts') }}
),

accounts as (
    select * from {{ ref('dim_accounts') }}
),

latest_health as (
    select *
    from health_days
    where as_of_date = {{ as_of_date_sql() }}
),

open_expansion_signals as (
    select
        account_id,
        min(opened_date) as expansion_signal_since
    from alerts
    where is_open
        and alert_type = 'expansion_signal'
    group by account_id
),

candidates as (
    select
        latest_health.account_id,
        accounts.account_name,
        latest_health.as_of_date,
        latest_health.mrr,
        latest_health.health_score,
        latest_health.health_band,
        latest_health.quadrant,
        latest_health.active_users_30d,
        latest_health.licensed_seats,
        latest_health.seat_utilization,
        latest_health.high_mrr_threshold,
        open_expansion_signals.expansion_signal_since,
        {{ safe_divide('latest_health.mrr', 'latest_health.licensed_seats') }} as price_per_seat,
        case
            when latest_health.active_users_30d > latest_health.licensed_seats
                then latest_health.active_users_30d - latest_health.licensed_seats
            else 0
        end as users_above_seats,
        case
            when latest_health.high_mrr_threshold > latest_health.mrr
                then latest_health.high_mrr_threshold - latest_health.mrr
            else 0
        end as mrr_gap_to_high_mrr
    from latest_health
    left join open_expansion_signals
        on latest_health.account_id = open_expansion_signals.account_id
    left join accounts
        on latest_health.account_id = accounts.account_id
    where latest_health.mrr > 0
        and (
            latest_health.quadrant = 'expansion_candidate'
            or open_expansion_signals.account_id is not null
        )
),

with_headroom as (
    select
        *,
        cast(coalesce(users_above_seats * price_per_seat, 0) as decimal(38, 2)) as seat_headroom_mrr
    from candidates
),

final as (
    select
        cast(row_number() over (
            order by
                case when seat_headroom_mrr > mrr_gap_to_high_mrr then seat_headroom_mrr else mrr_gap_to_high_mrr end desc,
                account_id asc
        ) as {{ dbt.type_bigint() }}) as expansion_rank,
        account_id,
        cast(account_name as {{ dbt.type_string() }}) as account_name,
        as_of_date,
        mrr,
        health_score,
        health_band,
        quadrant,
        active_users_30d,
        licensed_seats,
        seat_utilization,
        cast(price_per_seat as decimal(38, 2)) as price_per_seat,
        cast(users_above_seats as {{ dbt.type_bigint() }}) as users_above_seats,
        seat_headroom_mrr,
        cast(mrr_gap_to_high_mrr as decimal(38, 2)) as mrr_gap_to_high_mrr,
        cast(
            case when seat_headroom_mrr > mrr_gap_to_high_mrr then seat_headroom_mrr else mrr_gap_to_high_mrr end
            as decimal(38, 2)
        ) as expansion_headroom_mrr,
        expansion_signal_since
    from with_headroom
)

select * from final
order by expansion_rank
