-- Account × feature × month adoption. Formulas: int_account_feature_adoption_periods (period type
-- `month`; the current month runs to the as-of date and is flagged incomplete).
with adoption_periods as (
    select * from {{ ref('int_account_feature_adoption_periods') }}
),

final as (
    select
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(feature_id as {{ dbt.type_string() }}) as feature_id,
        cast(period_start_date as date) as month_start,
        cast(period_end_date as date) as window_end_date,
        is_complete_period as is_complete_month,
        cast(active_users_90d as {{ dbt.type_bigint() }}) as active_users_90d,
        cast(feature_users as {{ dbt.type_bigint() }}) as feature_users,
        cast(adopting_users as {{ dbt.type_bigint() }}) as adopting_users,
        cast(adoption_rate as {{ dbt.type_float() }}) as adoption_rate,
        cast(uses as {{ dbt.type_bigint() }}) as uses,
        cast(depth_level as {{ dbt.type_int() }}) as depth_level,
        is_adopted,
        cast(previous_adoption_rate as {{ dbt.type_float() }}) as previous_adoption_rate,
        cast(adoption_rate_change as {{ dbt.type_float() }}) as adoption_rate_change,
        cast(consecutive_declines as {{ dbt.type_int() }}) as consecutive_declines,
        is_declining,
        cast(top_user_share as {{ dbt.type_float() }}) as top_user_share,
        is_single_champion
    from adoption_periods
    where period_type = 'month'
)

select * from final
