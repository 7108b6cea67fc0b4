"""OSV-Scanner JSON (``osv-scanner --format json``): results per source, packages, vulnerabilities.

One record per package and *group*: OSV-Scanner groups the IDs that name one problem (a GHSA and
its PYSEC twin), and importing both would count one vulnerability twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

from findings.errors import ImportFailed

from .base import Category, FindingRecord, Severity
from .common import (
    as_dict,
    as_list,
    as_score,
    as_text,
    clip,
    cvss3_base_score,
    file_location,
    load_json,
    normalize_severity,
    parse_datetime,
    severity_from_cvss,
)

NAME = "osv_scanner"
LABEL = "OSV-Scanner JSON"

_RANK: dict[str, int] = {
    Severity.CRITICAL: 4,
    Severity.HIGH: 3,
    Severity.MEDIUM: 2,
    Severity.LOW: 1,
    Severity.INFO: 0,
}


def sniff(head: bytes) -> bool:
    if not head.strip():
        return True  # osv-scanner writes nothing at all when it finds nothing
    if head.lstrip()[:1] != b"{" or b'"results"' not in head:
        return False
    return b'"packages"' in head and (b'"source"' in head or b'"vulnerabilities"' in head)


def parse(stream: BinaryIO) -> Iterator[FindingRecord]:
    document = load_json(stream, label=LABEL)
    if document is None:
        return  # osv-scanner writes nothing at all when it finds nothing
    if type(document) is not dict or type(document.get("results", [])) is not list:
        raise ImportFailed(f'{LABEL}: expected an object with a "results" array at the top level.')
    for index, result in enumerate(document.get("results") or []):
        source = result.get("source") if type(result) is dict else None
        path = as_text(source.get("path"), 1000) if type(source) is dict else ""
        packages = result.get("packages") if type(result) is dict else None
        if type(packages) is not list:
            raise ImportFailed(f"{LABEL}: results[{index}] has no packages array.")
        for position, package in enumerate(packages):
            if type(package) is not dict:
                raise ImportFailed(f"{LABEL}: results[{index}].packages[{position}] should be an object.")
            yield from _package(package, path, f"results[{index}].packages[{position}]")


def _package(package: dict[str, Any], path: str, where: str) -> Iterator[FindingRecord]:
    info = as_dict(package.get("package"))
    vulns = {as_text(v.get("id"), 200): v for v in as_list(package.get("vulnerabilities")) if type(v) is dict}
    listed = [as_list(g.get("ids")) for g in as_list(package.get("groups")) if type(g) is dict]
    groups = [[as_text(i, 200) for i in ids if as_text(i, 200) in vulns] for ids in listed]
    grouped = {i for ids in groups for i in ids}
    groups = [ids for ids in groups if ids] + [[i] for i in vulns if i and i not in grouped]
    for ids in groups:
        yield _record([vulns[i] for i in ids], ids, info, path, where)


def _preferred(ids: list[str]) -> str:
    # A stable choice across re-scans: CVE, then GHSA, then the rest, alphabetically within each.
    return min(ids, key=lambda i: (0 if i.startswith("CVE-") else 1 if i.startswith("GHSA-") else 2, i))


def _record(
    vulns: list[dict[str, Any]], ids: list[str], info: dict[str, Any], path: str, where: str
) -> FindingRecord:
    rule = _preferred(ids)
    chosen = vulns[ids.index(rule)]
    name = as_text(info.get("name"), 500)
    version = as_text(info.get("version"), 200) or as_text(info.get("commit"), 200)
    score = max((s for s in map(_score, vulns) if s is not None), default=None)
    severity = max((_severity(v) for v in vulns), key=lambda s: _RANK.get(s, -1), default="")
    if not severity:
        severity = severity_from_cvss(score) if score else Severity.MEDIUM
    if rule.startswith("MAL-"):
        severity = Severity.CRITICAL  # a malicious package: everything on the machine is exposed
    aliases = sorted(
        {as_text(a, 100) for v in vulns for a in as_list(v.get("aliases")) if as_text(a, 100)} - {rule}
    )
    summary = as_text(chosen.get("summary"), 500)
    details = as_text(chosen.get("details"))
    description = details or summary
    if len(ids) > 1 or aliases:
        description = clip(
            f"{description}\n\nAlso known as: {', '.join(sorted(set(ids + aliases) - {rule}))}"
        )
    return FindingRecord(
        category=Category.VULNERABILITY,
        rule_id=rule,
        title=summary or clip(f"{rule} in {name} {version}".strip(), 500),
        severity=severity,
        package=name,
        installed_version=version,
        fixed_version=_fixed(vulns, name),
        location=file_location(path),
        cvss=score,
        published_at=parse_datetime(chosen.get("published")),
        description=description,
        url=f"https://osv.dev/vulnerability/{rule}",
    )


def _severity(vuln: dict[str, Any]) -> str:
    specific = vuln.get("database_specific")
    word = specific.get("severity") if type(specific) is dict else None
    return normalize_severity(word, "")


def _score(vuln: dict[str, Any]) -> float | None:
    for entry in as_list(vuln.get("severity")):
        if type(entry) is dict and str(entry.get("type", "")).startswith("CVSS_V3"):
            score = as_score(entry.get("score")) or cvss3_base_score(entry.get("score"))
            if score is not None:
                return score
    return None


def _fixed(vulns: list[dict[str, Any]], name: str) -> str:
    fixed: list[str] = []
    for vuln in vulns:
        for affected in as_list(vuln.get("affected")):
            package = affected.get("package") if type(affected) is dict else None
            if type(package) is not dict or as_text(package.get("name"), 500) != name:
                continue
            for span in as_list(affected.get("ranges")):
                for event in as_list(span.get("events")) if type(span) is dict else ():
                    version = as_text(event.get("fixed"), 100) if type(event) is dict else ""
                    if version and version not in fixed:
                        fixed.append(version)
    return clip(", ".join(fixed), 200)
