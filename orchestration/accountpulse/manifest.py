"""What the orchestration reads from the dbt manifest: folders, `meta.gx`, and build layers.

Nothing here names a model. A model is *guarded* when it lives under `models/marts/` or declares
`meta.gx`: Great Expectations checks run on it, and models downstream of it are built in a later
layer so that a failed check can stop them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

BUILDABLE = ("model", "seed", "snapshot")


@cache
def _load(path: str, mtime_ns: int) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def load_manifest(path: Path) -> dict[str, Any]:
    return _load(str(path), path.stat().st_mtime_ns)


def model_node(manifest: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    """The manifest node of the model called `name` (the CLI and jobs that read one mart), or None."""
    for props in manifest["nodes"].values():
        if props["resource_type"] == "model" and props["name"] == name:
            return props
    return None


def meta(props: Mapping[str, Any]) -> dict[str, Any]:
    """A node's or column's meta: dbt keeps it both at the top level and under config."""
    merged = dict(props.get("config", {}).get("meta") or {})
    for key, value in (props.get("meta") or {}).items():
        both_dicts = isinstance(value, dict) and isinstance(merged.get(key), dict)
        merged[key] = {**merged[key], **value} if both_dicts else value
    return merged


def folders(props: Mapping[str, Any]) -> list[str]:
    """Folders of a node inside its resource path, e.g. ['marts', 'finance'] (project name dropped)."""
    return list(props.get("fqn", [])[1:-1])


def is_guarded(props: Mapping[str, Any]) -> bool:
    if props.get("resource_type") != "model" or props.get("config", {}).get("materialized") == "ephemeral":
        return False
    return folders(props)[:1] == ["marts"] or "gx" in meta(props)


def buildable_nodes(manifest: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {
        uid: props
        for uid, props in manifest["nodes"].items()
        if props["resource_type"] in BUILDABLE and props.get("package_name") == manifest_project(manifest)
    }


def manifest_project(manifest: Mapping[str, Any]) -> str:
    return manifest["metadata"].get("project_name") or "accountpulse"


def guarded_models(manifest: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {uid: props for uid, props in buildable_nodes(manifest).items() if is_guarded(props)}


def layers(manifest: Mapping[str, Any]) -> dict[str, int]:
    """Build layer of every buildable node: the most guarded models on any path above it.

    Layer 0 needs no guarded model; layer n+1 reads a guarded model of layer n. Building layer by
    layer, with the checks of layer n in between, lets a failed check skip everything downstream.
    """
    nodes = buildable_nodes(manifest)
    parents = manifest["parent_map"]
    memo: dict[str, int] = {}

    def layer(uid: str, seen: frozenset[str] = frozenset()) -> int:
        if uid in memo:
            return memo[uid]
        value = 0
        for parent in parents.get(uid, []):
            if parent in nodes and parent not in seen:
                step = 1 if is_guarded(nodes[parent]) else 0
                value = max(value, layer(parent, seen | {uid}) + step)
        memo[uid] = value
        return value

    return {uid: layer(uid) for uid in nodes}


@dataclass(frozen=True)
class Layer:
    number: int
    select: str  # dbt selection: the layer's nodes by name
    exclude: str  # tests the layer would pick up eagerly but whose other parent is built later


def build_layers(manifest: Mapping[str, Any]) -> list[Layer]:
    """One entry per layer, with the dbt selection that builds exactly that layer and its tests."""
    layer_of = layers(manifest)
    nodes = buildable_nodes(manifest)
    if not layer_of:
        return []
    tests = {
        uid: props
        for uid, props in manifest["nodes"].items()
        if props["resource_type"] == "test" and props.get("package_name") == manifest_project(manifest)
    }
    result = []
    for number in range(max(layer_of.values()) + 1):
        members = sorted(nodes[uid]["name"] for uid, value in layer_of.items() if value == number)
        if not members:
            continue
        excluded = []
        for props in tests.values():
            parent_layers = [
                layer_of[p] for p in manifest["parent_map"].get(props["unique_id"], []) if p in layer_of
            ]
            if number in parent_layers and max(parent_layers) > number:
                excluded.append(props["name"])
        result.append(Layer(number, " ".join(members), " ".join(sorted(excluded))))
    return result
