"""Checkov JSON (``checkov -o json``): one report object, a list of them (one per check type), or the
summary-only object Checkov prints when it scanned nothing.

A list may hold summary-only entries next to the reports (a check type that found nothing to scan, as
pipelines that run Checkov once per framework and collect the outputs write): those are skipped and
the reports with results imported.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

from findings.errors import ImportFailed

from .base import Category, FindingRecord, Severity
from .common import as_score, as_text, clip, file_location, load_json, normalize_severity, parse_datetime

NAME = "checkov"
LABEL = "Checkov JSON"


def sniff(head: bytes) -> bool:
    start = head.lstrip()[:1]
    if start not in (b"{", b"["):
        return False
    if b'"check_type"' in head and (b'"failed_checks"' in head or b'"results"' in head):
        return True
    # Nothing to scan: {"passed": 0, "failed": 0, ..., "checkov_version": "2.1.269"}, alone or in a list
    return b'"checkov_version"' in head and b'"failed"' in head


def parse(stream: BinaryIO) -> Iterator[FindingRecord]:
    document = load_json(stream, label=LABEL)
    if document is None:
        return
    reports = document if type(document) is list else [document]
    for index, report in enumerate(reports):
        if type(report) is not dict:
            raise ImportFailed(f"{LABEL}: report [{index}] should be an object.")
        if "results" not in report:
            if _summary_only(report):
                continue  # a check type that found nothing to scan: nothing to import
            raise ImportFailed(f'{LABEL}: report [{index}] has no "results"; is this Checkov output?')
        results = report["results"]
        failed = results.get("failed_checks") if type(results) is dict else None
        if failed is None:
            continue
        if type(failed) is not list:
            raise ImportFailed(f"{LABEL}: report [{index}].results.failed_checks should be a list.")
        check_type = as_text(report.get("check_type"), 100)
        for position, check in enumerate(failed):
            if type(check) is not dict:
                raise ImportFailed(
                    f"{LABEL}: report [{index}] failed_checks[{position}] should be an object."
                )
            yield _record(check, check_type, f"report [{index}] failed_checks[{position}]")


def _summary_only(report: dict[str, Any]) -> bool:
    """The bare summary Checkov prints when it scanned nothing, or a check type with only its summary."""
    if "checkov_version" in report or "failed" in report:
        return True
    summary = report.get("summary")
    return type(summary) is dict and not (report.keys() - {"check_type", "summary", "url"})


def _record(check: dict[str, Any], check_type: str, where: str) -> FindingRecord:
    rule = as_text(check.get("check_id"), 200)
    if not rule:
        raise ImportFailed(f"{LABEL}: {where} has no check_id.")
    path = as_text(check.get("repo_file_path") or check.get("file_path"), 1000).lstrip("/")
    resource = as_text(check.get("resource"), 500)
    lines = check.get("file_line_range")
    first_line = lines[0] if type(lines) is list and lines else None
    # The resource address survives edits that move it; the line number does not.
    location = clip(f"{path}:{resource}", 1000) if path and resource else file_location(path, first_line)
    severity = normalize_severity(check.get("severity"), "")
    details = check.get("vulnerability_details")
    if type(details) is dict and as_text(details.get("id"), 200):
        return _vulnerability(check, details, location, severity)
    description = [as_text(check.get("check_name")), as_text(check.get("description"))]
    description += [
        f"Resource: {resource}" if resource else "",
        f"Check type: {check_type}" if check_type else "",
    ]
    return FindingRecord(
        category=Category.SECRET if check_type == "secrets" else Category.MISCONFIGURATION,
        rule_id=rule,
        title=as_text(check.get("check_name"), 500) or rule,
        # Checkov rates nothing unless the platform enriches it; a failed check starts as medium.
        severity=severity or Severity.MEDIUM,
        location=location,
        description=clip("\n".join(part for part in description if part)),
        url=as_text(check.get("guideline"), 2000),
    )


def _vulnerability(
    check: dict[str, Any], details: dict[str, Any], location: str, severity: str
) -> FindingRecord:
    # SCA results (check_type sca_package) carry a CVE per failed "check".
    rule = as_text(details.get("id"), 200)
    package = as_text(details.get("package_name"), 500)
    score = as_score(details.get("cvss"))
    return FindingRecord(
        category=Category.VULNERABILITY,
        rule_id=rule,
        title=clip(f"{rule} in {package}".strip(), 500),
        severity=severity or normalize_severity(details.get("severity"), Severity.MEDIUM),
        package=package,
        installed_version=as_text(details.get("package_version"), 200),
        fixed_version=as_text(details.get("fixed_version") or details.get("lowest_fixed_version"), 200),
        location=location,
        cvss=score,
        published_at=parse_datetime(details.get("published_date")),
        description=as_text(details.get("description")),
        url=as_text(details.get("link"), 2000),
    )
