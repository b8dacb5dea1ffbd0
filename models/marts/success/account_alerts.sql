-- One row per alert episode: an account × alert type condition evaluated on every day of
-- fct_account_health_daily; consecutive days on which it holds form one episode (gaps and islands).
-- opened_date = first day of the run, last_seen_date = its last day, closed_date = the first day the
-- condition no longer held (null while it still holds on the as-of date). Rebuilt in full from the
-- daily series on every run, so episodes are always consistent with it; alert_id is a hash of
-- account, type and opened date, so a rebuild reproduces the same ids and never duplicates an alert.
-- Severity, MRR at stake and evidence are taken on the episode's last seen day. Rules, severity formula
-- and evidence: macros/alerts.sql and _success__docs.md.
{%- set as_text = "cast({} as " ~ dbt.type_string() ~ ")" %}

with health_days as (
    select * from {{ ref('fct_account_health_daily') }}
),

accounts as (
    select * from {{ ref('dim_accounts') }}
),

-- one select per condition (macros/alerts.sql, shared with any model that asks which alerts held on a
-- past day), laid out by hand
-- noqa: disable=LT02
condition_days as (
    select
        conditions.*,
        max(conditions.as_of_date) over (partition by conditions.account_id) as account_last_date
    from (
        {{ alert_condition_days('health_days') }}
    ) as conditions
),
-- noqa: enable=LT02

episode_starts as (
    select
        *,
        case
            when is_met
                and not coalesce(
                    lag(is_met) over (partition by account_id, alert_type order by as_of_date),
                    false
                )
                then 1
            else 0
        end as is_episode_start
    from condition_days
),

numbered_days as (
    select
        *,
        sum(is_episode_start) over (
            partition by account_id, alert_type
            order by as_of_date
            rows between unbounded preceding and current row
        ) as episode_number
    from episode_starts
),

episodes as (
    select
        account_id,
        alert_type,
        episode_number,
        min(as_of_date) as opened_date,
        max(as_of_date) as last_seen_date,
        max(account_last_date) as account_last_date
    from numbered_days
    where is_met
    group by
        account_id,
        alert_type,
        episode_number
),

episodes_with_evidence as (
    select
        episodes.account_id,
        episodes.alert_type,
        episodes.opened_date,
        episodes.last_seen_date,
        case
            when episodes.last_seen_date < episodes.account_last_date
                then cast({{ dbt.dateadd('day', 1, 'episodes.last_seen_date') }} as date)
        end as closed_date,
        numbered_days.mrr,
        numbered_days.severity,
        numbered_days.severity_score,
        numbered_days.evidence_metric,
        numbered_days.evidence_value,
        numbered_days.evidence_threshold,
        numbered_days.evidence_text
    from episodes
    inner join numbered_days
        on episodes.account_id = numbered_days.account_id
            and episodes.alert_type = numbered_days.alert_type
            and episodes.last_seen_date = numbered_days.as_of_date
),

final as (
    select
        cast({{ dbt.hash(dbt.concat([
            'episodes_with_evidence.account_id', "'|'", 'episodes_with_evidence.alert_type', "'|'",
            as_text.format('episodes_with_evidence.opened_date'),
        ])) }} as {{ dbt.type_string() }}) as alert_id,
        episodes_with_evidence.account_id,
        cast(accounts.account_name as {{ dbt.type_string() }}) as account_name,
        episodes_with_evidence.alert_type,
        cast(episodes_with_evidence.severity as {{ dbt.type_string() }}) as severity,
        cast(round(cast(episodes_with_evidence.severity_score as decimal(38, 6)), 2) as decimal(6, 2)) as severity_score,
        episodes_with_evidence.opened_date,
        episodes_with_evidence.last_seen_date,
        episodes_with_evidence.closed_date,
        episodes_with_evidence.closed_date is null as is_open,
        cast({{ dbt.datediff('episodes_with_evidence.opened_date', 'episodes_with_evidence.last_seen_date', 'day') }} + 1 as {{ dbt.type_bigint() }}) as days_active,
        cast(episodes_with_evidence.mrr as decimal(38, 2)) as mrr_at_stake,
        episodes_with_evidence.evidence_metric,
        episodes_with_evidence.evidence_value,
        episodes_with_evidence.evidence_threshold,
        cast(episodes_with_evidence.evidence_text as {{ dbt.type_string() }}) as evidence_text
    from episodes_with_evidence
    left join accounts
        on episodes_with_evidence.account_id = accounts.account_id
)

select * from final
