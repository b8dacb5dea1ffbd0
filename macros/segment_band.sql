{#- Size band of an account from its employee count: the first band of var segment_bands (ordered
    from the largest min_employees down) whose min_employees the count reaches; 'unknown' when the
    count is null or below every band. -#}
{% macro segment_band(employees) -%}
    case
        when {{ employees }} is null then 'unknown'
        {%- for band in var('segment_bands') %}
        when {{ employees }} >= {{ band['min_employees'] }} then '{{ band['band'] }}'
        {%- endfor %}
        else 'unknown'
    end
{%- endmacro %}
