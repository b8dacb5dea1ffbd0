{#- numerator / denominator as a double, null when the denominator is 0 or null.
    The cast comes first so that count / count is never integer division (PostgreSQL), and it is a
    double on every adapter: dbt.type_float() is a 4-byte float on DuckDB. -#}
{% macro safe_divide(numerator, denominator) -%}
    {{ return(adapter.dispatch('safe_divide', 'accountpulse')(numerator, denominator)) }}
{%- endmacro %}

{% macro default__safe_divide(numerator, denominator) -%}
    (cast({{ numerator }} as {{ accountpulse.type_double() }}) / nullif(cast({{ denominator }} as {{ accountpulse.type_double() }}), 0))
{%- endmacro %}

{#- An 8-byte floating point type on every adapter. -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'accountpulse')()) }}
{%- endmacro %}

{% macro default__type_double() -%}double precision{%- endmacro %}

{% macro duckdb__type_double() -%}double{%- endmacro %}

{% macro spark__type_double() -%}double{%- endmacro %}

{#- dbt.type_float() is a 4-byte float on DuckDB; every metric ratio wants 8 bytes. dbt_project.yml
    puts this project first in the `dbt` dispatch search order, so this override applies everywhere. -#}
{% macro duckdb__type_float() -%}double{%- endmacro %}
