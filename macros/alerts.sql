{#- The alert rules (account_alerts, rpt_weekly_call_list, and any model that needs to know which
    alerts held on a past day, e.g. a backtest): each condition is evaluated on one account × day row of
    fct_account_health_daily, from that row's point-in-time values only, so the same SQL answers "which
    alerts were open on day d" for any d. Rules, severity and evidence: models/marts/success/_success__docs.md. -#}

{#- The conditions: type, is_met (SQL over a health row), evidence metric/value/threshold and text. -#}
{% macro alert_conditions() -%}
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
        'is_met': "seat_utilization >= " ~ var('expansion_seat_utilization')
            ~ " and (licensed_seats >= " ~ var('expansion_min_seats') ~ " or active_users_30d > licensed_seats)",
        'metric': "'seat_utilization'",
        'value': "seat_utilization",
        'threshold': var('expansion_seat_utilization'),
        'text': [
            as_text.format('active_users_30d'), "' active users in 30 days on '", as_text.format('licensed_seats'),
            "' licensed seats ('", pct.format('seat_utilization'), "'%)'",
        ],
    },
] %}
{{ return(conditions) }}
{%- endmacro %}

{#- Risk types: every type but expansion_signal (an opportunity). -#}
{% macro risk_alert_types() -%}
    {{ return(['engagement_drop', 'adoption_declining', 'single_champion', 'champion_gone_silent', 'dormant', 'renewal_risk']) }}
{%- endmacro %}

{#- How far the account moved from its own baseline, 0–1: the larger of the share of active users lost
    against its weekly baseline (−pct_vs_baseline) and the health points lost over var
    driver_lookback_days / 100; 0 when neither fell or neither is known. -#}
{% macro alert_baseline_move(pct_vs_baseline, health_score_change) -%}
    least(
        1.0,
        greatest(
            0.0,
            -1.0 * coalesce(cast({{ pct_vs_baseline }} as {{ dbt.type_float() }}), 0.0),
            -1.0 * coalesce(cast({{ health_score_change }} as {{ dbt.type_float() }}), 0.0) / 100.0
        )
    )
{%- endmacro %}

{#- Severity score 0–100 of a risk alert = 100 × MRR factor × (0.5 + 0.5 × baseline move), where MRR
    factor = min(1, MRR / (var severity_mrr_cap_multiple × the high-MRR line)), 0 when not paying. It
    doubles with the MRR at stake (up to the cap) and rises by up to half again as the account moves
    away from its own baseline. -#}
{% macro alert_severity_score(mrr, high_mrr_threshold, pct_vs_baseline, health_score_change) -%}
    case
        when {{ mrr }} > 0 and {{ high_mrr_threshold }} > 0
            then 100.0 * least(
                1.0,
                cast({{ mrr }} as {{ dbt.type_float() }})
                / ({{ var('severity_mrr_cap_multiple') }} * cast({{ high_mrr_threshold }} as {{ dbt.type_float() }}))
            ) * (0.5 + 0.5 * {{ alert_baseline_move(pct_vs_baseline, health_score_change) }})
        else 0.0
    end
{%- endmacro %}

{#- The severity band of a score (vars alert_severity_critical_min / _high_min / _medium_min);
    expansion_signal is always low (an opportunity, not a risk). -#}
{% macro alert_severity(alert_type, severity_score) -%}
    case
        when {{ alert_type }} = 'expansion_signal' then 'low'
        when {{ severity_score }} >= {{ var('alert_severity_critical_min') }} then 'critical'
        when {{ severity_score }} >= {{ var('alert_severity_high_min') }} then 'high'
        when {{ severity_score }} >= {{ var('alert_severity_medium_min') }} then 'medium'
        else 'low'
    end
{%- endmacro %}

{#- One row per account × day × alert type of `health_relation` (fct_account_health_daily or a CTE
    with its columns): is_met, MRR, evidence and, for risk types, severity score and band on that day. -#}
{% macro alert_condition_days(health_relation) -%}
{%- set conditions = alert_conditions() %}
{%- for condition in conditions %}
    select
        account_id,
        as_of_date,
        cast('{{ condition.type }}' as {{ dbt.type_string() }}) as alert_type,
        coalesce({{ condition.is_met }}, false) as is_met,
        mrr,
        cast({{ condition.metric }} as {{ dbt.type_string() }}) as evidence_metric,
        cast({{ condition.value }} as {{ dbt.type_float() }}) as evidence_value,
        cast({{ condition.threshold }} as {{ dbt.type_float() }}) as evidence_threshold,
        {{ dbt.concat(condition.text) }} as evidence_text,
        {%- if condition.type == 'expansion_signal' %}
        cast(null as {{ dbt.type_float() }}) as severity_score,
        {%- else %}
        cast({{ alert_severity_score('mrr', 'high_mrr_threshold', 'pct_vs_baseline', 'health_score_change_28d') }} as {{ dbt.type_float() }}) as severity_score,
        {%- endif %}
        cast({{ alert_severity("'" ~ condition.type ~ "'", alert_severity_score('mrr', 'high_mrr_threshold', 'pct_vs_baseline', 'health_score_change_28d')) }} as {{ dbt.type_string() }}) as severity
    from {{ health_relation }}
    {%- if not loop.last %}
    union all
    {%- endif %}
{%- endfor %}
{%- endmacro %}
