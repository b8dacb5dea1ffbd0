{#-
    Pre-hook of int_fx_rates_daily. seeds/fx_rates.csv quotes every currency in one base currency
    (var fx_rates_base_currency); MRR is reported in var reporting_currency through cross rates. Stops the
    build with a message naming the currency and the day when
    - the base currency's own rows are not 1 (the seed is quoted in another currency than the var says), or
    - the reporting currency, when it is not the base, has no rate in force on a billing day.
-#}
{% macro check_fx_rates_reporting_currency() %}
    {%- if execute -%}
        {%- set reporting_currency = var('reporting_currency') | lower -%}
        {%- set base_currency = var('fx_rates_base_currency') | lower -%}
        {%- set seed = ref('fx_rates') -%}
        {%- set off_base = run_query(
            "select valid_from, rate_to_reporting from " ~ seed
            ~ " where lower(currency) = '" ~ base_currency ~ "' and rate_to_reporting <> 1 order by valid_from"
        ) -%}
        {%- if off_base.rows | length > 0 -%}
            {{ exceptions.raise_compiler_error(
                "seeds/fx_rates.csv: rates are quoted in '" ~ base_currency ~ "' (var fx_rates_base_currency), "
                ~ "but its '" ~ base_currency ~ "' row valid from " ~ (off_base.rows[0][0] | string)[:10]
                ~ " has rate_to_reporting " ~ off_base.rows[0][1] ~ ", not 1. Set var fx_rates_base_currency "
                ~ "to the currency the seed is quoted in."
            ) }}
        {%- endif -%}
        {%- if reporting_currency != base_currency -%}
            {%- set missing = run_query(
                "select min(date_day) from " ~ ref('util_billing_days') ~ " as billing_days"
                ~ " where not exists (select 1 from " ~ seed ~ " as fx_rate"
                ~ " where lower(fx_rate.currency) = '" ~ reporting_currency ~ "'"
                ~ " and fx_rate.valid_from <= billing_days.date_day)"
            ) -%}
            {%- if missing.rows[0][0] is not none -%}
                {{ exceptions.raise_compiler_error(
                    "seeds/fx_rates.csv has no rate for the reporting currency '" ~ reporting_currency
                    ~ "' (var reporting_currency) on " ~ (missing.rows[0][0] | string)[:10]
                    ~ ", a billing day: add a row " ~ reporting_currency ~ ",<" ~ base_currency ~ " per "
                    ~ reporting_currency ~ ">,<valid_from on or before that day> (rates are quoted in '"
                    ~ base_currency ~ "', var fx_rates_base_currency)."
                ) }}
            {%- endif -%}
        {%- endif -%}
    {%- endif -%}
{% endmacro %}
