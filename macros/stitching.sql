{#- Whether `at` falls in a period of int_anonymous_ids_stitched_to_users (`stitched`: its alias): from the
    period's first claim (period 1: from the start of time, a device's pre-login history) until the next
    period's first claim (exclusive; the last period: open-ended). -#}
{% macro within_stitched_period(at, stitched) -%}
    {{ at }} >= case
        when {{ stitched }}.period_number = 1 then cast('1900-01-01' as {{ dbt.type_timestamp() }})
        else {{ stitched }}.valid_from
    end
    and {{ at }} < coalesce({{ stitched }}.valid_to, cast('9999-12-31' as {{ dbt.type_timestamp() }}))
{%- endmacro %}
