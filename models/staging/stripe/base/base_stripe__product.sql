-- Products with house names.
with source as (
    {{ raw_table('stripe', 'product') }}
),

flagged as (
    select
        {{ key_value('id') }} as product_id,
        cast(name as {{ dbt.type_string() }}) as product_name,
        case
            when {{ key_value('id') }} is null then 'missing_id'
            when type_drift_reason is not null then type_drift_reason
        end as rejection_reason
    from source
),

ranked as (
    select
        *,
        row_number() over (
            partition by product_id
            order by case when rejection_reason is null then 0 else 1 end, product_name
        ) as delivery_rank
    from flagged
)

select * from ranked
