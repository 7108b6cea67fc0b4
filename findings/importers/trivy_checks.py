"""Trivy's other findings: misconfigurations, secrets and licences (vulnerabilities are in trivy.py)."""

from __future__ import annotations

from typing import Any, Protocol

from findings.errors import ImportFailed

from .base import Category, FindingRecord, Severity
from .common import as_text, clip, file_location, severity_from_cvss

LABEL = "Trivy JSON"

_SEVERITIES = {
    "CRITICAL": Severity.CRITICAL,
    "HIGH": Severity.HIGH,
    "MEDIUM": Severity.MEDIUM,
    "LOW": Severity.LOW,
    "UNKNOWN": Severity.INFO,
}


class Result(Protocol):
    name: str  # the result's Target: a file, or "image (alpine 3.18)"
    target: str  # what the report scanned


def need_object(item: Any, where: str, key: str, index: int) -> dict[str, Any]:
    if type(item) is not dict:
        raise ImportFailed(f"{LABEL}: {where}.{key}[{index}] should be an object.")
    return item


def severity(value: object, score: float | None) -> str:
    """Trivy's word; the score decides when the word is missing or UNKNOWN."""
    found = _SEVERITIES.get(value) if type(value) is str else None  # type: ignore[arg-type]
    if found is None and type(value) is str:
        found = _SEVERITIES.get(value.upper())
    if found is None or (found == Severity.INFO and score):
        return severity_from_cvss(score)
    return found


def misconfiguration(item: Any, result: Result, where: str, key: str, index: int) -> FindingRecord | None:
    check = need_object(item, where, key, index)
    get = check.get
    rule = as_text(get("ID"), 200) or as_text(get("AVDID"), 200)
    if not rule:
        raise ImportFailed(f"{LABEL}: {where}.{key}[{index}] has no ID.")
    cause = get("CauseMetadata")
    line = cause.get("StartLine") if type(cause) is dict else None
    if as_text(get("Status"), 20) not in ("", "FAIL"):
        return None  # passed checks, listed with --include-non-failures, are not problems
    parts = [as_text(get("Description")), as_text(get("Message")), as_text(get("Resolution"))]
    return FindingRecord(
        category=Category.MISCONFIGURATION,
        rule_id=rule,
        title=as_text(get("Title"), 500) or rule,
        severity=severity(get("Severity"), None),
        location=file_location(result.name, line),
        target=result.target,
        description=clip("\n".join(part for part in parts if part)),
        url=as_text(get("PrimaryURL"), 2000),
    )


def secret(item: Any, result: Result, where: str, key: str, index: int) -> FindingRecord:
    secret = need_object(item, where, key, index)
    get = secret.get
    rule = as_text(get("RuleID"), 200) or "secret"
    match = as_text(get("Match"), 500)
    description = f"{as_text(get('Category'), 100) or 'A'} secret found by Trivy rule {rule}."
    if "***" in match:  # Trivy masks the secret in Match; an unmasked match is never copied
        description += f"\nMatch: {match}"
    return FindingRecord(
        category=Category.SECRET,
        rule_id=rule,
        title=as_text(get("Title"), 500) or rule,
        severity=severity(get("Severity"), None),
        location=file_location(result.name, get("StartLine")),
        target=result.target,
        description=description,
    )


def licence(item: Any, result: Result, where: str, key: str, index: int) -> FindingRecord:
    licence = need_object(item, where, key, index)
    get = licence.get
    name = as_text(get("Name"), 200) or "unknown licence"
    category = as_text(get("Category"), 100)
    return FindingRecord(
        category=Category.LICENCE,
        rule_id=name,
        title=f"{name} licence" + (f" ({category})" if category else ""),
        severity=severity(get("Severity"), None),
        package=as_text(get("PkgName"), 500),
        location=as_text(get("FilePath"), 1000) or clip(result.name, 1000),
        target=result.target,
        url=as_text(get("Link"), 2000),
    )
