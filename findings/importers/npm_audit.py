"""``npm audit --json``: npm <= 6 ("advisories", auditReportVersion 1) and npm >= 7 ("vulnerabilities",
auditReportVersion 2)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, BinaryIO

from findings.errors import ImportFailed

from ._shapes import join_lines, kind, need_dict
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

NAME = "npm_audit"
LABEL = "npm audit JSON"

# npm audit always reads the lockfile (it refuses to run without one: ENOLOCK), and its report
# names no path, so the lockfile is the one stable "where" a finding can have.
MANIFEST = "package-lock.json"

_GHSA = re.compile(r"GHSA(?:-[23456789cfghjmpqrvwx]{4}){3}", re.IGNORECASE)
_LOWER_BOUND = re.compile(r"^\s*>=\s*([0-9][\w.+-]*)\s*$")
_ERROR_OBJECT = re.compile(rb'^\s*\{\s*"error"\s*:\s*\{')


def sniff(head: bytes) -> bool:
    if not head.lstrip().startswith(b"{"):
        return False
    if b'"auditReportVersion"' in head:
        return True
    if b'"advisories"' in head and (b'"actions"' in head or b'"muted"' in head):
        return True
    # npm 6 writes "actions" first; in a big project it fills the head before "advisories" appears.
    if head.lstrip()[1:].lstrip().startswith(b'"actions"') and b'"resolves"' in head:
        return True
    # npm's own failure object: claimed so the person gets npm's message rather than "unknown format".
    return bool(_ERROR_OBJECT.match(head)) and b'"code"' in head and b'"summary"' in head


def parse(stream: BinaryIO) -> Iterator[FindingRecord]:
    document = load_json(stream, label=LABEL)
    if document is None:
        raise ImportFailed(f"{LABEL}: the file is empty; expected the output of `npm audit --json`.")
    report = need_dict(document, label=LABEL, where="the top level")
    if "error" in report:
        _fail_with_npm_error(report["error"])
    if isinstance(report.get("vulnerabilities"), dict) and "advisories" not in report:
        yield from _from_v7(report["vulnerabilities"])
    elif "advisories" in report:
        yield from _from_v6(report["advisories"])
    elif "vulnerabilities" in report:
        raise ImportFailed(
            f"{LABEL}: expected an object at vulnerabilities, found {kind(report['vulnerabilities'])}."
        )
    else:
        raise ImportFailed(
            f"{LABEL}: no 'vulnerabilities' (npm 7+) or 'advisories' (npm 6) object at the top level; "
            "this does not look like npm audit output."
        )


def _fail_with_npm_error(error: object) -> None:
    # The audit did not run (e.g. ENOAUDIT: the registry refused the audit request). Reading this as
    # "zero findings" would report a clean project that nobody checked, and a re-import would close
    # every open npm finding as fixed; so the import fails and quotes npm's reason instead.
    details = as_dict(error)
    code = as_text(details.get("code"), 100) or "unknown error"
    summary = as_text(details.get("summary"), 500) or as_text(error, 500)
    detail = as_text(details.get("detail"), 500)
    message = f"{LABEL}: npm did not produce an audit report, it reported error {code}"
    for part in (summary, detail):
        if part:
            message += f": {part}" if message.endswith(code) else f" {part}"
    if not message.endswith((".", "!", "?")):
        message += "."
    raise ImportFailed(message + " Fix that and run `npm audit --json` again.")


def _ghsa(url: str) -> str:
    match = _GHSA.search(url)
    return "GHSA" + match.group(0)[4:].lower() if match else ""


def _from_v7(vulnerabilities: dict[str, Any]) -> Iterator[FindingRecord]:
    for key, entry in vulnerabilities.items():
        package_entry = need_dict(entry, label=LABEL, where=f"vulnerabilities[{key!r}]")
        package = as_text(package_entry.get("name"), 300) or as_text(key, 300)
        nodes = [as_text(node, 500) for node in as_list(package_entry.get("nodes")) if as_text(node)]
        fix = package_entry.get("fixAvailable")
        fix_note = ""
        fixed_version = ""
        if isinstance(fix, dict):
            fix_name, fix_version = as_text(fix.get("name"), 300), as_text(fix.get("version"), 100)
            major = " (semver-major)" if fix.get("isSemVerMajor") is True else ""
            fix_note = f"Fix available: upgrade {fix_name} to {fix_version}{major}."
            # fixAvailable names the top-level dependency to upgrade; it is this package's fixed
            # version only when it names this package.
            fixed_version = fix_version if fix_name == package else ""
        elif fix is True:
            fix_note = "Fix available through `npm audit fix`."
        for index, via in enumerate(as_list(package_entry.get("via"))):
            # A string "via" only says the package is vulnerable through another package's advisory,
            # which is reported under that package's own entry.
            if not isinstance(via, dict):
                continue
            yield _v7_record(via, package, nodes, fixed_version, fix_note, where=f"{key}.via[{index}]")


def _v7_record(
    via: dict[str, Any], package: str, nodes: list[str], fixed_version: str, fix_note: str, *, where: str
) -> FindingRecord:
    url = as_text(via.get("url"), 1000)
    source = as_text(via.get("source"), 50)
    rule_id = _ghsa(url) or (f"npm-advisory-{source}" if source else "")
    if not rule_id:
        raise ImportFailed(f"{LABEL}: the advisory at {where} has neither a GHSA url nor a source id.")
    cvss = as_score(as_dict(via.get("cvss")).get("score"))
    title = as_text(via.get("title"), 300) or f"{rule_id} in {package}"
    cwes = ", ".join(as_text(cwe, 50) for cwe in as_list(via.get("cwe")) if as_text(cwe))
    description = join_lines(
        [
            title,
            f"Vulnerable versions: {as_text(via.get('range'), 300)}" if as_text(via.get("range")) else "",
            f"Installed at: {', '.join(nodes[:20])}" if nodes else "",
            f"CWE: {cwes}" if cwes else "",
            f"CVSS vector: {as_text(as_dict(via.get('cvss')).get('vectorString'), 200)}"
            if as_text(as_dict(via.get("cvss")).get("vectorString"))
            else "",
            fix_note,
        ]
    )
    return FindingRecord(
        category=Category.VULNERABILITY,
        rule_id=rule_id,
        title=title,
        severity=normalize_severity(as_text(via.get("severity"), 30), severity_from_cvss(cvss)),
        package=as_text(via.get("name"), 300) or package,
        fixed_version=fixed_version,
        location=MANIFEST,
        cvss=cvss,
        description=description,
        url=url,
    )


def _from_v6(advisories: object) -> Iterator[FindingRecord]:
    if isinstance(advisories, dict):
        entries = list(advisories.items())
    elif isinstance(advisories, list):
        entries = [(str(index), item) for index, item in enumerate(advisories)]
    else:
        raise ImportFailed(f"{LABEL}: expected an object at advisories, found {kind(advisories)}.")
    for key, entry in entries:
        yield _v6_record(need_dict(entry, label=LABEL, where=f"advisories[{key!r}]"), key)


def _v6_record(advisory: dict[str, Any], key: str) -> FindingRecord:
    package = as_text(advisory.get("module_name"), 300)
    url = as_text(advisory.get("url"), 1000)
    cves = [as_text(cve, 50) for cve in as_list(advisory.get("cves")) if as_text(cve)]
    advisory_id = as_text(advisory.get("id"), 50) or as_text(key, 50)
    # GHSA first, as npm 7+ reports name the same advisory, so upgrading npm keeps fingerprints.
    rule_id = (
        _ghsa(as_text(advisory.get("github_advisory_id"), 100))
        or _ghsa(url)
        or (cves[0] if cves else f"npm-advisory-{advisory_id}")
    )
    findings = [as_dict(item) for item in as_list(advisory.get("findings"))]
    versions = sorted({as_text(item.get("version"), 100) for item in findings} - {""})
    paths = [as_text(path, 500) for item in findings for path in as_list(item.get("paths")) if as_text(path)]
    patched = as_text(advisory.get("patched_versions"), 200)
    lower_bound = _LOWER_BOUND.match(patched)
    cvss = as_score(as_dict(advisory.get("cvss")).get("score"))
    title = as_text(advisory.get("title"), 300) or rule_id
    description = join_lines(
        [
            as_text(advisory.get("overview")),
            f"Recommendation: {as_text(advisory.get('recommendation'), 500)}"
            if as_text(advisory.get("recommendation"))
            else "",
            f"CVE: {', '.join(cves)}" if cves else "",
            f"Vulnerable versions: {as_text(advisory.get('vulnerable_versions'), 300)}"
            if as_text(advisory.get("vulnerable_versions"))
            else "",
            f"Patched versions: {patched}" if patched else "",
            f"Dependency paths: {', '.join(paths[:20])}" if paths else "",
            f"CWE: {as_text(advisory.get('cwe'), 100)}" if as_text(advisory.get("cwe")) else "",
        ]
    )
    return FindingRecord(
        category=Category.VULNERABILITY,
        rule_id=rule_id,
        title=f"{title} in {package}" if package else title,
        severity=normalize_severity(as_text(advisory.get("severity"), 30), severity_from_cvss(cvss)),
        package=package,
        installed_version=as_text(", ".join(versions), 300),
        fixed_version=lower_bound.group(1) if lower_bound else "",
        location=MANIFEST,
        cvss=cvss,
        published_at=parse_datetime(advisory.get("created")),
        description=description,
        url=url,
    )
