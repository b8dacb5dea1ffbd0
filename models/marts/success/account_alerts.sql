-- One row per alert episode: an account × alert type condition evaluated on every day of
-- fct_account_health_daily; consecutive days on which it holds form one episode (gaps and islands).
-- opened_date = first day of the run, last_seen_date = its last day, closed_date = the first day the
-- condition no longer held (null while it still holds on the as-of date). Rebuilt in full from the
-- daily series on every run, so episodes are always consistent with it; alert_id is a hash of
-- account, type and opened date, so a rebuild reproduces the same ids and never duplicates an alert.
-- Severity, MRR at stake and evidence are taken on the episode's last seen day. Rules and severity
-- grid: _success__docs.md.
{%- set pct = "cast(cast(round(cast(100 * {} as decimal(38, 6)), 0) as " ~ dbt.type_bigint() ~ ") as " ~ dbt.type_string() ~ ")" %}
{%- set as_text = "cast({} as " ~ dbt.type_string() ~ ")" %}
{%- set rests_on_few = "max_core_adopting_users between 1 and " ~ var('single_champion_max_users') %}
{%- set conditions = [
    {
        'type': 'engagement_drop',
        'is_met': "is_below_baseline",
        'metric': "'pct_vs_baseline'",
        'value': "pct_vs_baseline",
        'threshold': var('below_baseline_threshold'),
        'text': [
            "'Week of '", as_text.format('baseline_week_start'), "': '", as_text.format('week_active_users'),
            "' active users vs a baseline of '", as_text.format('cast(round(cast(baseline_active_users as decimal(38, 6)), 1) as decimal(38, 1))'),
            "' ('", pct.format('pct_vs_baseline'), "'%)'",
        ],
    },
    {
        'type': 'adoption_declining',
        'is_met': "declining_core_features > 0",
        'metric': "'declining_core_features'",
        'value': "declining_core_features",
        'threshold': 1,
        'text': [
            as_text.format('declining_core_features'), "' core feature(s) declined " ~ var('declining_after_consecutive') ~ "+ months in a row, latest the month of '", as_text.format('trend_month_start'), "': '",
            "coalesce(declining_core_feature_ids, '')",
        ],
    },
    {
        'type': 'single_champion',
        'is_met': "is_single_champion",
        'metric': "case when " ~ rests_on_few ~ " then 'max_core_adopting_users' else 'top_user_share' end",
        'value': "case when " ~ rests_on_few ~ " then max_core_adopting_users else top_user_share end",
        'threshold': "case when " ~ rests_on_few ~ " then " ~ var('single_champion_max_users') ~ " else " ~ var('single_champion_top_share') ~ " end",
        'text': [
            "case when " ~ rests_on_few ~ " then "
                ~ dbt.concat(["'Core-feature adoption rests on '", as_text.format('max_core_adopting_users'), "' user(s) while '",
                              as_text.format('active_users_90d'), "' were active in 90 days'"])
                ~ " else "
                ~ dbt.concat(["'User '", "coalesce(top_user_id, '')", "' makes '", pct.format('top_user_share'),
                              "'% of the account''s events in " ~ var('trailing_window_days') ~ " days ('", as_text.format('active_users_90d'),
                              "' users active in 90 days)'"])
                ~ " end",
        ],
    },
    {
        'type': 'champion_gone_silent',
        'is_met': "has_silent_champion",
        'metric': "'silent_champion_event_share'",
        'value': "silent_champion_event_share",
        'threshold': var('champion_event_share'),
        'text': [
            "'User '", "silent_champion_user_id", "' made '", pct.format('silent_champion_event_share'),
            "'% of the account''s events in the " ~ var('trailing_window_days') ~ " days before going silent; no activity for " ~ var('champion_silent_days') ~ "+ days'",
        ],
    },
    {
        'type': 'dormant',
        'is_met': "days_since_last_activity >= " ~ var('dormant_after_days'),
        'metric': "'days_since_last_activity'",
        'value': "days_since_last_activity",
        'threshold': var('dormant_after_days'),
        'text': [
            "'No activity since '", as_text.format('last_active_date'), "' ('", as_text.format('days_since_last_activity'), "' days)'",
        ],
    },
    {
        'type': 'renewal_risk',
        'is_met': "mrr > 0 and days_to_renewal between 0 and " ~ var('renewal_window_days') ~ " and (health_band = 'at_risk' or declining_core_features > 0)",
        'metric': "'days_to_renewal'",
        'value': "days_to_renewal",
        'threshold': var('renewal_window_days'),
        'text': [
            "'Renews on '", as_text.format('next_renewal_date'), "' (in '", as_text.format('days_to_renewal'), "' days) while '",
            "case when health_band = 'at_risk' then " ~ dbt.concat(["'at risk (health '", as_text.format('health_score'), "')'"]) ~ " else 'core-feature adoption is declining' end",
        ],
    },
    {
        'type': 'expansion_signal',
        'is_met': "seat_utilization >= " ~ var('expansion_seat_utilization'),
        'metric': "'seat_utilization'",
        'value': "seat_utilization",
        'threshold': var('expansion_seat_utilization'),
        'text': [
            as_text.format('active_users_30d'), "' active users in 30 days on '", as_text.format('licensed_seats'),
            "' licensed seats ('", pct.format('seat_utilization'), "'%)'",
        ],
    },
] %}

