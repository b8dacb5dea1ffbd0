{#-
    Day-replacing increments for the user-day pre-aggregates (int_account_user_days,
    int_account_user_feature_days), which read int_events_attributed_to_accounts.

    Every attributed event carries `attributed_at`, the start of the dbt run that last set its user or
    account (a reprocessed event that comes out unchanged keeps it). A pre-aggregate row carries the
    latest attributed_at of its events, so the table's maximum is the attribution run it has caught
    up with. An incremental run rebuilds every day holding an event
    attributed after that (new days, late events, events moved to another user or account), all of
    the day's rows, and every day when the row's `catalog_fingerprint` (the feature catalog the rows
    were counted with) differs from the seeds'. It relies on run start times moving forward, as
    attribution relies on received_at.
-#}

{#- Incremental strategy `replace_days` (DuckDB, PostgreSQL). unique_key is the day column; the batch
    has one more column, `replaced_day`. Every stored row of each replaced_day is deleted, then the
    batch's rows are inserted. A replaced day with no rows left (all its events moved to other users
    or accounts or lost theirs) comes as one row holding only replaced_day: it deletes and is not
    inserted. The strategy needs on_schema_change='ignore' (replaced_day is not a column of the
    table). -#}
{% macro get_incremental_replace_days_sql(arg_dict) %}
    {%- set day_column = arg_dict['unique_key'] -%}
    {%- if day_column is not string -%}
        {{ exceptions.raise_compiler_error("replace_days: unique_key must name the one day column, got " ~ day_column) }}
    {%- endif -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ arg_dict['target_relation'] }}
    where {{ day_column }} in (
        select replaced_day from {{ arg_dict['temp_relation'] }}
    );

    insert into {{ arg_dict['target_relation'] }} ({{ columns }})
    select {{ columns }}
    from {{ arg_dict['temp_relation'] }}
    where {{ day_column }} is not null
{% endmacro %}

{#- The config both pre-aggregates share. Spark keeps them tables: insert_overwrite cannot empty a
    date partition that has no rows left, and the Spark target is rebuilt whole (see DECISIONLOG). -#}
{% macro replace_days_config() %}
    {{ config(
        materialized=('table' if target.type in ('spark', 'databricks') else 'incremental'),
        incremental_strategy='replace_days',
        unique_key='activity_date',
        on_schema_change='ignore',
    ) }}
{% endmacro %}

{#- md5 of the sorted, '|'-joined values of `expression` (an aggregate): changes when the list does -#}
{% macro catalog_fingerprint(expression) %}
    {{- adapter.dispatch('catalog_fingerprint', 'accountpulse')(expression) -}}
{% endmacro %}

{% macro default__catalog_fingerprint(expression) -%}
    md5(coalesce(string_agg({{ expression }}, '|' order by {{ expression }}), ''))
{%- endmacro %}

{% macro spark__catalog_fingerprint(expression) -%}
    md5(array_join(sort_array(collect_list({{ expression }})), '|'))
{%- endmacro %}

{#- CTEs `replaced_days` (activity_date) and `batch_events` for an incremental run; the full refresh
    reads every event. `fingerprint_cte` holds one row with column catalog_fingerprint. The model
    passes its is_incremental() (a unit test overrides the model's, not a macro's). replaced_days
    reads `events_relation` (the relation `events_cte` selects from) itself: a CTE with two readers
    is materialised whole by DuckDB, i.e. every attributed event of history. -#}
{% macro attributed_events_to_replace(events_cte, events_relation, fingerprint_cte, incremental) %}
{%- if incremental %}
stored_watermark as (
    select
        coalesce(max(attributed_at), cast('1900-01-01' as {{ dbt.type_timestamp() }})) as attributed_at,
        coalesce(
            max(case when catalog_fingerprint <> (select catalog_fingerprint from {{ fingerprint_cte }}) then 1 else 0 end),
            0
        ) = 1 as catalog_changed
    from {{ this }}
),

replaced_days as (
    select distinct events.event_date as activity_date
    from {{ events_relation }} as events
    cross join stored_watermark
    where events.attributed_at > stored_watermark.attributed_at
        or stored_watermark.catalog_changed
),

batch_events as (
    select *
    from {{ events_cte }}
    where event_date in (select replaced_days.activity_date from replaced_days)
),
{%- else %}
batch_events as (
    select * from {{ events_cte }}
),
{%- endif %}
{% endmacro %}

{#- The model's last select: on an incremental run, every replaced day with its rows (or alone) -#}
{% macro select_replacing_days(final_cte, incremental) %}
{%- if incremental %}
select
    replaced_days.activity_date as replaced_day,
    {{ final_cte }}.*
from replaced_days
left join {{ final_cte }}
    on replaced_days.activity_date = {{ final_cte }}.activity_date
{%- else %}
select * from {{ final_cte }}
{%- endif %}
{% endmacro %}
