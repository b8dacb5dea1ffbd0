{#- Fails with the rows where `expression` is not true (a row-level invariant). -#}
{% test expression_is_true(model, expression, where_clause=none) %}
    select *
    from {{ model }}
    where not coalesce(({{ expression }}), false)
    {%- if where_clause %} and ({{ where_clause }}){% endif %}
{% endtest %}
