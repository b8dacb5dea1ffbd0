{#- Spark overrides of dbt's cross-database macros where dbt-spark's versions lose precision. The
    project is first in the `dbt` dispatch search order (dbt_project.yml), so these apply everywhere. -#}

{#- dbt.type_float() is Spark's 4-byte `float`: every metric ratio wants 8 bytes, as on DuckDB. -#}
{% macro spark__type_float() -%}double{%- endmacro %}

{#- dbt-spark's dateadd goes through to_unix_timestamp (whole seconds: milliseconds are dropped) and
    adds nothing for 'millisecond'; Spark's timestampadd keeps the timestamp's precision. The result
    is a timestamp, as on DuckDB and PostgreSQL (callers cast to date where they want a date). -#}
{% macro spark__dateadd(datepart, interval, from_date_or_timestamp) -%}
    timestampadd({{ datepart | upper }}, cast({{ interval }} as bigint), cast({{ from_date_or_timestamp }} as timestamp))
{%- endmacro %}

{#- whole milliseconds from start to end (a BIGINT) -#}
{% macro spark__millis_between(start, end) -%}
    timestampdiff(MILLISECOND, {{ start }}, {{ end }})
{%- endmacro %}

{#- a timestamp plus a (64-bit) number of milliseconds: timestampadd takes a BIGINT count -#}
{% macro spark__add_milliseconds(timestamp, millis) -%}
    timestampadd(MILLISECOND, cast({{ millis }} as bigint), cast({{ timestamp }} as timestamp))
{%- endmacro %}
