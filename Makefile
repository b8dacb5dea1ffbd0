# accountpulse — the two set-up commands are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DBT_PROFILES_DIR := $(CURDIR)/profiles
export ACCOUNTPULSE_DUCKDB_PATH ?= $(CURDIR)/data/accountpulse.duckdb
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: install demo test lint pytest build docs dagster metrics bench test-spark clean

# Create/update the virtualenv from the pinned set only when pyproject.toml or constraints.txt changed.
$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "accountpulse needs Python 3.11+ (found " + sys.version.split()[0] + ")"'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt setuptools wheel
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-build-isolation -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/accountpulse demo

build: $(STAMP)
	$(BIN)/accountpulse build

# Dagster UI on http://127.0.0.1:3000 with the project loaded (assets by dbt folder, checks, schedule).
# dbt parse first so the manifest exists; runs and schedules are kept in .dagster_home/.
DAGSTER_PORT ?= 3000
dagster: $(STAMP)
	$(BIN)/dbt parse --quiet
	@mkdir -p $(CURDIR)/.dagster_home
	DAGSTER_HOME=$(CURDIR)/.dagster_home $(BIN)/dagster dev -m accountpulse.definitions -h 127.0.0.1 -p $(DAGSTER_PORT)

# Metrics by name (MetricFlow, models/semantic): example `mf query` runs on the marts readers use (DuckDB:
# the published marts file, read-only; METRICS_TARGET=postgres: PGDATABASE). Build first (make demo).
# Any query: .venv/bin/accountpulse metrics query --metrics mrr,nrr --group-by metric_time__month
METRICS_TARGET ?= duckdb
metrics: $(STAMP)
	$(BIN)/accountpulse metrics --target $(METRICS_TARGET)

# sqlfluff's dbt templater compiles models, which read the raw tables' columns: lint against an
# empty warehouse of our own so linting needs no data.
LINT_DB := $(CURDIR)/target/lint/raw.duckdb
lint: $(STAMP)
	$(BIN)/ruff check orchestration
	$(BIN)/ruff format --check orchestration
	@mkdir -p $(dir $(LINT_DB)) && rm -f $(LINT_DB) && $(BIN)/python -m accountpulse.raw_schema $(LINT_DB)
	ACCOUNTPULSE_DUCKDB_PATH=$(LINT_DB) $(BIN)/sqlfluff lint models tests

pytest: $(STAMP)
	$(BIN)/pytest

# dbt docs: every model, column, metric definition and the exposures (the report, BI dashboards) with
# lineage; generated from the DuckDB file (build it first, e.g. make demo) and served on 127.0.0.1.
DOCS_PORT ?= 8080
docs: $(STAMP)
	$(BIN)/dbt docs generate --static
	$(BIN)/dbt docs serve --host 127.0.0.1 --port $(DOCS_PORT) --no-browser

test: lint pytest

# Performance: generate 1M and 10M events (DuckDB) and 1M (PostgreSQL), time full, incremental and
# no-change builds, check incremental == full refresh; JSON in data/bench, table appended to
# docs/BENCHMARKS.md. More: make bench BENCH_ARGS="--large --postgres-large". Not part of make test.
BENCH_ARGS ?=
bench: $(STAMP)
	$(BIN)/accountpulse bench $(BENCH_ARGS)

# Spark (issue 11): the project on a local Spark through dbt-spark's session method, in its own
# virtualenv (.venv-spark, the `spark` extra) so `make test` needs neither Java nor pyspark. Generates
# a small data set into DuckDB and Spark, builds both, compares every mart row for row, then appends a
# day and checks the incremental Spark run against a full refresh. Not part of make test.
SPARK_VENV := .venv-spark
SPARK_STAMP := $(SPARK_VENV)/.installed
$(SPARK_STAMP): pyproject.toml constraints.txt constraints-spark.txt
	@command -v java >/dev/null 2>&1 || { SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO="sudo"; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq openjdk-17-jre-headless; }
	@test -x $(SPARK_VENV)/bin/python || $(PYTHON) -m venv $(SPARK_VENV)
	$(SPARK_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -c constraints-spark.txt setuptools wheel
	$(SPARK_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-build-isolation -c constraints.txt -c constraints-spark.txt -e '.[dev,spark]'
	@touch $(SPARK_STAMP)

test-spark: $(SPARK_STAMP)
	PATH=$(CURDIR)/$(SPARK_VENV)/bin:$$PATH $(SPARK_VENV)/bin/pytest orchestration/tests_spark -p no:cacheprovider

clean:
	rm -rf target dbt_packages logs data/*.duckdb* data/*.json
