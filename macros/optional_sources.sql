{#- Optional raw tables: a table only some warehouses have (Segment's `screens` exists only where a
    mobile source sends screen calls). `source_table_exists` says whether the relation is there (at
    parse time: yes, so the model's SQL is parsed in full); a base model reads it when it is, else an
    empty table of the same columns (`empty_source_columns`), so a warehouse without it builds and
    counts nothing. -#}
{% macro source_table_exists(relation) -%}
    {%- if not execute -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set found = adapter.get_relation(
        database=relation.database, schema=relation.schema, identifier=relation.identifier
    ) -%}
    {{ return(found is not none) }}
{%- endmacro %}

{#- The select list source_columns would give, as typed nulls (for `select ... where 1 = 0`). -#}
{% macro empty_source_columns(columns) -%}
    {%- set selected = [] -%}
    {%- for column in columns -%}
        {%- do selected.append('cast(null as ' ~ column[1] ~ ') as ' ~ adapter.quote(column[0])) -%}
    {%- endfor -%}
    {%- do selected.append('cast(null as ' ~ dbt.type_string() ~ ') as type_drift_reason') %}
        {{ selected | join(',\n        ') }}
{%- endmacro %}
