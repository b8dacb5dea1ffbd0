-- The rate to the reporting currency in force on every billing day. seeds/fx_rates.csv quotes every
-- currency in one base currency (var fx_rates_base_currency, default usd; its own rows are 1.0): the seed
-- row with the latest valid_from on or before the day. When var reporting_currency is another currency,
-- the rate is the cross rate of the day: rate(currency -> base) / rate(reporting -> base). The pre-hook
-- stops the build, naming the currency and the day, when the reporting currency has no rate on a
-- billing day or the base currency is quoted at anything but 1.
{{ config(pre_hook="{{ check_fx_rates_reporting_currency() }}") }}

{%- set reporting_currency = var('reporting_currency') | lower %}
{%- set base_currency = var('fx_rates_base_currency') | lower %}
{%- for name, code in [('reporting_currency', reporting_currency), ('fx_rates_base_currency', base_currency)] %}
    {%- if not (code | length == 3 and code.isalpha()) %}
        {{- exceptions.raise_compiler_error(
            "var " ~ name ~ " must be a three-letter ISO 4217 code such as usd or eur, not '" ~ code ~ "'"
        ) }}
    {%- endif %}
{%- endfor %}

with fx_rates as (
    select * from {{ ref('fx_rates') }}
),

billing_days as (
    select * from {{ ref('util_billing_days') }}
),

rate_periods as (
    select
        lower(currency) as currency,
        rate_to_reporting as rate_to_base,
        valid_from,
        lead(valid_from) over (
            partition by lower(currency)
            order by valid_from
        ) as next_valid_from
    from fx_rates
),

rates_to_base as (
    select
        rate_periods.currency,
        billing_days.date_day as rate_date,
        rate_periods.rate_to_base,
        rate_periods.valid_from
    from rate_periods
    inner join billing_days
        on billing_days.date_day >= rate_periods.valid_from
            and (rate_periods.next_valid_from is null or billing_days.date_day < rate_periods.next_valid_from)
),

reporting_rates as (
    -- the reporting currency's rate to the base on each day; the base itself is 1 by definition
    select
        rate_date,
        rate_to_base
    from rates_to_base
    where currency = '{{ reporting_currency }}'
        and '{{ reporting_currency }}' <> '{{ base_currency }}'
    union all
    select
        date_day as rate_date,
        cast(1 as {{ accountpulse.type_double() }}) as rate_to_base
    from billing_days
    where '{{ reporting_currency }}' = '{{ base_currency }}'
),

final as (
    select
        rates_to_base.currency,
        rates_to_base.rate_date,
        {{ safe_divide('rates_to_base.rate_to_base', 'reporting_rates.rate_to_base') }} as rate_to_reporting,
        rates_to_base.valid_from
    from rates_to_base
    inner join reporting_rates
        on rates_to_base.rate_date = reporting_rates.rate_date
)

select * from final
