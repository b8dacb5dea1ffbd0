-- Feature × month × segment: user-level and account-level adoption side by side — the aggregation
-- fallacy, measured. The user-level rate pools every account's users (adopting users / active
-- users); the account-level rate asks how many active accounts have at least one adopting user, and
-- accounts_adopted how many reach the adoption threshold. A launch used heavily inside a few big
-- accounts shows a high user-level and a low account-level rate. Segment: the account's current size
-- band (int_accounts; 'unknown' without one); segment 'all' holds every account. Weighted by MRR
-- (fct_account_mrr_monthly, 0 without billing): how much of the revenue sits in adopting accounts.
with adoption_periods as (
    select * from {{ ref('int_account_feature_adoption_periods') }}
),

accounts as (
    select * from {{ ref('int_accounts') }}
),

account_mrr_monthly as (
    select * from {{ ref('fct_account_mrr_monthly') }}
),

account_months as (
    select
        adoption_periods.account_id,
        adoption_periods.feature_id,
        adoption_periods.period_start_date as month_start,
        adoption_periods.is_complete_period,
        coalesce(accounts.segment, 'unknown') as segment,
        adoption_periods.active_users_90d,
        adoption_periods.adopting_users,
        adoption_periods.adoption_rate,
        adoption_periods.is_adopted,
        adoption_periods.is_single_champion,
        coalesce(account_mrr_monthly.mrr, 0) as mrr
    from adoption_periods
    left join accounts
        on adoption_periods.account_id = accounts.account_id
    left join account_mrr_monthly
        on adoption_periods.account_id = account_mrr_monthly.account_id
            and adoption_periods.period_start_date = account_mrr_monthly.month_start
    where adoption_periods.period_type = 'month'
),

segmented as (
    select
        feature_id,
        month_start,
        is_complete_period,
        segment,
        active_users_90d,
        adopting_users,
        adoption_rate,
        is_adopted,
        is_single_champion,
        mrr
    from account_months
    union all
    select
        feature_id,
        month_start,
        is_complete_period,
        'all' as segment,
        active_users_90d,
        adopting_users,
        adoption_rate,
        is_adopted,
        is_single_champion,
        mrr
    from account_months
),

rolled_up as (
    select
        feature_id,
        month_start,
        is_complete_period,
        segment,
        sum(case when active_users_90d > 0 then 1 else 0 end) as active_accounts,
        sum(case when adopting_users > 0 then 1 else 0 end) as accounts_with_adopters,
        sum(case when is_adopted then 1 else 0 end) as accounts_adopted,
        sum(case when is_single_champion then 1 else 0 end) as accounts_single_champion,
        sum(active_users_90d) as active_users,
        sum(adopting_users) as adopting_users,
        sum(case when active_users_90d > 0 then mrr else 0 end) as active_mrr,
        sum(case when is_adopted then mrr else 0 end) as adopted_mrr,
        sum(case when active_users_90d > 0 then mrr * adoption_rate else 0 end) as rate_weighted_mrr
    from segmented
    group by
        feature_id,
        month_start,
        is_complete_period,
        segment
),

final as (
    select
        cast(feature_id as {{ dbt.type_string() }}) as feature_id,
        cast(month_start as date) as month_start,
        is_complete_period as is_complete_month,
        cast(segment as {{ dbt.type_string() }}) as segment,
        cast(active_users as {{ dbt.type_bigint() }}) as active_users,
        cast(adopting_users as {{ dbt.type_bigint() }}) as adopting_users,
        cast({{ safe_divide('adopting_users', 'active_users') }} as {{ dbt.type_float() }}) as user_level_adoption_rate,
        cast(active_accounts as {{ dbt.type_bigint() }}) as active_accounts,
        cast(accounts_with_adopters as {{ dbt.type_bigint() }}) as accounts_with_adopters,
        cast({{ safe_divide('accounts_with_adopters', 'active_accounts') }} as {{ dbt.type_float() }}) as account_level_adoption_rate,
        cast(accounts_adopted as {{ dbt.type_bigint() }}) as accounts_adopted,
        cast({{ safe_divide('accounts_adopted', 'active_accounts') }} as {{ dbt.type_float() }}) as adopted_account_share,
        cast(accounts_single_champion as {{ dbt.type_bigint() }}) as accounts_single_champion,
        cast(active_mrr as decimal(38, 2)) as active_mrr,
        cast({{ safe_divide('rate_weighted_mrr', 'active_mrr') }} as {{ dbt.type_float() }}) as mrr_weighted_adoption_rate,
        cast({{ safe_divide('adopted_mrr', 'active_mrr') }} as {{ dbt.type_float() }}) as adopted_mrr_share
    from rolled_up
)

select * from final
