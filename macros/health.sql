{#- Helpers of the account health models (models/*/success). -#}

{#- The health score's components in their fixed order — the order also breaks ties between equal
    drivers (see health_driver): (name in var health_weights, score column). -#}
{% macro health_components() -%}
    {{ return([
        ('breadth', 'breadth_score'),
        ('depth', 'depth_score'),
        ('engagement', 'engagement_score'),
        ('trend', 'trend_score'),
        ('concentration', 'concentration_score'),
        ('seat_utilization', 'seat_utilization_score'),
    ]) }}
{%- endmacro %}

{#- var health_weights, checked: one non-negative weight per component, summing to 1 (± 1e-9).
    Raises at execution time (not at parse time, so a bad weight fails the health models, not
    every dbt command); tests/assert_health_weights_sum_to_one.sql reports the same as a test. -#}
{% macro health_weights() -%}
    {%- set weights = var('health_weights') -%}
    {%- if execute -%}
        {%- set names = [] -%}
        {%- for name, column in accountpulse.health_components() -%}{%- do names.append(name) -%}{%- endfor -%}
        {%- if weights is not mapping or (weights.keys() | list | sort) != (names | sort) -%}
            {{ exceptions.raise_compiler_error("var health_weights must map exactly these components to weights: " ~ (names | join(', ')) ~ "; got " ~ weights) }}
        {%- endif -%}
        {%- set total = weights.values() | sum -%}
        {%- if (total - 1) | abs > 0.000000001 -%}
            {{ exceptions.raise_compiler_error("var health_weights must sum to 1; they sum to " ~ total ~ ": " ~ weights) }}
        {%- endif -%}
        {%- for name in names -%}
            {%- if weights[name] < 0 -%}
                {{ exceptions.raise_compiler_error("var health_weights: weight of " ~ name ~ " is negative: " ~ weights[name]) }}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(weights) }}
{%- endmacro %}

{#- A score or score-like value on 0–100, rounded to 2 decimals the same way on every engine. -#}
{% macro round_score(expression) -%}
    cast(round(cast({{ expression }} as decimal(38, 6)), 2) as decimal(6, 2))
{%- endmacro %}

{#- The text type of the health marts' columns, as their contracts declare it (varchar): an
    incremental run compares the new rows' types with the table's, and PostgreSQL's `text` (what
    dbt.type_string() gives) is not `character varying`. -#}
{% macro health_text_type() -%}
    {{ return(adapter.dispatch('health_text_type', 'accountpulse')()) }}
{%- endmacro %}

{% macro default__health_text_type() -%}
    varchar
{%- endmacro %}

{% macro spark__health_text_type() -%}
    string
{%- endmacro %}
