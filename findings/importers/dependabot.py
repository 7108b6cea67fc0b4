"""GitHub Dependabot alerts: the REST export (``GET /repos/{owner}/{repo}/dependabot/alerts``, a JSON
list) and the older GraphQL ``vulnerabilityAlerts`` export that DefectDojo users commonly keep."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, BinaryIO

from findings.errors import ImportFailed

from ._shapes import join_lines, kind, need_dict, need_list
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

NAME = "dependabot"
LABEL = "GitHub Dependabot alerts JSON"

# Only open alerts are current findings. Fixed and dismissed alerts are history the export carries
# along, and a record has no status to say so: importing them would reopen what GitHub closed.
_OPEN = "open"
_REPO_FROM_HTML = re.compile(r"^(https://[^/]+/[^/]+/[^/]+)/security/")
_REPO_FROM_API = re.compile(r"^https://api\.github\.com/repos/([^/]+/[^/]+)/")


def sniff(head: bytes) -> bool:
    start = head.lstrip()[:1]
    if start == b"[":
        return b'"security_advisory"' in head and (
            b'"security_vulnerability"' in head or b'"dependency"' in head
        )
    return start == b"{" and b'"vulnerabilityAlerts"' in head


def parse(stream: BinaryIO) -> Iterator[FindingRecord]:
    document = load_json(stream, label=LABEL)
    if document is None:
        raise ImportFailed(f"{LABEL}: the file is empty; GitHub returns [] when there are no alerts.")
    if isinstance(document, list):
        for index, item in enumerate(document):
            alert = need_dict(item, label=LABEL, where=f"alert [{index}]")
            if as_text(alert.get("state")).lower() in {"", _OPEN}:
                yield _from_rest(alert, index)
    elif isinstance(document, dict):
        for where, node in _graphql_nodes(document):
            if _graphql_is_open(node):
                yield _from_graphql(node, where)
    else:
        raise ImportFailed(
            f"{LABEL}: expected a JSON array of alerts at the top level, found {kind(document)}."
        )


def _rule_id(ghsa: str, cve: str, identifiers: list[Any], where: str) -> str:
    # GHSA first: every Dependabot alert has one from the start, while a CVE may be assigned later
    # and would change the finding's identity between two exports.
    values = [as_text(as_dict(i).get("value"), 100) for i in identifiers]
    ghsa_ids = [v for v in [ghsa, *values] if v.upper().startswith("GHSA-")]
    for candidate in [*ghsa_ids, cve, *values]:
        if candidate:
            return "GHSA-" + candidate[5:].lower() if candidate in ghsa_ids else candidate
    raise ImportFailed(f"{LABEL}: {where} names no advisory (no GHSA or CVE identifier).")


def _score(advisory: dict[str, Any]) -> float | None:
    """CVSS v3 when GitHub has one, v4 otherwise; a 0.0 score is GitHub's way of saying "none"."""
    severities = as_dict(advisory.get("cvss_severities"))
    return (
        as_score(as_dict(advisory.get("cvss")).get("score"))
        or as_score(as_dict(severities.get("cvss_v3")).get("score"))
        or as_score(as_dict(severities.get("cvss_v4")).get("score"))
    )


def _repository(alert: dict[str, Any]) -> str:
    html = _REPO_FROM_HTML.match(as_text(alert.get("html_url"), 1000))
    if html:
        return html.group(1)
    api = _REPO_FROM_API.match(as_text(alert.get("url"), 1000))
    return f"https://github.com/{api.group(1)}" if api else ""


def _from_rest(alert: dict[str, Any], index: int) -> FindingRecord:
    where = f"alert [{index}]"
    advisory = as_dict(alert.get("security_advisory"))
    vulnerability = as_dict(alert.get("security_vulnerability"))
    dependency = as_dict(alert.get("dependency"))
    package_info = as_dict(dependency.get("package")) or as_dict(vulnerability.get("package"))
    package = as_text(package_info.get("name"), 300)
    cve = as_text(advisory.get("cve_id"), 50)
    rule_id = _rule_id(as_text(advisory.get("ghsa_id"), 50), cve, as_list(advisory.get("identifiers")), where)
    cvss = _score(advisory)
    manifest = as_text(dependency.get("manifest_path"), 500)
    vulnerable_range = as_text(vulnerability.get("vulnerable_version_range"), 300)
    number_ = as_text(alert.get("number"), 20)
    cwes = ", ".join(as_text(as_dict(c).get("cwe_id"), 30) for c in as_list(advisory.get("cwes")))
    summary = as_text(advisory.get("summary"), 300)
    # Short facts first: the advisory text is often long enough to be clipped.
    description = join_lines(
        [
            f"CVE: {cve}" if cve else "",
            f"Ecosystem: {as_text(package_info.get('ecosystem'), 50)}"
            if package_info.get("ecosystem")
            else "",
            f"Vulnerable versions: {vulnerable_range}" if vulnerable_range else "",
            f"Dependency: {as_text(dependency.get('relationship'), 50)}, "
            f"{as_text(dependency.get('scope'), 50)}"
            if dependency.get("relationship")
            else "",
            f"CWE: {cwes}" if cwes.strip(", ") else "",
            as_text(advisory.get("description")),
        ]
    )
    return FindingRecord(
        category=Category.VULNERABILITY,
        rule_id=rule_id,
        title=summary or f"{rule_id} in {package}",
        severity=normalize_severity(
            as_text(vulnerability.get("severity"), 30) or as_text(advisory.get("severity"), 30),
            severity_from_cvss(cvss),
        ),
        package=package,
        fixed_version=as_text(as_dict(vulnerability.get("first_patched_version")).get("identifier"), 100),
        location=_location(manifest, number_, vulnerable_range),
        target=_repository(alert),
        cvss=cvss,
        published_at=parse_datetime(advisory.get("published_at")),
        description=description,
        url=as_text(alert.get("html_url"), 1000),
    )


