-- depends_on: {{ ref('fct_account_health_daily') }}
-- var health_weights: one non-negative weight per health component, summing to 1. Returns a row
-- per problem. (fct_account_health_daily also refuses to build with such weights: health_weights().)
{%- set weights = var('health_weights') %}
{%- set names = [] %}
{%- for name, column in health_components() %}{% do names.append(name) %}{% endfor %}

-- one select per component, laid out by hand (the linter indents the loop body)
-- noqa: disable=LT02
with configured_weights as (
    {%- for name in names %}
    select
        '{{ name }}' as component,
        {{ weights[name] if weights is mapping and name in weights else 'null' }} as weight
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),
-- noqa: enable=LT02

problems as (
    select
        component,
        'missing or negative weight' as problem
    from configured_weights
    where weight is null or weight < 0
    union all
    select
        'all' as component,
        'weights sum to ' || cast(sum(weight) as {{ dbt.type_string() }}) as problem
    from configured_weights
    having abs(sum(weight) - 1) > 0.000000001
    {%- if weights is mapping and (weights.keys() | list | reject('in', names) | list) %}
    union all
    select
        '{{ weights.keys() | list | reject("in", names) | join(", ") }}' as component,
        'unknown component' as problem
    {%- endif %}
)

select * from problems
