-- Account × day (the dense spine of fct_account_activity_daily: first attributed activity to the
-- as-of date): every measured input of the health score and of the alerts, point in time — a day's
-- values use data up to that day only (trailing windows ending on the day, the latest complete
-- week and the latest complete calendar month ending on or before the day, MRR/seats/renewal on the
-- day). fct_account_health_daily turns them into component scores; keeping the measurements here
-- keeps those formulas small and testable.
--
-- Trend (declining core features) is read from fct_account_feature_adoption_monthly's is_declining
-- (SPEC: 2 consecutive month-over-month declines of the adoption rate) for the latest complete month:
-- it changes once a month. Comparing sliding 30-day windows day by day instead flips on noise (on
-- the 40-account demo: 149 alert episodes of 4.7 days on average).
with account_days as (
    select * from {{ ref('fct_account_activity_daily') }}
),

trailing_activity as (
    select * from {{ ref('int_account_trailing_activity_daily') }}
),

core_feature_adoption as (
    select * from {{ ref('int_account_core_feature_adoption_daily') }}
),

concentration as (
    select * from {{ ref('int_account_user_concentration_daily') }}
),

weekly_activity as (
    select * from {{ ref('fct_account_activity_weekly') }}
),

monthly_adoption as (
    select * from {{ ref('fct_account_feature_adoption_monthly') }}
),

features as (
    select * from {{ ref('features') }}
),

billing as (
    select * from {{ ref('int_account_billing_daily') }}
),

core_adoption_per_day as (
    select
        account_id,
        as_of_date,
        count(*) as core_features_available,
        sum(case when is_adopted then 1 else 0 end) as core_features_adopted,
        sum(case when depth_level > 0 then 1 else 0 end) as core_features_used,
        avg(case when depth_level > 0 then {{ safe_divide('depth_level', 'ladder_depth') }} end) as mean_depth_ratio_of_used,
        max(adopting_users) as max_core_adopting_users
    from core_feature_adoption
    group by
        account_id,
        as_of_date
),

core_monthly_adoption as (
    select
        monthly_adoption.account_id,
        monthly_adoption.feature_id,
        monthly_adoption.month_start,
        monthly_adoption.is_declining,
        lag(monthly_adoption.adoption_rate) over (
            partition by monthly_adoption.account_id, monthly_adoption.feature_id
            order by monthly_adoption.month_start
        ) as previous_month_adoption_rate
    from monthly_adoption
    inner join features
        on monthly_adoption.feature_id = features.feature_id
    where features.is_core
),

core_trend_per_month as (
    select
        account_id,
        month_start,
        sum(case when previous_month_adoption_rate > 0 then 1 else 0 end) as core_features_with_previous_adoption,
        sum(case when is_declining then 1 else 0 end) as declining_core_features,
        -- null when none is declining, on every engine (Spark's listagg of nothing is '')
        nullif(
            {{ dbt.listagg("case when is_declining then feature_id end", "', '", "order by feature_id") }}, ''
        ) as declining_core_feature_ids
    from core_monthly_adoption
    group by
        account_id,
        month_start
),

days_with_latest_periods as (
    -- the ISO week (Monday start) that ended most recently on or before the day: the Monday of the
    -- week holding the next day, minus seven days
    select
        account_id,
        activity_date,
        cast(
            {{ dbt.dateadd('day', -7, dbt.date_trunc('week', dbt.dateadd('day', 1, 'activity_date'))) }} as date
        ) as latest_complete_week_start,
        -- likewise the calendar month that ended most recently on or before the day
        cast(
            {{ dbt.dateadd('month', -1, dbt.date_trunc('month', dbt.dateadd('day', 1, 'activity_date'))) }} as date
        ) as latest_complete_month_start
    from account_days
),

final as (
    select
        days_with_latest_periods.account_id,
        days_with_latest_periods.activity_date as as_of_date,
        -- activity
        trailing_activity.active_users_30d,
        trailing_activity.active_users_90d,
        trailing_activity.events_30d,
        trailing_activity.last_active_date,
        trailing_activity.days_since_last_activity,
        -- adoption of core features (trailing window)
        cast(coalesce(core_adoption_per_day.core_features_available, 0) as {{ dbt.type_bigint() }}) as core_features_available,
        cast(coalesce(core_adoption_per_day.core_features_adopted, 0) as {{ dbt.type_bigint() }}) as core_features_adopted,
        cast(coalesce(core_adoption_per_day.core_features_used, 0) as {{ dbt.type_bigint() }}) as core_features_used,
        core_adoption_per_day.mean_depth_ratio_of_used,
        cast(coalesce(core_adoption_per_day.max_core_adopting_users, 0) as {{ dbt.type_bigint() }}) as max_core_adopting_users,
        -- trend of core features (latest complete calendar month)
        core_trend_per_month.month_start as trend_month_start,
        cast(coalesce(core_trend_per_month.core_features_with_previous_adoption, 0) as {{ dbt.type_bigint() }})
            as core_features_with_previous_adoption,
        cast(coalesce(core_trend_per_month.declining_core_features, 0) as {{ dbt.type_bigint() }}) as declining_core_features,
        core_trend_per_month.declining_core_feature_ids,
        -- engagement vs the account's own baseline (latest complete week)
        weekly_activity.week_start as baseline_week_start,
        weekly_activity.active_users as week_active_users,
        weekly_activity.baseline_active_users,
        weekly_activity.pct_vs_baseline,
        coalesce(weekly_activity.is_below_baseline, false) as is_below_baseline,
        -- concentration
        concentration.top_user_id,
        concentration.top_user_share,
        concentration.silent_champion_user_id,
        concentration.silent_champion_event_share,
        coalesce(concentration.has_silent_champion, false) as has_silent_champion,
        -- billing
        coalesce(billing.mrr, 0) as mrr,
        coalesce(billing.arr, 0) as arr,
        billing.licensed_seats,
        billing.next_renewal_date,
        billing.median_paying_mrr
    from days_with_latest_periods
    inner join trailing_activity
        on days_with_latest_periods.account_id = trailing_activity.account_id
            and days_with_latest_periods.activity_date = trailing_activity.as_of_date
    left join core_adoption_per_day
        on days_with_latest_periods.account_id = core_adoption_per_day.account_id
            and days_with_latest_periods.activity_date = core_adoption_per_day.as_of_date
    left join concentration
        on days_with_latest_periods.account_id = concentration.account_id
            and days_with_latest_periods.activity_date = concentration.as_of_date
    left join core_trend_per_month
        on days_with_latest_periods.account_id = core_trend_per_month.account_id
            and days_with_latest_periods.latest_complete_month_start = core_trend_per_month.month_start
    left join weekly_activity
        on days_with_latest_periods.account_id = weekly_activity.account_id
            and days_with_latest_periods.latest_complete_week_start = weekly_activity.week_start
    left join billing
        on days_with_latest_periods.account_id = billing.account_id
            and days_with_latest_periods.activity_date = billing.as_of_date
)

select * from final
