"""accountpulse: account-level product analytics for B2B SaaS (dbt + Dagster)."""

__version__ = "0.1.0"
