-- The date every "as of" metric is measured on (one row): var as_of_date when set, else the
-- latest corrected event date among the kept track, page and screen events. Null on an empty warehouse.
-- A var before the first kept event or after today stops the run here (macros/as_of_date.sql).
{{ check_as_of_date(var('as_of_date'), [ref('stg_segment__tracks'), ref('stg_segment__pages'), ref('stg_segment__screens')]) }}
{%- set as_of_override = ("'" ~ var('as_of_date') ~ "'") if var('as_of_date') else 'null' %}

with event_dates as (
    select cast(max(event_at) as date) as event_date from {{ ref('stg_segment__tracks') }}
    union all
    select cast(max(event_at) as date) as event_date from {{ ref('stg_segment__pages') }}
    union all
    select cast(max(event_at) as date) as event_date from {{ ref('stg_segment__screens') }}
),

final as (
    select coalesce(cast({{ as_of_override }} as date), max(event_date)) as as_of_date
    from event_dates
)

select * from final