with health_days as (
    select * from {{ ref('fct_account_health_daily') }}
),

accounts as (
    select * from {{ ref('dim_accounts') }}
),

-- one select per condition, laid out by hand (the linter indents the loop body)
-- noqa: disable=LT02
condition_days as (
    {%- for condition in conditions %}
    select
        account_id,
        as_of_date,
        cast('{{ condition.type }}' as {{ dbt.type_string() }}) as alert_type,
        coalesce({{ condition.is_met }}, false) as is_met,
        mrr,
        is_high_mrr,
        cast({{ condition.metric }} as {{ dbt.type_string() }}) as evidence_metric,
        cast({{ condition.value }} as {{ dbt.type_float() }}) as evidence_value,
        cast({{ condition.threshold }} as {{ dbt.type_float() }}) as evidence_threshold,
        {{ dbt.concat(condition.text) }} as evidence_text,
        max(as_of_date) over (partition by account_id) as account_last_date
    from health_days
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
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
        numbered_days.is_high_mrr,
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

with_severity as (
    select
        *,
        case
            when alert_type in ('renewal_risk', 'dormant') and is_high_mrr then 'critical'
            when alert_type = 'renewal_risk' then 'high'
            when alert_type = 'dormant' and mrr > 0 then 'high'
            when alert_type in ('engagement_drop', 'champion_gone_silent') and is_high_mrr then 'high'
            when alert_type in ('engagement_drop', 'champion_gone_silent') and mrr > 0 then 'medium'
            when alert_type in ('adoption_declining', 'single_champion') and is_high_mrr then 'medium'
            else 'low'
        end as severity
    from episodes_with_evidence
),

final as (
    select
        cast({{ dbt.hash(dbt.concat([
            'with_severity.account_id', "'|'", 'with_severity.alert_type', "'|'",
            as_text.format('with_severity.opened_date'),
        ])) }} as {{ dbt.type_string() }}) as alert_id,
        with_severity.account_id,
        cast(accounts.account_name as {{ dbt.type_string() }}) as account_name,
        with_severity.alert_type,
        cast(with_severity.severity as {{ dbt.type_string() }}) as severity,
        with_severity.opened_date,
        with_severity.last_seen_date,
        with_severity.closed_date,
        with_severity.closed_date is null as is_open,
        cast({{ dbt.datediff('with_severity.opened_date', 'with_severity.last_seen_date', 'day') }} + 1 as {{ dbt.type_bigint() }}) as days_active,
        cast(with_severity.mrr as decimal(38, 2)) as mrr_at_stake,
        with_severity.evidence_metric,
        with_severity.evidence_value,
        with_severity.evidence_threshold,
        cast(with_severity.evidence_text as {{ dbt.type_string() }}) as evidence_text
    from with_severity
    left join accounts
        on with_severity.account_id = accounts.account_id
)

select * from final
