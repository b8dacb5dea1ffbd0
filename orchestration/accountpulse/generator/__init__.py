"""The demo data generator behind `accountpulse generate`: Segment and Stripe raw tables with
realistic accounts, delivery messes and planted stories, plus a manifest of what was planted.

    from accountpulse.generator import GeneratorConfig, generate, append_days
    result = generate(GeneratorConfig(accounts=25, days=120))
    print(result.summary())

Modules: `config` (options), `catalog` (the seeds), `pricing` (Stripe price book), `population`
(accounts and people), `stories` (planted stories), `billing` (who pays what), `stripe` (Stripe as
Fivetran lands it), `mrr` (ground-truth MRR), `segment` (events), `messes` (delivery clocks and
messes), `layout` (the raw tables as a real warehouse lands them), `tables` (their frames), `loaders`
(DuckDB/PostgreSQL bulk loads), `world` (building it all from the seed), `manifest`, `pipeline`
(generate / append_days).
"""

from accountpulse.generator.config import GeneratorConfig
from accountpulse.generator.manifest import GenerationResult
from accountpulse.generator.pipeline import append_days, generate

__all__ = ["GenerationResult", "GeneratorConfig", "append_days", "generate"]
