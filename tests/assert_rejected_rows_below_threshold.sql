-- Warns when a source table sets aside more than var rejected_rows_warn_share of its raw rows:
-- the rows are counted in mon_source_row_audit, but that many usually means a loader problem.
{{ config(severity='warn') }}

with audit as (
    select * from {{ ref('mon_source_row_audit') }}
),

per_table as (
    select
        source_table,
        sum(case when disposition = 'rejected' then row_count else 0 end) as rejected_rows,
        sum(case when disposition <> 'flagged' then row_count else 0 end) as raw_rows
    from audit
    group by source_table
),

final as (
    select
        source_table,
        rejected_rows,
        raw_rows,
        {{ safe_divide('rejected_rows', 'raw_rows') }} as rejected_share
    from per_table
    where {{ safe_divide('rejected_rows', 'raw_rows') }} > {{ var('rejected_rows_warn_share') }}
)

select * from final
