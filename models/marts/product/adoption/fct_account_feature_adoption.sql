-- Account × feature adoption as of the as-of date, on the trailing `trailing_window_days` window
-- (formulas: int_account_feature_adoption_periods, period type `trailing_window`, period 0; its trend
-- compares with the window before it), with the milestones of int_account_feature_first_adoptions.
with adoption_periods as (
    select * from {{ ref('int_account_feature_adoption_periods') }}
),

first_adoptions as (
    select * from {{ ref('int_account_feature_first_adoptions') }}
),

trailing_window as (
    select *
    from adoption_periods
    where period_type = 'trailing_window'
        and period_number = 0
),

final as (
    select
        cast(trailing_window.account_id as {{ dbt.type_string() }}) as account_id,
        cast(trailing_window.feature_id as {{ dbt.type_string() }}) as feature_id,
        cast(trailing_window.period_end_date as date) as as_of_date,
        cast(trailing_window.period_start_date as date) as window_start_date,
        cast(trailing_window.active_users_90d as {{ dbt.type_bigint() }}) as active_users_90d,
        cast(trailing_window.feature_users as {{ dbt.type_bigint() }}) as feature_users,
        cast(trailing_window.adopting_users as {{ dbt.type_bigint() }}) as adopting_users,
        cast(trailing_window.adoption_rate as {{ dbt.type_float() }}) as adoption_rate,
        cast(trailing_window.uses as {{ dbt.type_bigint() }}) as uses,
        cast(trailing_window.depth_level as {{ dbt.type_int() }}) as depth_level,
        trailing_window.is_adopted,
        cast(trailing_window.previous_adoption_rate as {{ dbt.type_float() }}) as previous_adoption_rate,
        cast(trailing_window.adoption_rate_change as {{ dbt.type_float() }}) as adoption_rate_change,
        cast(trailing_window.consecutive_declines as {{ dbt.type_int() }}) as consecutive_declines,
        trailing_window.is_declining,
        cast(trailing_window.top_user_share as {{ dbt.type_float() }}) as top_user_share,
        trailing_window.is_single_champion,
        cast(first_adoptions.available_date as date) as available_date,
        cast(first_adoptions.first_used_date as date) as first_used_date,
        cast(first_adoptions.first_adopted_date as date) as first_adopted_date,
        cast(first_adoptions.days_to_adopt as {{ dbt.type_int() }}) as days_to_adopt,
        cast(first_adoptions.days_available as {{ dbt.type_int() }}) as days_available,
        first_adoptions.first_adopted_date is null
        and first_adoptions.days_available > {{ var('slow_to_adopt_days') }} as is_slow_to_adopt
    from trailing_window
    left join first_adoptions
        on trailing_window.account_id = first_adoptions.account_id
            and trailing_window.feature_id = first_adoptions.feature_id
)

select * from final
