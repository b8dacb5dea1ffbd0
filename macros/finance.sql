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

{#- True for the products whose quantity is licensed seats: a product whose id or name (any case) is
    in var seat_products, or every recurring product when that list is empty. -#}
{% macro is_seat_product(product_id, product_name) -%}
    {%- set seat_products = var('seat_products') or [] -%}
    {%- if seat_products | length == 0 -%}
        ({{ product_id }} is not null)
    {%- else -%}
        {%- set quoted = [] -%}
        {%- for product in seat_products %}{% do quoted.append("'" ~ (product | lower | replace("'", "''")) ~ "'") %}{% endfor -%}
        coalesce(lower({{ product_id }}) in ({{ quoted | join(', ') }}) or lower({{ product_name }}) in ({{ quoted | join(', ') }}), false)
    {%- endif -%}
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
