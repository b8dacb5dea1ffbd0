-- The days each subscription version is in force (recorded versions, and before the first one the
-- versions its dates imply). The state of a day is the state at its end: the
-- latest version that started on or before that day (versions superseded the same day are dropped).
-- A subscription counts as revenue on a day when that version's status is a revenue status
-- (var revenue_subscription_statuses: active, past_due) and it has not ended by the end of the day.
with subscription_history as (
    select * from {{ ref('stg_stripe__subscription_history') }}
),

subscription_ends as (
    -- a Stripe subscription that ended never restarts (subscribing again creates a new one)
    select
        subscription_id,
        max(ended_at) as ended_at
    from subscription_history
    group by subscription_id
),

first_versions as (
    select *
    from (
        select
            subscription_id,
            customer_id,
            status,
            started_at,
            trial_end_at,
            valid_from,
            row_number() over (partition by subscription_id order by valid_from) as version_number
        from subscription_history
    ) as numbered
    where version_number = 1
),

inferred_versions as (
    -- Before its first recorded version a subscription is in the state its own dates imply: trialing
    -- from its start until trial_end, then active; an incomplete one stays as it is. A warehouse without
    -- Fivetran history mode records only the latest version (dated by _fivetran_synced), so this is
    -- where its past comes from; with history mode the first version starts the day the subscription does.
    select
        subscription_id,
        customer_id,
        'trialing' as status,
        started_at as valid_from
    from first_versions
    where trial_end_at > started_at
        and cast(started_at as date) < cast(valid_from as date)
        and status not in ('incomplete', 'incomplete_expired')

    union all

    select
        subscription_id,
        customer_id,
        case when status in ('incomplete', 'incomplete_expired') then status else 'active' end as status,
        case when trial_end_at > started_at then trial_end_at else started_at end as valid_from
    from first_versions
    where cast(case when trial_end_at > started_at then trial_end_at else started_at end as date)
        < cast(valid_from as date)
),

versions as (
    select
        subscription_id,
        customer_id,
        status,
        is_cancel_at_period_end,
        current_period_start_at,
        current_period_end_at,
        trial_end_at,
        valid_from
    from subscription_history

    union all

    select
        subscription_id,
        customer_id,
        status,
        false as is_cancel_at_period_end,
        cast(null as {{ dbt.type_timestamp() }}) as current_period_start_at,
        cast(null as {{ dbt.type_timestamp() }}) as current_period_end_at,
        cast(null as {{ dbt.type_timestamp() }}) as trial_end_at,
        valid_from
    from inferred_versions
),

dated as (
    select
        subscription_id,
        customer_id,
        status,
        is_cancel_at_period_end,
        current_period_start_at,
        current_period_end_at,
        trial_end_at,
        valid_from,
        cast(valid_from as date) as in_force_from_date,
        lead(cast(valid_from as date)) over (
            partition by subscription_id
            order by valid_from
        ) as next_version_date
    from versions
),

last_of_each_day as (
    select *
    from dated
    where next_version_date is null
        or next_version_date > in_force_from_date
),

final as (
    select
        last_of_each_day.subscription_id,
        last_of_each_day.customer_id,
        last_of_each_day.status,
        last_of_each_day.is_cancel_at_period_end,
        last_of_each_day.current_period_start_at,
        last_of_each_day.current_period_end_at,
        last_of_each_day.trial_end_at,
        last_of_each_day.valid_from,
        last_of_each_day.in_force_from_date,
        cast({{ dbt.dateadd('day', -1, 'last_of_each_day.next_version_date') }} as date) as in_force_to_date,
        subscription_ends.ended_at,
        -- the last day whose end the subscription is still running at
        cast({{ dbt.dateadd('day', -1, 'cast(subscription_ends.ended_at as date)') }} as date) as last_running_date,
        last_of_each_day.status in (
            {%- for status in var('revenue_subscription_statuses') %}'{{ status }}'{% if not loop.last %}, {% endif %}{% endfor -%}
        ) as is_revenue_status
    from last_of_each_day
    inner join subscription_ends
        on last_of_each_day.subscription_id = subscription_ends.subscription_id
)

select * from final