def _location(manifest: str, alert_number: str, vulnerable_range: str) -> str:
    # Dependabot raises one alert per vulnerable range of a package in a manifest (minimatch 3.x, 5.x
    # and 9.x in one lockfile are three alerts with three fixes). The alert number tells them apart
    # and never changes for the life of the alert; the range stands in when the export lacks it.
    if alert_number:
        return f"{manifest} (alert #{alert_number})"
    return f"{manifest} ({vulnerable_range})" if vulnerable_range else manifest


def _graphql_nodes(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    data = document.get("data")
    if data is None and "errors" in document:
        messages = "; ".join(as_text(as_dict(e).get("message"), 300) for e in as_list(document["errors"]))
        raise ImportFailed(
            f"{LABEL}: the GitHub API returned errors instead of alerts: {messages or 'unknown'}."
        )
    data = need_dict(data, label=LABEL, where="data")
    repositories: list[tuple[str, Any]] = []
    if "repository" in data:
        repositories.append(("data.repository", data["repository"]))
    if "search" in data:
        search = need_dict(data["search"], label=LABEL, where="data.search")
        nodes = need_list(search.get("nodes"), label=LABEL, where="data.search.nodes")
        repositories += [(f"data.search.nodes[{i}]", node) for i, node in enumerate(nodes)]
    if not repositories:
        raise ImportFailed(
            f"{LABEL}: expected data.repository or data.search in a GraphQL vulnerabilityAlerts export."
        )
    for where, repository in repositories:
        repository = need_dict(repository, label=LABEL, where=where)
        alerts = need_dict(
            repository.get("vulnerabilityAlerts"), label=LABEL, where=f"{where}.vulnerabilityAlerts"
        )
        nodes = need_list(alerts.get("nodes"), label=LABEL, where=f"{where}.vulnerabilityAlerts.nodes")
        target = as_text(repository.get("url"), 500) or as_text(repository.get("nameWithOwner"), 300)
        for index, node in enumerate(nodes):
            node_where = f"{where}.vulnerabilityAlerts.nodes[{index}]"
            alert = need_dict(node, label=LABEL, where=node_where)
            yield node_where, {**alert, "_target": target or as_text(repository.get("name"), 300)}


def _graphql_is_open(node: dict[str, Any]) -> bool:
    state = as_text(node.get("state")).lower()
    if state:
        return state == _OPEN
    # Exports made before GitHub added "state" only tell closed alerts by their timestamps.
    return not (node.get("dismissedAt") or node.get("fixedAt"))


def _from_graphql(node: dict[str, Any], where: str) -> FindingRecord:
    vulnerability = as_dict(node.get("securityVulnerability"))
    advisory = as_dict(vulnerability.get("advisory")) or as_dict(node.get("securityAdvisory"))
    package_info = as_dict(vulnerability.get("package"))
    package = as_text(package_info.get("name"), 300)
    identifiers = as_list(advisory.get("identifiers"))
    cve = next(
        (
            as_text(as_dict(i).get("value"), 50)
            for i in identifiers
            if as_text(as_dict(i).get("type")) == "CVE"
        ),
        "",
    )
    rule_id = _rule_id(as_text(advisory.get("ghsaId"), 50), cve, identifiers, where)
    cvss = as_score(as_dict(advisory.get("cvss")).get("score"))
    vulnerable_range = as_text(vulnerability.get("vulnerableVersionRange"), 300)
    requirement = as_text(node.get("vulnerableRequirements"), 100)
    summary = as_text(advisory.get("summary"), 300)
    cwes = ", ".join(
        as_text(as_dict(c).get("cweId"), 30) for c in as_list(as_dict(advisory.get("cwes")).get("nodes"))
    )
    description = join_lines(
        [
            f"CVE: {cve}" if cve else "",
            f"Vulnerable versions: {vulnerable_range}" if vulnerable_range else "",
            f"Requirement: {requirement}" if requirement else "",
            f"CWE: {cwes}" if cwes.strip(", ") else "",
            as_text(advisory.get("description")),
        ]
    )
    return FindingRecord(
        category=Category.VULNERABILITY,
        rule_id=rule_id,
        title=summary or f"{rule_id} in {package}",
        severity=normalize_severity(as_text(vulnerability.get("severity"), 30), severity_from_cvss(cvss)),
        package=package,
        # "= 1.7.1" pins the installed version; a range ("< 2.0") does not name one.
        installed_version=requirement[2:].strip() if requirement.startswith("= ") else "",
        fixed_version=as_text(as_dict(vulnerability.get("firstPatchedVersion")).get("identifier"), 100),
        location=_location(
            as_text(node.get("vulnerableManifestPath"), 500), as_text(node.get("number"), 20), ""
        ),
        target=as_text(node.get("_target"), 500),
        cvss=cvss,
        published_at=parse_datetime(advisory.get("publishedAt")),
        description=description,
        url=as_text(advisory.get("permalink"), 1000)
        or (f"https://github.com/advisories/{rule_id}" if rule_id.startswith("GHSA-") else ""),
    )
