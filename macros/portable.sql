{#- Small portable helpers; dispatch only where adapters really differ. -#}

{#- Segment's corrected event time: received_at - (sent_at - original_timestamp).
    Falls back to the loader's timestamp when a part is missing, then to received_at.
    The clock offset (sent_at - original_timestamp) is a 64-bit count of milliseconds and is added
    with 64-bit or native arithmetic (add_milliseconds), never through a 32-bit interval factor.
    It is bounded to max_clock_offset_millis() either way: an offset that large already puts the
    event more than a day after receipt or more than max_event_delay_days before it, so the bound
    changes no rejection reason, and the result stays inside every engine's timestamp range
    (a device clock at 0001-01-01 or 9999-12-31 gives a rejected row, not an error). -#}
{% macro segment_event_time(received_at, sent_at, original_timestamp, loader_timestamp) -%}
    {%- set bound = accountpulse.max_clock_offset_millis() -%}
    {%- set offset = accountpulse.millis_between(original_timestamp, sent_at) -%}
    coalesce(
        case
            when {{ sent_at }} is not null and {{ original_timestamp }} is not null
                then {{ accountpulse.add_milliseconds(
                    received_at, '-1 * least(greatest(' ~ offset ~ ', -' ~ bound ~ '), ' ~ bound ~ ')'
                ) }}
        end,
        {{ loader_timestamp }},
        {{ received_at }}
    )
{%- endmacro %}

{#- The largest clock offset worth applying, in milliseconds: one day more than the larger of the two
    plausibility limits (an event may be at most a day after its receipt and at most
    max_event_delay_days before it), so every bounded offset still fails the same rule. -#}
{% macro max_clock_offset_millis() -%}
    {%- set limit_days = [var('max_event_delay_days') | int, 1] | max + 1 -%}
    cast({{ limit_days * 86400000 }} as {{ dbt.type_bigint() }})
{%- endmacro %}

{#- whole milliseconds from start to end, as a 64-bit integer -#}
{% macro millis_between(start, end) -%}
    {{ return(adapter.dispatch('millis_between', 'accountpulse')(start, end)) }}
{%- endmacro %}

{% macro default__millis_between(start, end) -%}
    cast({{ dbt.datediff(start, end, 'millisecond') }} as {{ dbt.type_bigint() }})
{%- endmacro %}

{% macro duckdb__millis_between(start, end) -%}
    (epoch_ms(cast({{ end }} as timestamp)) - epoch_ms(cast({{ start }} as timestamp)))
{%- endmacro %}

{% macro postgres__millis_between(start, end) -%}
    cast(round(extract(epoch from ({{ end }} - {{ start }})) * 1000) as bigint)
{%- endmacro %}

{#- A timestamp plus a (64-bit) number of milliseconds. Not dbt.dateadd on DuckDB: dbt-duckdb
    multiplies `interval 1 millisecond` by the count, and DuckDB's interval x BIGINT multiplication
    casts the factor to INT32 (an error beyond 2^31 ms, about 24.8 days). -#}
{% macro add_milliseconds(timestamp, millis) -%}
    {{ return(adapter.dispatch('add_milliseconds', 'accountpulse')(timestamp, millis)) }}
{%- endmacro %}

{% macro default__add_milliseconds(timestamp, millis) -%}
    {{ dbt.dateadd('millisecond', millis, timestamp) }}
{%- endmacro %}

{% macro duckdb__add_milliseconds(timestamp, millis) -%}
    make_timestamp(epoch_us(cast({{ timestamp }} as timestamp)) + cast({{ millis }} as bigint) * 1000)
{%- endmacro %}

{% macro postgres__add_milliseconds(timestamp, millis) -%}
    ({{ timestamp }} + cast({{ millis }} as bigint) * interval '1 millisecond')
{%- endmacro %}

{#- minor currency units (cents) to decimal units; zero-decimal currencies (jpy, krw, …) unchanged -#}
{% macro minor_to_decimal(amount, currency) -%}
    case
        when lower({{ currency }}) in (
            {%- for code in var('zero_decimal_currencies') %}'{{ code }}'{% if not loop.last %}, {% endif %}{% endfor -%}
        ) then cast({{ amount }} as {{ dbt.type_numeric() }})
        else cast({{ amount }} as {{ dbt.type_numeric() }}) / 100
    end
{%- endmacro %}

{#- The as-of date as a scalar subquery, so every model agrees on it: var as_of_date when set,
    else the latest event date in the data (see util_as_of_date). -#}
{% macro as_of_date_sql() -%}
    (select as_of_date from {{ ref('util_as_of_date') }})
{%- endmacro %}

{#- a date literal-safe cast of a timestamp -#}
{% macro to_date(expression) -%}
    cast({{ expression }} as date)
{%- endmacro %}

{#- Text value of one key of a JSON object held as text; null (not an error) when the text
    is not valid JSON. Pair with is_valid_json_object() to count what could not be parsed. -#}
{% macro json_text_value(json_text, key) -%}
    {{ return(adapter.dispatch('json_text_value', 'accountpulse')(json_text, key)) }}
{%- endmacro %}

{% macro default__json_text_value(json_text, key) -%}
    {#- the guard sits inside: DuckDB evaluates both CASE branches over a vector -#}
    json_extract_string(case when json_valid({{ json_text }}) then {{ json_text }} end, '$.{{ key }}')
{%- endmacro %}

{% macro postgres__json_text_value(json_text, key) -%}
    {{ target.schema }}.accountpulse_json_text({{ json_text }}, '{{ key }}')
{%- endmacro %}

{% macro spark__json_text_value(json_text, key) -%}
    get_json_object({{ json_text }}, '$.{{ key }}')
{%- endmacro %}

{% macro is_valid_json_object(json_text) -%}
    {{ return(adapter.dispatch('is_valid_json_object', 'accountpulse')(json_text)) }}
{%- endmacro %}

{% macro default__is_valid_json_object(json_text) -%}
    coalesce(json_type(case when json_valid({{ json_text }}) then {{ json_text }} end) = 'OBJECT', false)
{%- endmacro %}

{% macro postgres__is_valid_json_object(json_text) -%}
    {{ target.schema }}.accountpulse_is_json_object({{ json_text }})
{%- endmacro %}

{% macro spark__is_valid_json_object(json_text) -%}
    coalesce(json_object_keys({{ json_text }}) is not null, false)
{%- endmacro %}

{#- PostgreSQL 15 has no non-throwing JSON parse or text -> timestamp cast; create three tiny functions
    (on-run-start). -#}
{% macro create_udfs() -%}
    {%- if target.type == 'postgres' -%}
        create schema if not exists {{ target.schema }};
        create or replace function {{ target.schema }}.accountpulse_is_json_object(value text) returns boolean
        language plpgsql immutable as $$
        begin
            return value is not null and json_typeof(value::json) = 'object';
        exception when others then
            return false;
        end;
        $$;
        create or replace function {{ target.schema }}.accountpulse_json_text(value text, json_key text) returns text
        language plpgsql immutable as $$
        begin
            return value::json ->> json_key;
        exception when others then
            return null;
        end;
        $$;
        create or replace function {{ target.schema }}.accountpulse_text_to_timestamp(value text) returns timestamp
        language plpgsql stable as $$
        begin
            return value::timestamp;
        exception when others then
            return null;
        end;
        $$;
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- Integer value of a text that holds only digits (optionally signed); null for anything else
    ("lots", "", "12 people") instead of a failing cast. -#}
{% macro safe_text_to_integer(text_value) -%}
    case
        when {{ accountpulse.matches_integer('trim(cast(' ~ text_value ~ ' as ' ~ dbt.type_string() ~ '))') }}
            then cast(trim(cast({{ text_value }} as {{ dbt.type_string() }})) as {{ dbt.type_bigint() }})
    end
{%- endmacro %}

{% macro matches_integer(text_value) -%}
    {{ accountpulse.matches_pattern(text_value, '^-?[0-9]{1,15}$') }}
{%- endmacro %}

{#- Rows of a base_ staging model counted by disposition, for the source row audit. Rows set aside by
    rule rather than for a defect (Stripe test mode, deleted at the source) are `excluded`, not `rejected`:
    they do not count towards var rejected_rows_warn_share. -#}
{% macro source_row_audit(base_model, source_table) -%}
    select
        '{{ source_table }}' as source_table,
        case
            when rejection_reason in ('test_mode', 'deleted_at_source') then 'excluded'
            when rejection_reason is not null then 'rejected'
            when delivery_rank > 1 then 'duplicate'
            else 'kept'
        end as disposition,
        coalesce(rejection_reason, case when delivery_rank > 1 then 'duplicate_delivery' end) as reason,
        count(*) as row_count
    from {{ ref(base_model) }}
    group by 1, 2, 3
{%- endmacro %}
