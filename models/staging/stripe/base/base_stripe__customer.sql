-- Every raw Stripe customer: house names, the account id read from metadata JSON, and a
-- metadata status so unparseable, missing or conflicting links are counted (the customer is always kept).
with source as (
    {{ raw_table('stripe', 'customer') }}
),

renamed as (
    select
        {{ key_value('id') }} as customer_id,
        cast(name as {{ dbt.type_string() }}) as customer_name,
        cast(lower(trim(email)) as {{ dbt.type_string() }}) as email,
        cast(created as {{ dbt.type_timestamp() }}) as created_at,
        cast(lower(currency) as {{ dbt.type_string() }}) as currency,
        coalesce(is_deleted, false) as is_deleted,
        cast(metadata as {{ dbt.type_string() }}) as metadata_json,
        cast(nullif(trim({{ json_text_value('metadata', 'account_id') }}), '') as {{ dbt.type_string() }})
            as metadata_account_id,
        case
            when metadata is null or trim(metadata) = '' then 'missing'
            when not {{ is_valid_json_object('metadata') }} then 'unparseable'
            when nullif(trim({{ json_text_value('metadata', 'account_id') }}), '') is null then 'no_account_id'
            else 'ok'
        end as metadata_status,
        type_drift_reason
    from source
),

-- a customer id delivered with two different account ids is linked to neither: booked to an account
-- of its own and listed as unmapped, rather than to whichever row happens to be read first
account_id_spread as (
    select
        *,
        min(metadata_account_id) over (partition by customer_id) as lowest_account_id,
        max(metadata_account_id) over (partition by customer_id) as highest_account_id
    from renamed
),

linked as (
    select
        customer_id,
        customer_name,
        email,
        created_at,
        currency,
        is_deleted,
        metadata_json,
        case
            when lowest_account_id <> highest_account_id then null
            else metadata_account_id
        end as metadata_account_id,
        case
            when lowest_account_id <> highest_account_id then 'conflicting_account_ids'
            else metadata_status
        end as metadata_status,
        type_drift_reason
    from account_id_spread
),

flagged as (
    select
        *,
        case
            when customer_id is null then 'missing_id'
            when type_drift_reason is not null then type_drift_reason
        end as rejection_reason
    from linked
),

-- the tie-breaks after created_at only make the choice among duplicate deliveries repeatable
ranked as (
    select
        *,
        row_number() over (
            partition by customer_id
            order by case when rejection_reason is null then 0 else 1 end, created_at, metadata_json, customer_name, email, currency
        ) as delivery_rank
    from flagged
)

select * from ranked
