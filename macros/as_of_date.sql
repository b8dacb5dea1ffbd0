{#- The as-of date contract (var as_of_date). util_as_of_date checks the var against the kept events
    (check_as_of_date); incremental models whose rows are dated by the as-of date drop, before they
    run, every stored row dated after it (delete_rows_after_as_of), so an incremental run with any
    as-of date, an earlier one included (a backfill, a schedule re-run), equals a full refresh with it.
    The event tables and the user-day pre-aggregates hold every loaded event whatever the date: a
    full refresh with an earlier as-of date holds them too (DECISIONLOG, "as_of_date is a contract"). -#}

{#- Fails the run, in one line, when var as_of_date is not a date, is after the run's start date
    (UTC), or is before the first kept event; logs how many days the data lags when the last kept
    event is before it. `event_relations` are the staged event tables (relations, already built).
    No events (an empty or billing-only warehouse): nothing to check against. -#}
{% macro check_as_of_date(as_of_value, event_relations) %}
    {%- if not execute or not as_of_value %}{{ return('') }}{% endif -%}
    {%- set text = as_of_value | string | trim -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', text) -%}
        {{ exceptions.raise_compiler_error("var as_of_date must be a date YYYY-MM-DD, got '" ~ text ~ "'") }}
    {%- endif -%}
    {%- set as_of = modules.datetime.date(text[0:4] | int, text[5:7] | int, text[8:10] | int) -%}
    {%- set today = run_started_at.date() -%}
    {%- if as_of > today -%}
        {{ exceptions.raise_compiler_error(
            "var as_of_date " ~ text ~ " is after today (" ~ today ~ " UTC): the marts would invent the future"
        ) }}
    {%- endif -%}
    {%- set selects = [] -%}
    {%- for relation in event_relations -%}
        {%- if load_relation(relation) is not none -%}
            {%- do selects.append(
                'select cast(min(event_at) as date) as first_date, cast(max(event_at) as date) as last_date from '
                ~ relation
            ) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if not selects %}{{ return('') }}{% endif -%}
    {%- set range = run_query(
        'select min(first_date), max(last_date) from (' ~ (selects | join(' union all ')) ~ ') as event_dates'
    ).rows[0] -%}
    {%- if range[0] is none %}{{ return('') }}{% endif -%}
    {%- set first_date = range[0] | string -%}
    {%- set last_date = range[1] | string -%}
    {%- if text < first_date[0:10] -%}
        {{ exceptions.raise_compiler_error(
            "var as_of_date " ~ text ~ " is before the first event (" ~ first_date[0:10] ~ "): nothing to measure"
        ) }}
    {%- endif -%}
    {%- if text > last_date[0:10] -%}
        {%- set last = modules.datetime.date(
            last_date[0:4] | int, last_date[5:7] | int, last_date[8:10] | int
        ) -%}
        {%- set lag = (as_of - last).days -%}
        {{ log(
            "as of " ~ text ~ ": data ends " ~ last_date[0:10] ~ ", " ~ lag ~ (" day" if lag == 1 else " days")
            ~ " before the as-of date",
            info=True
        ) }}
    {%- endif -%}
{% endmacro %}

{#- pre_hook of an incremental model with one row per as-of-dated day, up to the as-of date: before
    an incremental run, delete every stored row dated after the last day of `spine` (the model's
    input, which ends on the as-of date; all rows when it is empty), as a full refresh would not
    have them. The spine is an input the model reads anyway: its unit tests need nothing more. -#}
{% macro delete_rows_after_as_of(date_column, spine) %}
    {%- if is_incremental() -%}
        {{ return(adapter.dispatch('delete_rows_after_as_of', 'accountpulse')(date_column, spine)) }}
    {%- endif -%}
{% endmacro %}

{% macro default__delete_rows_after_as_of(date_column, spine) -%}
    delete from {{ this }}
    where coalesce({{ date_column }} > (select max({{ date_column }}) from {{ spine }}), true)
{%- endmacro %}

{#- Spark (parquet partitioned by the date column, insert_overwrite): no DELETE; drop the partitions
    after the spine's last day. -#}
{% macro spark__delete_rows_after_as_of(date_column, spine) -%}
    {%- if execute -%}
        {%- set dates = run_query(
            'select distinct cast(' ~ date_column ~ ' as string) from ' ~ this
            ~ ' where coalesce(' ~ date_column ~ ' > (select max(' ~ date_column ~ ') from ' ~ spine ~ '), true)'
        ) -%}
        {%- for row in dates.rows -%}
            {%- do run_query(
                'alter table ' ~ this ~ ' drop if exists partition (' ~ date_column ~ " = '" ~ row[0] ~ "')"
            ) -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
