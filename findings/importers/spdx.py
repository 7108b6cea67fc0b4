"""SPDX 2.2/2.3 JSON documents.

SPDX describes packages, not vulnerabilities: packages are components, never findings on their own.
The only vulnerability signal SPDX 2.x can carry is a SECURITY external reference of an advisory kind
(advisory, fix, url) whose locator or comment names a CVE/GHSA-style id; each (package, id) pair is one
record. A document without such references imports as zero findings.

SPDX 3 JSON-LD is read with the SPDX 3 bindings (``assets.spdx3``): each vulnerability of its
Security profile and each element it affects is one record, targeted at the affected package's URL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, BinaryIO

from findings.errors import ImportFailed

from ._shapes import join_lines, need_dict, need_list
from .base import Category, FindingRecord, Severity
from .common import as_dict, as_list, as_text, load_json, severity_from_cvss

NAME = "spdx"
LABEL = "SPDX JSON (2.2, 2.3, 3.0)"

_SPDX_VERSION = re.compile(rb'"spdxVersion"\s*:\s*"SPDX-')
# Tools that sort keys (Trivy) write spdxVersion after the packages, beyond the sniffed head of a big
# document; the document's own SPDXID comes first.
_DOCUMENT_ID = re.compile(rb'"SPDXID"\s*:\s*"SPDXRef-DOCUMENT"')
_SPDX3_CONTEXT = re.compile(rb'"@context"\s*:\s*"https?://spdx\.org/rdf/3')
# SECURITY reference types pointing at a weakness. cpe22Type/cpe23Type live in the same category but
# identify the package itself; reading them as vulnerabilities would make every package a finding.
_ADVISORY_TYPES = {"advisory", "fix", "url"}
_VULN_ID = re.compile(
    r"\b(CVE-\d{4}-\d{4,}|GHSA(?:-[23456789cfghjmpqrvwx]{4}){3}|PYSEC-\d{4}-\d+|RUSTSEC-\d{4}-\d{4,})\b",
    re.IGNORECASE,
)
_PLACEHOLDERS = {"NOASSERTION", "NONE"}
_SOURCE_INFO = re.compile(r"^\s*(?:acquired\s+)?package\s+found\s+in:\s*(.+?)\s*$", re.IGNORECASE)


def sniff(head: bytes) -> bool:
    if head.lstrip()[:1] != b"{":
        return False
    # SPDX 3 is claimed too, so that the person learns it is unsupported instead of "unknown format".
    return any(pattern.search(head) for pattern in (_SPDX_VERSION, _DOCUMENT_ID, _SPDX3_CONTEXT))


def parse(stream: BinaryIO) -> Iterator[FindingRecord]:
    head = stream.read(4096)
    stream.seek(0)
    if _SPDX3_CONTEXT.search(head):
        yield from _spdx3_records(stream.read())
        return
    document = load_json(stream, label=LABEL)
    if document is None:
        raise ImportFailed(f"{LABEL}: the file is empty; expected an SPDX 2.2 or 2.3 JSON document.")
    spdx = need_dict(document, label=LABEL, where="the top level")
    _check_version(spdx)
    packages = need_list(spdx.get("packages"), label=LABEL, where="packages")
    target = _clean(spdx.get("name"))
    for index, item in enumerate(packages):
        package = need_dict(item, label=LABEL, where=f"packages[{index}]")
        yield from _records(package, target)


def _spdx3_records(data: bytes) -> Iterator[FindingRecord]:
    from assets.bom import BomRejected
    from assets.spdx3 import parse_spdx3

    try:
        content = parse_spdx3(data)
    except BomRejected as exc:
        raise ImportFailed(f"{LABEL}: {' '.join(exc.messages)}") from exc
    names = {spec.key: spec.name for spec in content.assets}
    for vuln in content.vulnerabilities:
        severity = vuln.severity or (severity_from_cvss(vuln.score) if vuln.score else Severity.MEDIUM)
        for key, package in vuln.affects:
            yield FindingRecord(
                category=Category.VULNERABILITY,
                rule_id=_canonical(vuln.vuln_id),
                title=f"{vuln.vuln_id} in {package or names.get(key, key)}"[:500],
                severity=severity,
                package=package[:300],
                cvss=vuln.score,
                target=package or names.get(key, ""),
                description=join_lines([vuln.title, vuln.description]),
                url=vuln.url,
            )


def _check_version(spdx: dict[str, Any]) -> None:
    version = as_text(spdx.get("spdxVersion"), 50)
    if version.upper().startswith("SPDX-3") or (not version and ("@graph" in spdx or "@context" in spdx)):
        raise ImportFailed(
            f"{LABEL}: an SPDX 3 document ({version or 'JSON-LD @graph'}) needs the spdx.org/rdf/3 @context."
        )
    if not version.upper().startswith("SPDX-2"):
        found = f"spdxVersion is {version!r}" if version else "there is no spdxVersion"
        raise ImportFailed(f"{LABEL}: {found}; expected an SPDX 2.2 or 2.3 document.")


def _clean(value: object, limit: int = 500) -> str:
    """SPDX spells "unknown" NOASSERTION or NONE; those are not values."""
    cleaned = as_text(value, limit)
    return "" if cleaned.upper() in _PLACEHOLDERS else cleaned


def _advisory_refs(package: dict[str, Any]) -> dict[str, list[tuple[str, str, str]]]:
    """Vulnerability id -> the (type, locator, comment) references naming it, in document order."""
    found: dict[str, list[tuple[str, str, str]]] = {}
    for ref in as_list(package.get("externalRefs")):
        ref = as_dict(ref)
        if _clean(ref.get("referenceCategory"), 50).upper().replace("_", "-") != "SECURITY":
            continue
        ref_type = _clean(ref.get("referenceType"), 50)
        if ref_type not in _ADVISORY_TYPES:
            continue
        entry = (ref_type, _clean(ref.get("referenceLocator"), 1000), _clean(ref.get("comment"), 500))
        for match in _VULN_ID.finditer(f"{entry[1]} {entry[2]}"):
            entries = found.setdefault(_canonical(match.group(0)), [])
            if entry not in entries:
                entries.append(entry)
    return found


def _records(package: dict[str, Any], target: str) -> Iterator[FindingRecord]:
    advisories = _advisory_refs(package)
    if not advisories:
        return
    name = _clean(package.get("name"), 300)
    version = _clean(package.get("versionInfo"), 100)
    found_in = _SOURCE_INFO.match(_clean(package.get("sourceInfo"), 1000))
    purl = _purl(package)
    for vuln_id, refs in advisories.items():
        # An advisory link says most about the vulnerability; a fix link is next best.
        url = next((locator for ref_type, locator, _ in refs if ref_type == "advisory"), refs[0][1])
        yield FindingRecord(
            category=Category.VULNERABILITY,
            rule_id=vuln_id,
            title=f"{vuln_id} in {name}" if name else vuln_id,
            # SPDX has no field for severity or score. Medium rather than info, so that a named CVE
            # is not hidden under a minimum-severity filter until someone rates it.
            severity=Severity.MEDIUM,
            package=name,
            installed_version=version,
            location=found_in.group(1) if found_in else "",
            target=target,
            description=join_lines(
                [
                    f"The SBOM links {name or 'a package'} {version} to {vuln_id}.".replace("  ", " "),
                    *(f"{t}: {loc}" + (f" ({comment})" if comment else "") for t, loc, comment in refs),
                    f"Package URL: {purl}" if purl else "",
                    "SPDX carries no severity, score or fixed version; import the scanner's own report "
                    "for those.",
                ]
            ),
            url=url,
        )


def _canonical(vuln_id: str) -> str:
    upper = vuln_id.upper()
    # GHSA ids are lowercase after the prefix wherever GitHub prints them.
    return "GHSA" + vuln_id[4:].lower() if upper.startswith("GHSA-") else upper


def _purl(package: dict[str, Any]) -> str:
    for ref in as_list(package.get("externalRefs")):
        ref = as_dict(ref)
        if _clean(ref.get("referenceType"), 50) == "purl":
            return _clean(ref.get("referenceLocator"), 1000)
    return ""
