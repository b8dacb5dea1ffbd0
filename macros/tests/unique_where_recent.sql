{#- Uniqueness of the ids a daily run can have written, checked against the whole table.

    The ids of rows whose `recent_column` lies within `days` of the table's latest value (the
    window an incremental run reprocesses) must each occur once in the whole table: a new or
    re-delivered row that collides with a stored one fails, as it would in `unique`. Ids of older
    rows are not checked among themselves. That costs a scan of the id column probed against a
    small set, where `unique` groups every id of history; the full `unique` runs weekly
    (tag history_audit). Fails on duplicate ids, returning each with its count. -#}
{% test unique_where_recent(model, column_name, recent_column, days) %}
with window_start as (
    select {{ dbt.dateadd('day', -1 * (days | int), 'max(' ~ recent_column ~ ')') }} as starts_at
    from {{ model }}
),

recent_ids as (
    select distinct {{ column_name }} as id
    from {{ model }}
    cross join window_start
    where {{ recent_column }} >= window_start.starts_at
)

select
    {{ column_name }} as unique_field,
    count(*) as n_records
from {{ model }}
where {{ column_name }} in (select id from recent_ids)
group by {{ column_name }}
having count(*) > 1
{% endtest %}
