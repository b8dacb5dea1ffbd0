-- Current subscription items (price × quantity) with house names; negative quantities set aside.
with source as (
    select
        {{ source_columns(source('stripe', 'subscription_item'), [
            ('id', dbt.type_string(), true),
            ('subscription_id', dbt.type_string(), true),
            ('price_id', dbt.type_string(), true),
            ('quantity', dbt.type_bigint(), true),
            ('created', dbt.type_timestamp(), false),
        ]) }}
    from {{ source('stripe', 'subscription_item') }}
),

renamed as (
    select
        cast(id as {{ dbt.type_string() }}) as subscription_item_id,
        cast(subscription_id as {{ dbt.type_string() }}) as subscription_id,
        cast(price_id as {{ dbt.type_string() }}) as price_id,
        cast(coalesce(quantity, 1) as {{ dbt.type_bigint() }}) as quantity,
        cast(created as {{ dbt.type_timestamp() }}) as created_at
    from source
),

flagged as (
    select
        *,
        case
            when subscription_item_id is null then 'missing_id'
            when quantity < 0 then 'negative_quantity'
        end as rejection_reason
    from renamed
),

ranked as (
    select
        *,
        row_number() over (partition by subscription_item_id order by created_at) as delivery_rank
    from flagged
)

select * from ranked
