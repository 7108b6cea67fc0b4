"""MITRE ATLAS from its release YAML: tactics with their techniques and sub-techniques, and the
mitigations (Apache-2.0, © MITRE; the licence notice is kept on the framework page)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from controls.catalogs import CatalogError, ParsedCatalog, ParsedRequirement

SLUG = "mitre-atlas"
MAX_BYTES = 16 * 1024 * 1024
MITIGATIONS_GROUP = "AML.MITIGATIONS"
ATTRIBUTION = (
    "MITRE ATLAS™ data © 2021-2025 The MITRE Corporation, used under the Apache License 2.0 "
    "(https://github.com/mitre-atlas/atlas-data)."
)


def read_atlas(path: Path) -> ParsedCatalog:
    if path.stat().st_size > MAX_BYTES:
        raise CatalogError(f"{path.name} is larger than 16 MB: not an ATLAS release file.")
    try:
        document = yaml.safe_load(path.read_bytes())
    except yaml.YAMLError as exc:
        raise CatalogError(
            f"{path.name} is not valid YAML (truncated or damaged?): {str(exc)[:200]}."
        ) from exc
    matrices = document.get("matrices") if isinstance(document, dict) else None
    if not isinstance(matrices, list) or not matrices or not isinstance(matrices[0], dict):
        raise CatalogError(f"{path.name} is not an ATLAS release: it has no “matrices”.")
    matrix: dict[str, Any] = matrices[0]
    catalog = ParsedCatalog(
        slug=SLUG,
        name="MITRE ATLAS",
        version=str(document.get("version", "")),
        publisher="The MITRE Corporation",
        source=f"ATLAS release {path.name}",
        url="https://atlas.mitre.org/",
        licence="Apache-2.0",
        attribution=ATTRIBUTION,
    )
    tactics = _items(matrix, "tactics")
    techniques = _items(matrix, "techniques")
    for tactic in tactics:
        catalog.requirements.append(_requirement(tactic, None, "tactic", is_group=True, depth=0))
    placed = {t["id"] for t in tactics}
    parents = [t for t in techniques if "subtechnique-of" not in t]
    for technique in parents:
        tactic_ids = [t for t in technique.get("tactics", []) if t in placed]
        parent = tactic_ids[0] if tactic_ids else None
        catalog.requirements.append(_requirement(technique, parent, "technique", depth=1))
    known = {t["id"] for t in parents}
    for sub in techniques:
        if "subtechnique-of" in sub:
            parent = sub["subtechnique-of"] if sub["subtechnique-of"] in known else None
            catalog.requirements.append(_requirement(sub, parent, "sub-technique", depth=2))
    mitigations = _items(matrix, "mitigations")
    if mitigations:
        catalog.requirements.append(
            ParsedRequirement(identifier=MITIGATIONS_GROUP, title="Mitigations", kind="group", is_group=True)
        )
        for mitigation in mitigations:
            catalog.requirements.append(_requirement(mitigation, MITIGATIONS_GROUP, "mitigation", depth=1))
    return catalog


def _items(matrix: dict[str, Any], key: str) -> list[dict[str, Any]]:
    items = matrix.get(key, [])
    if not isinstance(items, list) or not all(
        isinstance(i, dict) and i.get("id") and i.get("name") for i in items
    ):
        raise CatalogError(
            f"Not an ATLAS release: matrices[0].{key} should be a list of objects with id and name."
        )
    return items


def _requirement(
    item: dict[str, Any], parent: str | None, kind: str, *, is_group: bool = False, depth: int = 0
) -> ParsedRequirement:
    description = " ".join(str(item.get("description", "")).split())
    return ParsedRequirement(
        identifier=str(item["id"])[:100],
        title=str(item["name"])[:500],
        parent=parent,
        description=description[:2000],
        kind=kind,
        is_group=is_group,
        depth=depth,
    )
