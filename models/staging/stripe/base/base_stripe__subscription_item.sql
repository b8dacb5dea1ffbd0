-- Current subscription items (price × quantity) with house names; negative quantities set aside.
with source as (
    {{ raw_table('stripe', 'subscription_item') }}
),

renamed as (
    select
        {{ key_value('id') }} as subscription_item_id,
        {{ key_value('subscription_id') }} as subscription_id,
        {{ key_value('plan_id') }} as price_id,
        cast(coalesce(quantity, 1) as {{ dbt.type_bigint() }}) as quantity,
        cast(created as {{ dbt.type_timestamp() }}) as created_at,
        type_drift_reason
    from source
),

flagged as (
    select
        *,
        case
            when subscription_item_id is null then 'missing_id'
            when type_drift_reason is not null then type_drift_reason
            when quantity < 0 then 'negative_quantity'
        end as rejection_reason
    from renamed
),

ranked as (
    select
        *,
        row_number() over (
            partition by subscription_item_id
            order by case when rejection_reason is null then 0 else 1 end, created_at
        ) as delivery_rank
    from flagged
)

select * from ranked
