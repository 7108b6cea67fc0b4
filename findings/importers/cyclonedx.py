"""CycloneDX JSON (1.2-1.6): the ``vulnerabilities`` array, each ``affects`` ref resolved to its component.

A BOM is an inventory: components without vulnerabilities are not findings, so a plain SBOM imports
as zero records.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, BinaryIO

from findings.errors import ImportFailed

from ._shapes import join_lines, need_dict, need_list, parse_purl
from .base import Category, FindingRecord
from .common import (
    as_dict,
    as_list,
    as_score,
    as_text,
    load_json,
    normalize_severity,
    parse_datetime,
    severity_from_cvss,
)

NAME = "cyclonedx"
LABEL = "CycloneDX JSON"

_BOM_FORMAT = re.compile(rb'"bomFormat"\s*:\s*"CycloneDX"')
_SCHEMA = re.compile(rb'"\$schema"\s*:\s*"https?://cyclonedx\.org/schema/bom-')
# VEX analysis states saying the vulnerability does not apply to this component (any more).
_NOT_APPLICABLE = {"not_affected", "false_positive", "resolved", "resolved_with_pedigree"}
# Component properties tools use to say where a package was found.
_PATH_PROPERTIES = ("aquasecurity:trivy:FilePath", "syft:location:0:path", "cdx:npm:package:path")


def sniff(head: bytes) -> bool:
    return head.lstrip()[:1] == b"{" and bool(_BOM_FORMAT.search(head) or _SCHEMA.search(head))


def parse(stream: BinaryIO) -> Iterator[FindingRecord]:
    document = load_json(stream, label=LABEL)
    if document is None:
        raise ImportFailed(f"{LABEL}: the file is empty; expected a CycloneDX JSON document.")
    bom = need_dict(document, label=LABEL, where="the top level")
    bom_format = as_text(bom.get("bomFormat"), 50)
    if bom_format and bom_format != "CycloneDX":
        raise ImportFailed(f"{LABEL}: bomFormat is {bom_format!r}, not 'CycloneDX'.")
    if not bom_format and "specVersion" not in bom:
        raise ImportFailed(
            f"{LABEL}: no bomFormat or specVersion at the top level; this is not a CycloneDX BOM."
        )
    vulnerabilities = need_list(bom.get("vulnerabilities"), label=LABEL, where="vulnerabilities")
    if not vulnerabilities:
        return
    components = _index_components(bom)
    target = _target(as_dict(bom.get("metadata")))
    for index, item in enumerate(vulnerabilities):
        vulnerability = need_dict(item, label=LABEL, where=f"vulnerabilities[{index}]")
        yield from _records(vulnerability, index, components, target)


def _index_components(bom: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """bom-ref -> component, over the whole nested tree (iteratively: nesting depth is hostile)."""
    index: dict[str, dict[str, Any]] = {}
    pending: list[Any] = [as_dict(bom.get("metadata")).get("component"), *as_list(bom.get("components"))]
    while pending:
        component = pending.pop()
        if not isinstance(component, dict):
            continue
        ref = as_text(component.get("bom-ref"), 2000)
        if ref:
            index.setdefault(ref, component)
        pending.extend(as_list(component.get("components")))
    return index


def _package_name(component: dict[str, Any]) -> str:
    name = as_text(component.get("name"), 300)
    group = as_text(component.get("group"), 300)
    if not group:
        return name
    kind_, _, _ = parse_purl(as_text(component.get("purl"), 2000))
    return f"{group}:{name}" if kind_ in {"maven", "gradle"} else f"{group}/{name}"


def _target(metadata: dict[str, Any]) -> str:
    component = as_dict(metadata.get("component"))
    return _package_name(component) if component else ""


def _component_path(component: dict[str, Any]) -> str:
    for prop in as_list(component.get("properties")):
        prop = as_dict(prop)
        if as_text(prop.get("name"), 200) in _PATH_PROPERTIES and as_text(prop.get("value")):
            return as_text(prop.get("value"), 1000)
    occurrences = as_list(as_dict(component.get("evidence")).get("occurrences"))
    return next(
        (as_text(as_dict(o).get("location"), 1000) for o in occurrences if as_dict(o).get("location")), ""
    )


def _pick_ratings(vulnerability: dict[str, Any]) -> tuple[str, float | None]:
    """Severity and CVSS score from ratings.

    The rating of the vulnerability's own source wins (Trivy puts the distribution's rating there,
    as its own JSON report does); then the first rating saying anything. CVSS prefers v3/v4 scores.
    """
    ratings = [as_dict(r) for r in as_list(vulnerability.get("ratings"))]
    source = as_text(as_dict(vulnerability.get("source")).get("name"), 100).lower()
    # Sorted by identity, never by ==: comparing hostile deeply nested dicts can raise RecursionError.
    ordered = sorted(
        ratings,
        key=lambda r: not source or as_text(as_dict(r.get("source")).get("name"), 100).lower() != source,
    )
    modern = [r for r in ordered if as_text(r.get("method"), 30).upper().startswith(("CVSSV3", "CVSSV4"))]
    cvss = next((as_score(r.get("score")) for r in modern + ordered if as_score(r.get("score"))), None)
    # "unknown"/"none" ratings say nothing; a later rating or the score decides instead.
    words = [as_text(r.get("severity"), 30).lower() for r in ordered]
    word = next((w for w in words if normalize_severity(w, "") and w not in {"unknown", "none"}), "")
    return normalize_severity(word, severity_from_cvss(cvss)), cvss


def _records(
    vulnerability: dict[str, Any], index: int, components: dict[str, dict[str, Any]], target: str
) -> Iterator[FindingRecord]:
    rule_id = as_text(vulnerability.get("id"), 200)
    if not rule_id:
        raise ImportFailed(f"{LABEL}: vulnerabilities[{index}] has no id.")
    analysis_state = as_text(as_dict(vulnerability.get("analysis")).get("state"), 50).lower()
    if analysis_state in _NOT_APPLICABLE:
        return
    severity, cvss = _pick_ratings(vulnerability)
    affects = [as_dict(a) for a in as_list(vulnerability.get("affects"))] or [{}]
    for affected in affects:
        ref = as_text(affected.get("ref"), 2000)
        versions = [as_dict(v) for v in as_list(affected.get("versions"))]
        statuses = {as_text(v.get("status"), 30).lower() for v in versions} - {""}
        if statuses == {"unaffected"}:
            continue
        component = components.get(ref, {})
        _, purl_name, purl_version = parse_purl(as_text(component.get("purl"), 2000) or ref)
        package = _package_name(component) if component.get("name") else purl_name
        affected_version = next(
            (
                as_text(v.get("version"), 100)
                for v in versions
                if as_text(v.get("status")).lower() == "affected"
            ),
            "",
        )
        fixed = next(
            (
                as_text(v.get("version"), 100)
                for v in versions
                if as_text(v.get("status")).lower() == "unaffected"
            ),
            "",
        )
        yield FindingRecord(
            category=Category.VULNERABILITY,
            rule_id=rule_id,
            title=f"{rule_id} in {package}" if package else rule_id,
            severity=severity,
            package=package,
            installed_version=as_text(component.get("version"), 100) or purl_version or affected_version,
            fixed_version=fixed,
            location=_component_path(component),
            target=target,
            cvss=cvss,
            published_at=parse_datetime(vulnerability.get("published")),
            description=_description(vulnerability, ref if not package else ""),
            url=as_text(as_dict(vulnerability.get("source")).get("url"), 1000)
            or next(
                (as_text(as_dict(a).get("url"), 1000) for a in as_list(vulnerability.get("advisories"))), ""
            ),
        )


def _description(vulnerability: dict[str, Any], unresolved_ref: str) -> str:
    cwes = ", ".join(f"CWE-{as_text(c, 10)}" for c in as_list(vulnerability.get("cwes")) if as_text(c))
    analysis = as_dict(vulnerability.get("analysis"))
    return join_lines(
        [
            f"Affected component reference: {unresolved_ref}" if unresolved_ref else "",
            f"CWE: {cwes}" if cwes else "",
            f"Analysis: {as_text(analysis.get('state'), 50)}" if analysis.get("state") else "",
            f"Recommendation: {as_text(vulnerability.get('recommendation'), 1000)}"
            if vulnerability.get("recommendation")
            else "",
            as_text(vulnerability.get("description")),
            as_text(vulnerability.get("detail")),
        ]
    )
