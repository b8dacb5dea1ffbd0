{#- The read-only role BI tools query the marts with (var reporting_role), PostgreSQL only
    (on-run-start). It is created NOLOGIN when missing: people and BI tools log in as their own
    roles and are made members (`grant accountpulse_reporting to metabase;`), so no password is ever
    managed here. It gets USAGE on the marts schema and nothing else; SELECT on each mart comes from
    the `grants` config of the marts folder in dbt_project.yml, re-applied whenever a mart is
    rebuilt. Raw, staging, intermediate, seeds and monitoring schemas are never granted. -#}
{% macro create_reporting_role() -%}
    {%- if target.type == 'postgres' -%}
        {%- set role = var('reporting_role') -%}
        {%- if not modules.re.fullmatch('[a-z_][a-z0-9_]{0,62}', role) -%}
            {{ exceptions.raise_compiler_error("var reporting_role must be a lowercase SQL identifier, got '" ~ role ~ "'") }}
        {%- endif -%}
        {%- if execute -%}
            {{ accountpulse.check_marts_grant_to(role) }}
        {%- endif -%}
        {%- set marts_schema = generate_schema_name('marts', none) -%}
        do $$
        begin
            if not exists (select 1 from pg_catalog.pg_roles where rolname = '{{ role }}') then
                create role {{ role }} nologin;
            end if;
        exception when duplicate_object or unique_violation then
            null;  -- created meanwhile by a concurrent run: roles are cluster-wide
        end
        $$;
        create schema if not exists {{ marts_schema }};
        grant usage on schema {{ marts_schema }} to {{ role }};
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- dbt_project.yml configs see only --vars, so the marts' `grants` repeat the role's default.
    Stop the run when a mart would be granted to another role than var reporting_role (someone
    changed the var in dbt_project.yml but not the default next to +grants) or to no role. -#}
{% macro check_marts_grant_to(role) -%}
    {%- set wrong = [] -%}
    {%- for node in graph.nodes.values() -%}
        {%- if node.resource_type == 'model' and 'marts' in node.fqn[1:-1] -%}
            {%- set grantees = (node.config.grants or {}).get('select', []) -%}
            {%- if role not in grantees -%}
                {%- do wrong.append(node.name ~ ' -> ' ~ (grantees | join(', ') or 'nobody')) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if wrong -%}
        {{ exceptions.raise_compiler_error(
            "Marts must grant select to var reporting_role '" ~ role ~ "', but: " ~ (wrong | join('; '))
            ~ ". Set the role with --vars '{reporting_role: " ~ role ~ "}', or change the default in the"
            ~ " marts' +grants in dbt_project.yml together with the var."
        ) }}
    {%- endif -%}
{%- endmacro %}
