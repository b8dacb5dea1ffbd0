{#- Select a raw table's columns by name, tolerating a user's warehouse layout:
    - a required column that is missing stops the build with a message naming table and column;
    - an optional column that is missing becomes a typed null;
    - columns we do not know are ignored (a new column in a raw table never breaks the build).
    `columns` is a list of (name, type, required) triples; the output keeps the raw names,
    quoted, so reserved words such as "timestamp" and "end" are safe. -#}
{% macro source_columns(relation, columns) -%}
    {%- set present = [] -%}
    {%- if execute -%}
        {%- set found = adapter.get_columns_in_relation(relation) -%}
        {%- if found | length == 0 -%}
            {{ exceptions.raise_compiler_error("Raw table " ~ relation ~ " was not found (or has no columns). Load the raw data first, e.g. `accountpulse generate`, or point the segment_schema/stripe_schema vars at your loader's schemas.") }}
        {%- endif -%}
        {%- for col in found -%}{%- do present.append(col.name | lower) -%}{%- endfor -%}
    {%- endif -%}
    {%- for name, type, required in columns %}
        {%- if not execute or name in present %}
        {{ adapter.quote(name) }}{% if not loop.last %},{% endif %}
        {%- elif required %}
            {{- exceptions.raise_compiler_error("Raw table " ~ relation ~ " is missing required column '" ~ name ~ "'. accountpulse reads this column; add it to the loader's table or map it in a view.") }}
        {%- else %}
        cast(null as {{ type }}) as {{ adapter.quote(name) }}{% if not loop.last %},{% endif %}
        {%- endif %}
    {%- endfor %}
{%- endmacro %}
