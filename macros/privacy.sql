{#- Segment user ids are often the user's email address. Such an id is replaced in staging by a
    stable pseudonym ('user_' + md5 of the id), the same in every table, so identity stitching,
    attribution and user counts work unchanged while no raw email can reach a mart, an alert or a
    report. Ids without '@' are kept as they are. -#}
{% macro pseudonymous_user_id(user_id) -%}
    cast(
        case
            when {{ user_id }} like '%@%' then {{ dbt.concat(["'user_'", dbt.hash(user_id)]) }}
            else {{ user_id }}
        end as {{ dbt.type_string() }}
    )
{%- endmacro %}
