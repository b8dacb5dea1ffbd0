{#- Helpers of the revenue models (MRR timeline). -#}

{#- Money rounded to cents, the same way on every engine: first fixed to 6 decimals (so a double's
    representation noise such as 0.004999999 cannot decide the cent), then rounded half away from zero. -#}
{% macro round_money(expression) -%}
    round(cast({{ expression }} as decimal(38, 6)), 2)
{%- endmacro %}

{#- Whole numbers 0 .. 10^digits - 1, one per row, from a cross join of digits (portable: no generate_series,
    no recursive CTE). Used to build day spines. -#}
{% macro integer_series(digits=5) -%}
    select
        {%- for position in range(digits) %}
        digit_{{ position }}.digit * {{ 10 ** position }}{% if not loop.last %} +{% endif %}
        {%- endfor %} as integer_value
    from
        {%- for position in range(digits) %}
        (
            select 0 as digit union all select 1 union all select 2 union all select 3 union all select 4
            union all select 5 union all select 6 union all select 7 union all select 8 union all select 9
        ) as digit_{{ position }}{% if not loop.last %} cross join{% endif %}
        {%- endfor %}
{%- endmacro %}

{#- True for a seat label: a product unit_label (any case, spaces trimmed) in var seat_unit_labels. -#}
{% macro is_seat_unit_label(unit_label) -%}
    {%- set labels = [] -%}
    {%- for label in var('seat_unit_labels') or [] %}{% do labels.append("'" ~ (label | lower | replace("'", "''")) ~ "'") %}{% endfor -%}
    {%- if labels | length == 0 -%}
        false
    {%- else -%}
        coalesce(lower(trim({{ unit_label }})) in ({{ labels | join(', ') }}), false)
    {%- endif -%}
{%- endmacro %}

{#- True when a recurring, licensed (not metered) price's quantity is licensed seats, on any Stripe
    catalogue without configuration (docs: finance__licensed_seats):
    - where the catalogue labels its seats (has_seat_labels: some product's unit_label is a seat label,
      var seat_unit_labels: seat, user, license, member, ...), the product's unit_label decides;
    - otherwise the price's billing_scheme decides: per_unit is seats, tiered is not (missing or null:
      per_unit, Stripe's default), except for a product labelled with another unit (GB, 1k requests).
    var seat_products (product ids or names, any case) only narrows the result; empty = no narrowing. -#}
{% macro is_seat_price(billing_scheme, unit_label, has_seat_labels, product_id, product_name) -%}
    {%- set seat_products = var('seat_products') or [] -%}
    (
        case
            when {{ has_seat_labels }} then {{ is_seat_unit_label(unit_label) }}
            else coalesce(lower({{ billing_scheme }}), 'per_unit') = 'per_unit'
                and nullif(trim({{ unit_label }}), '') is null
        end
    {%- if seat_products | length > 0 %}
        {%- set quoted = [] -%}
        {%- for product in seat_products %}{% do quoted.append("'" ~ (product | lower | replace("'", "''")) ~ "'") %}{% endfor %}
        and coalesce(lower({{ product_id }}) in ({{ quoted | join(', ') }}) or lower({{ product_name }}) in ({{ quoted | join(', ') }}), false)
    {%- endif %}
    )
{%- endmacro %}

{#- True when any of the timestamp expressions is before var earliest_billing_date (a Stripe time no billing
    system produced: a loader default such as 1970-01-01 or 0001-01-01); null when none is (nulls are
    never implausible). -#}
{% macro before_earliest_billing_date(columns) -%}
    ({% for column in columns %}{{ column }} < {{ earliest_billing_timestamp() }}{% if not loop.last %} or {% endif %}{% endfor %})
{%- endmacro %}

{% macro earliest_billing_timestamp() -%}
    cast('{{ var("earliest_billing_date") }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#- The share of an invoice line's amount that is not tax (a number from 0 to 1, to 6 decimals):
    unit_amount_excluding_tax × quantity ÷ amount. 1 when the line does not say (no
    unit_amount_excluding_tax, a $0 line) or says more than its amount: a price is then taken as
    tax-exclusive. Rounded to 6 decimals so a proration's unit_amount_excluding_tax (its amount ÷
    quantity, a long decimal) gives exactly 1 on a tax-exclusive price. -#}
{% macro tax_exclusive_share(unit_amount_excluding_tax, quantity, amount) -%}
    cast(
        case
            when {{ unit_amount_excluding_tax }} is null or {{ amount }} = 0 then 1
            when abs({{ unit_amount_excluding_tax }} * coalesce({{ quantity }}, 1)) >= abs({{ amount }}) then 1
            else round(
                cast(abs({{ unit_amount_excluding_tax }} * coalesce({{ quantity }}, 1)) / abs({{ amount }}) as decimal(38, 10)),
                6
            )
        end as decimal(38, 6)
    )
{%- endmacro %}

{#- Fivetran's flags of a Stripe row, as columns of a base model: is_live_mode (livemode; a row without
    the column is live; has_livemode=false for a table without it), is_deleted_at_source (_fivetran_deleted: the object no longer exists in Stripe)
    and synced_at (_fivetran_synced). -#}
{% macro stripe_fivetran_flags(has_livemode=true) -%}
    {% if has_livemode %}coalesce({{ adapter.quote('livemode') }}, true){% else %}true{% endif %} as is_live_mode,
        coalesce({{ adapter.quote('_fivetran_deleted') }}, false) as is_deleted_at_source,
        cast({{ adapter.quote('_fivetran_synced') }} as {{ dbt.type_timestamp() }}) as synced_at
{%- endmacro %}

{#- Why a Stripe row is set aside for its Fivetran flags: `when ... then` branches of a base model's
    rejection_reason case. test_mode: a test-mode row (livemode = false), unless var
    include_stripe_test_mode. deleted_at_source: only where set_aside_deleted (invoices, their lines,
    subscription versions and items: Stripe hard-deletes only drafts and removed items, which never
    billed); prices, plans, products, coupons, customers and discounts deleted at the source are kept so
    that what they billed still resolves. live / deleted: the flag columns, or raw expressions in a model
    that reads them in the same select. -#}
{% macro stripe_set_aside_reasons(set_aside_deleted, live='is_live_mode', deleted='is_deleted_at_source') -%}
    {%- if not var('include_stripe_test_mode') %}
            when not {{ live }} then 'test_mode'
    {%- endif %}
    {%- if set_aside_deleted %}
            when {{ deleted }} then 'deleted_at_source'
    {%- endif %}
{%- endmacro %}
