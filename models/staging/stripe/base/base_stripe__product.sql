-- Products with house names.
with source as (
    select
        {{ source_columns(source('stripe', 'product'), [
            ('id', dbt.type_string(), true),
            ('name', dbt.type_string(), false),
        ]) }}
    from {{ source('stripe', 'product') }}
),

flagged as (
    select
        cast(id as {{ dbt.type_string() }}) as product_id,
        cast(name as {{ dbt.type_string() }}) as product_name,
        case when id is null then 'missing_id' end as rejection_reason
    from source
),

ranked as (
    select
        *,
        row_number() over (partition by product_id order by product_name) as delivery_rank
    from flagged
)

select * from ranked
