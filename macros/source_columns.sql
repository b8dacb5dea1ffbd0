{#- `select <columns> from <raw table>` for one raw table of the input contract, read from the sources
    YAML (models/staging/*/_*__sources.yml): each column's `data_type` and its `config.meta`
    (`required`, default false; `alternatives`, other names the same column lands under).
    - a required column that is missing (under its name and every alternative) stops the build with a
      message naming table and column;
    - an optional column that is missing becomes a typed null; an alternative that is present is read
      under the contract's name (e.g. `price_id` as `plan_id`);
    - columns the contract does not name are ignored (a new column in a raw table never breaks the build);
    - a column whose type drifted (see raw_column_read) is read through a safe cast, or stops the
      build with a message naming table, column, expected type and the type found;
    - an optional table (table `config.meta.required: false`) that does not exist reads as no rows,
      with every contract column typed; a missing required table stops the build.
    The output keeps the contract's names, quoted, so reserved words such as "timestamp" and "end" are
    safe. One more column, `type_drift_reason`, is 'invalid_<column>' for a row whose value could not
    be cast (the first such column), else null: base models set those rows aside with it. -#}
{% macro raw_table(source_name, table_name) -%}
    {%- set relation = source(source_name, table_name) -%}
    {%- if not execute -%}
    select * from {{ relation }}
    {%- else -%}
    {%- set contract = accountpulse.raw_contract(source_name, table_name) -%}
    {%- set found_types = {} -%}
    {%- set existing = adapter.get_relation(database=relation.database, schema=relation.schema, identifier=relation.identifier) -%}
    {%- if existing is not none -%}
        {%- for col in adapter.get_columns_in_relation(existing) -%}{%- do found_types.update({col.name | lower: col.dtype}) -%}{%- endfor -%}
    {%- endif -%}
    {%- if found_types | length == 0 and contract.required -%}
        {{ exceptions.raise_compiler_error("Raw table " ~ relation ~ " was not found (or has no columns). Load the raw data first, e.g. `accountpulse generate`, or point the segment_schema/stripe_schema vars at your loader's schemas.") }}
    {%- endif -%}
    {%- set table_missing = found_types | length == 0 -%}
    {%- set selected = [] -%}
    {%- set invalid_checks = [] -%}
    {%- for column in contract.columns -%}
        {%- set quoted = adapter.quote(column.name) -%}
        {%- set landed = [] -%}
        {%- for candidate in [column.name] + column.alternatives -%}
            {%- if candidate | lower in found_types and landed | length == 0 -%}{%- do landed.append(candidate | lower) -%}{%- endif -%}
        {%- endfor -%}
        {%- if landed -%}
            {%- set read = accountpulse.raw_column_read(relation, landed[0], column.type, found_types[landed[0]]) -%}
            {%- if read.cast is none -%}
                {%- do selected.append(adapter.quote(landed[0]) ~ (' as ' ~ quoted if landed[0] != column.name else '')) -%}
            {%- else -%}
                {%- do selected.append(read.cast ~ ' as ' ~ quoted) -%}
                {%- if read.can_fail -%}
                    {%- do invalid_checks.append(
                        "when nullif(trim(cast(" ~ adapter.quote(landed[0]) ~ " as " ~ dbt.type_string() ~ ")), '') is not null and "
                        ~ read.cast ~ " is null then 'invalid_" ~ column.name ~ "'"
                    ) -%}
                {%- endif -%}
            {%- endif -%}
        {%- elif column.required and not table_missing -%}
            {{- exceptions.raise_compiler_error("Raw table " ~ relation ~ " is missing required column '" ~ column.name ~ "'" ~ (" (or '" ~ column.alternatives | join("', '") ~ "')" if column.alternatives else "") ~ ". accountpulse reads this column; add it to the loader's table or map it in a view.") }}
        {%- else -%}
            {%- do selected.append('cast(null as ' ~ column.type ~ ') as ' ~ quoted) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if invalid_checks -%}
        {%- do selected.append('case ' ~ invalid_checks | join(' ') ~ ' end as type_drift_reason') -%}
    {%- else -%}
        {%- do selected.append('cast(null as ' ~ dbt.type_string() ~ ') as type_drift_reason') -%}
    {%- endif %}
    select
        {{ selected | join(',\n        ') }}
    {% if table_missing -%}
    where 1 = 0
    {%- else -%}
    from {{ relation }}
    {%- endif %}
    {%- endif -%}
{%- endmacro %}

{#- The contract of one raw table, from the sources YAML: {required: table required, columns: [{name,
    type (the dbt cross-database type of the column's data_type family), required, alternatives}]}. -#}
{% macro raw_contract(source_name, table_name) -%}
    {%- set nodes = graph.sources.values() | selectattr('source_name', 'equalto', source_name) | selectattr('name', 'equalto', table_name) | list -%}
    {%- if nodes | length == 0 -%}
        {{ exceptions.raise_compiler_error("Raw table " ~ source_name ~ "." ~ table_name ~ " is not declared in the sources YAML.") }}
    {%- endif -%}
    {%- set node = nodes[0] -%}
    {%- set table_meta = node.config.get('meta', {}) or node.meta or {} -%}
    {%- set columns = [] -%}
    {%- for name, column in node.columns.items() -%}
        {%- set meta = (column.get('config', {}) or {}).get('meta', {}) or column.get('meta', {}) or {} -%}
        {%- if not column.get('data_type') -%}
            {{ exceptions.raise_compiler_error("Raw table " ~ source_name ~ "." ~ table_name ~ " column '" ~ name ~ "' has no data_type in the sources YAML.") }}
        {%- endif -%}
        {%- do columns.append({
            'name': name | lower,
            'type': accountpulse.contract_type(column.get('data_type')),
            'required': meta.get('required', false),
            'alternatives': meta.get('alternatives', []),
        }) -%}
    {%- endfor -%}
    {{ return({'required': table_meta.get('required', true), 'columns': columns}) }}
{%- endmacro %}

{#- The dbt cross-database type for a contract data_type (varchar, bigint, double precision, timestamp, boolean). -#}
{% macro contract_type(data_type) -%}
    {%- set family = accountpulse.type_family(data_type) -%}
    {%- if family == 'text' -%}{{ return(dbt.type_string()) }}
    {%- elif family == 'integer' -%}{{ return(dbt.type_bigint()) }}
    {%- elif family == 'number' -%}{{ return(dbt.type_float()) }}
    {%- elif family == 'timestamp' -%}{{ return(dbt.type_timestamp()) }}
    {%- elif family == 'boolean' -%}{{ return(dbt.type_boolean()) }}
    {%- else -%}
        {{ exceptions.raise_compiler_error("Unknown data_type '" ~ data_type ~ "' in the raw-input contract (sources YAML); use varchar, bigint, double precision, timestamp or boolean.") }}
    {%- endif -%}
{%- endmacro %}

{#- How one present raw column is read, from its expected type and the type the warehouse reports.
    Returns {cast: none} when the types agree (read as it is), else {cast: <expression of the
    expected type>, can_fail: whether a non-blank value can come out null}:
    - expected text, found anything: cast to text (cannot fail);
    - expected a number, found text: digits only (integers) or a plain decimal (floats), else null;
    - expected a timestamp, found text: ISO 8601 date or date-time (UTC, `Z` or `+00:00` allowed), else null;
    - expected a boolean, found text or a number: true/false/t/f/1/0/yes/no, else null;
    - any other pair (a number landed as a timestamp, a timestamp as a number or a boolean, ...): the
      build stops, naming raw table, column, the type expected and the type found.
    A type name this macro does not know is read as it is (the engine decides, as before). -#}
{% macro raw_column_read(relation, name, expected_type, found_type) -%}
    {%- set expected = accountpulse.type_family(expected_type) -%}
    {%- set found = accountpulse.type_family(found_type) -%}
    {%- set quoted = adapter.quote(name) -%}
    {%- if expected == found or expected == 'unknown' or found == 'unknown' -%}
        {{ return({'cast': none, 'can_fail': false}) }}
    {%- elif expected == 'text' -%}
        {{ return({'cast': 'cast(' ~ quoted ~ ' as ' ~ dbt.type_string() ~ ')', 'can_fail': false}) }}
    {%- elif expected == 'integer' and found == 'text' -%}
        {{ return({'cast': '(' ~ accountpulse.safe_text_to_integer(quoted) ~ ')', 'can_fail': true}) }}
    {%- elif expected == 'number' and found == 'text' -%}
        {{ return({'cast': '(' ~ accountpulse.safe_text_to_number(quoted) ~ ')', 'can_fail': true}) }}
    {%- elif expected in ('integer', 'number') and found in ('integer', 'number') -%}
        {{ return({'cast': none, 'can_fail': false}) }}
    {%- elif expected == 'timestamp' and found == 'date' -%}
        {{ return({'cast': 'cast(' ~ quoted ~ ' as ' ~ dbt.type_timestamp() ~ ')', 'can_fail': false}) }}
    {%- elif expected == 'timestamp' and found == 'text' -%}
        {{ return({'cast': '(' ~ accountpulse.safe_text_to_timestamp(quoted) ~ ')', 'can_fail': true}) }}
    {%- elif expected == 'boolean' and found in ('text', 'integer') -%}
        {{ return({'cast': '(' ~ accountpulse.safe_text_to_boolean(quoted) ~ ')', 'can_fail': true}) }}
    {%- else -%}
        {{ exceptions.raise_compiler_error("Raw table " ~ relation ~ " column '" ~ name ~ "' has type " ~ found_type ~ ", expected " ~ expected_type ~ " (" ~ expected ~ "). accountpulse cannot read " ~ found ~ " values as " ~ expected ~ " values; fix the loader's column type or map the column in a view.") }}
    {%- endif -%}
{%- endmacro %}

{#- The family of a type name as an engine reports it (DuckDB, PostgreSQL, Spark, and the names
    dbt's cross-database type macros return): text, integer, number, timestamp, date, boolean or unknown. -#}
{% macro type_family(type_name) -%}
    {%- set name = (type_name or '') | lower | trim -%}
    {%- set base = name.split('(')[0] | trim -%}
    {%- if base in ('varchar', 'text', 'string', 'character varying', 'character', 'char', 'bpchar', 'nvarchar',
                    'json', 'jsonb', 'uuid', 'name') -%}
        {{ return('text') }}
    {%- elif base in ('bigint', 'integer', 'int', 'int2', 'int4', 'int8', 'int16', 'int32', 'int64', 'int128',
                      'smallint', 'tinyint', 'hugeint', 'ubigint', 'uinteger', 'usmallint', 'utinyint',
                      'uhugeint', 'long', 'short', 'byte', 'bigserial', 'serial') -%}
        {{ return('integer') }}
    {%- elif base in ('numeric', 'decimal', 'double', 'double precision', 'float', 'float4', 'float8', 'real',
                      'float32', 'float64') -%}
        {{ return('number') }}
    {%- elif base.startswith('timestamp') or base in ('datetime', 'timestamptz') -%}
        {{ return('timestamp') }}
    {%- elif base == 'date' -%}
        {{ return('date') }}
    {%- elif base in ('boolean', 'bool') -%}
        {{ return('boolean') }}
    {%- else -%}
        {{ return('unknown') }}
    {%- endif -%}
{%- endmacro %}

{#- An id or key as text, trimmed: null when null, empty or only whitespace (spaces, tabs, line breaks):
    a missing id is never an id. -#}
{% macro key_value(column) -%}
    cast(
        case when trim(translate({{ column }}, chr(9) || chr(10) || chr(13), '   ')) <> '' then trim({{ column }}) end
        as {{ dbt.type_string() }}
    )
{%- endmacro %}

{#- Decimal value of a text holding a plain decimal number (-12, 0.5, 12.50); null for anything else. -#}
{% macro safe_text_to_number(text_value) -%}
    {%- set trimmed = 'trim(cast(' ~ text_value ~ ' as ' ~ dbt.type_string() ~ '))' -%}
    case
        when {{ accountpulse.matches_pattern(trimmed, '^-?[0-9]{1,15}([.][0-9]{1,9})?$') }}
            then cast({{ trimmed }} as {{ dbt.type_float() }})
    end
{%- endmacro %}

{#- Timestamp of an ISO 8601 text (date, or date and time to the microsecond; a `Z`, `UTC` or zero
    offset is allowed and dropped, any other offset is not guessed); null for anything else. -#}
{% macro safe_text_to_timestamp(text_value) -%}
    {%- set trimmed = 'trim(cast(' ~ text_value ~ ' as ' ~ dbt.type_string() ~ '))' -%}
    {%- set iso = '^[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]{1,6})?)?)?( ?(Z|UTC|[+]00(:?00)?))?$' -%}
    {%- set local = "regexp_replace(" ~ trimmed ~ ", ' ?(Z|UTC|[+]00(:?00)?)$', '')" -%}
    case
        when {{ accountpulse.matches_pattern(trimmed, iso) }}
            then {{ accountpulse.try_cast_text_to_timestamp(local) }}
    end
{%- endmacro %}

{#- Boolean of a text or number: true/t/yes/y/1 and false/f/no/n/0 (any case); null for anything else. -#}
{% macro safe_text_to_boolean(value) -%}
    case
        when lower(trim(cast({{ value }} as {{ dbt.type_string() }}))) in ('true', 't', 'yes', 'y', '1') then true
        when lower(trim(cast({{ value }} as {{ dbt.type_string() }}))) in ('false', 'f', 'no', 'n', '0') then false
    end
{%- endmacro %}

{% macro matches_pattern(text_value, pattern) -%}
    {{ return(adapter.dispatch('matches_pattern', 'accountpulse')(text_value, pattern)) }}
{%- endmacro %}

{% macro default__matches_pattern(text_value, pattern) -%}
    regexp_matches({{ text_value }}, '{{ pattern }}')
{%- endmacro %}

{% macro postgres__matches_pattern(text_value, pattern) -%}
    ({{ text_value }} ~ '{{ pattern }}')
{%- endmacro %}

{% macro spark__matches_pattern(text_value, pattern) -%}
    ({{ text_value }} rlike '{{ pattern }}')
{%- endmacro %}

{#- A text already checked to look like an ISO date-time, as a timestamp; null (not an error) when
    its fields are out of range (2026-02-30, 25:00). -#}
{% macro try_cast_text_to_timestamp(text_value) -%}
    {{ return(adapter.dispatch('try_cast_text_to_timestamp', 'accountpulse')(text_value)) }}
{%- endmacro %}

{% macro default__try_cast_text_to_timestamp(text_value) -%}
    try_cast({{ text_value }} as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#- PostgreSQL has no try_cast: a function that catches the cast error (created by create_udfs, macros/portable.sql) -#}
{% macro postgres__try_cast_text_to_timestamp(text_value) -%}
    {{ target.schema }}.accountpulse_text_to_timestamp({{ text_value }})
{%- endmacro %}

