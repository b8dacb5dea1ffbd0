"""How dbt nodes become Dagster assets: groups from the dbt folders, read from the manifest."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

from accountpulse.manifest import folders, is_guarded, meta


def _identifier(text: str) -> str:
    return re.sub(r"[^0-9a-zA-Z_]+", "_", text).strip("_").lower() or "default"


class AccountpulseTranslator(DagsterDbtTranslator):
    """Groups follow the project's folders: `staging_segment`, `intermediate_finance`, `marts_core`, …

    An explicit `meta.dagster.group` on a node still wins. Sources are grouped as `raw_<source>`,
    seeds as `seeds`.
    """

    def __init__(self) -> None:
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        explicit = meta(dbt_resource_props).get("dagster", {}).get("group")
        if explicit:
            return explicit
        resource_type = dbt_resource_props["resource_type"]
        if resource_type == "source":
            return _identifier(f"raw_{dbt_resource_props['source_name']}")
        if resource_type == "seed":
            return "seeds"
        path = folders(dbt_resource_props)[:2]
        return _identifier("_".join(path)) if path else "default"

    def get_tags(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, str]:
        tags = dict(super().get_tags(dbt_resource_props))
        if is_guarded(dbt_resource_props):
            tags["gx_guarded"] = ""
        return tags
