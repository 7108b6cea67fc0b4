"""Trivy JSON reports: SchemaVersion 2 objects, the legacy top-level list (before 0.20), and ``null``.

Reports reach hundreds of megabytes, so the file is streamed with ``JsonReader``: one result at a
time, its vulnerabilities a window at a time, never the whole document.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import msgspec

from findings.errors import ImportFailed

from .base import Category, FindingRecord
from .common import as_score, as_text, clip, parse_datetime
from .jsonstream import JsonReader
from .trivy_checks import LABEL, licence, misconfiguration, secret, severity

NAME = "trivy"
__all__ = ["LABEL", "NAME", "parse", "sniff"]

# "alpine:3.10 (alpine 3.10.2)": Trivy appends the detected OS to the image name of OS results.
_OS_SUFFIX = re.compile(r"^(?P<name>.*?) \((?P<os>[\w.-]+) [^()]*\)$")
_TOP_LEVEL_KEYS = {"SchemaVersion", "ArtifactName", "ArtifactType", "Results", "Metadata", "CreatedAt"}
# Keeps a hostile result that puts its findings before its Target from buffering without bound.
_MAX_PENDING = 100_000


class _Vulnerability(msgspec.Struct, gc=False):
    """The fields read from a vulnerability; the decoder skips the rest (References, Layer, ...)."""

    VulnerabilityID: Any = None
    PkgName: Any = None
    PkgPath: Any = None
    InstalledVersion: Any = None
    FixedVersion: Any = None
    SeveritySource: Any = None
    PrimaryURL: Any = None
    Title: Any = None
    Description: Any = None
    Severity: Any = None
    CVSS: Any = None
    PublishedDate: Any = None


def sniff(head: bytes) -> bool:
    if head.strip() in (b"null", b"[]"):
        return True  # what Trivy before 0.20 writes when it finds nothing
    start = head.lstrip()[:1]
    if start == b"{":
        return b'"SchemaVersion"' in head and (b'"ArtifactName"' in head or b'"Results"' in head)
    if start == b"[":
        return b'"Target"' in head and (b'"Vulnerabilities"' in head or b'"Type"' in head)
    return False


@dataclass(slots=True)
class _Result:
    target: str  # what was scanned, shared by all results of the report
    name: str = ""  # this result's Target: a lock file, a binary, "image (alpine 3.18)"
    kind: str = ""  # Class: os-pkgs, lang-pkgs, config, secret, license
    type: str = ""
    known: bool = False
    _location: str | None = None

    def package_location(self) -> str:
        if self._location is None:
            # OS packages: the OS name carries its version ("alpine 3.18.4"), which changes on a base
            # image update while the vulnerable package stays; keep only the distribution.
            match = _OS_SUFFIX.match(self.name)
            location = self.name
            if self.kind == "os-pkgs" or (not self.kind and match):
                location = self.type or (match.group("os") if match else self.name)
            self._location = clip(location, 1000)
        return self._location


def parse(stream: BinaryIO) -> Iterator[FindingRecord]:
    reader = JsonReader(stream, LABEL)
    first = reader.peek()
    if first == b"":
        return  # an empty file: Trivy found and wrote nothing
    if first == b"[":
        context = _Result(target="")
        for index in reader.elements():
            yield from _result(reader, context, f"[{index}]", legacy=True)
    elif first == b"{":
        yield from _report(reader)
    elif reader.value() is not None:
        raise reader.error("expected a Trivy report (a JSON object, a legacy list of results, or null)")
    if reader.peek():
        raise reader.error("unexpected content after the end of the report")


def _report(reader: JsonReader) -> Iterator[FindingRecord]:
    context = _Result(target="")
    keys: list[str] = []
    for key in reader.members():
        keys.append(key)
        if key == "ArtifactName":
            # "." is Trivy's name for "the directory I was run in": it identifies nothing.
            name = as_text(reader.value(), 1000)
            context.target = "" if name in (".", "./") else name
        elif key != "Results":
            reader.skip()
        elif reader.peek() == b"[":
            for index in reader.elements():
                yield from _result(reader, context, f"Results[{index}]", legacy=False)
        elif reader.value() is not None:
            raise ImportFailed(f"{LABEL}: Results should be an array.")
    if not _TOP_LEVEL_KEYS.intersection(keys):
        raise reader.not_this_format("a Trivy report with SchemaVersion and Results", keys)


def _result(reader: JsonReader, report: _Result, where: str, *, legacy: bool) -> Iterator[FindingRecord]:
    if reader.peek() != b"{":
        raise reader.error(f"{where} should be a Trivy result object")
    result = _Result(target=report.target)
    pending: list[tuple[str, Any]] = []
    for key in reader.members():
        if key in ("Target", "Class", "Type"):
            value = as_text(reader.value(), 1000)
            if key == "Target":
                result.name, result.known = value, True
            elif key == "Class":
                result.kind = value
            else:
                result.type = value
        elif key in _BUILDERS:
            if reader.peek() == b"n":
                reader.value()
                continue
            if not result.known:
                pending.extend((key, item) for item in reader.items(_KINDS.get(key, Any)))
                if len(pending) > _MAX_PENDING:
                    raise reader.error(f"{where} lists more than {_MAX_PENDING} findings before its Target")
                continue
            if legacy:
                _legacy_target(report, result)
            build = _BUILDERS[key]
            for index, item in enumerate(reader.items(_KINDS.get(key, Any))):
                record = build(item, result, where, key, index)
                if record is not None:
                    yield record
        else:
            reader.skip()
    if legacy:
        _legacy_target(report, result)
    if pending and not result.known:
        raise reader.error(f"{where} has findings but no Target")
    for index, (key, item) in enumerate(pending):
        record = _BUILDERS[key](item, result, where, key, index)
        if record is not None:
            yield record


def _legacy_target(report: _Result, result: _Result) -> None:
    # Legacy reports have no ArtifactName; the OS result's Target starts with the image name.
    if not report.target:
        match = _OS_SUFFIX.match(result.name)
        if match:
            report.target = match.group("name")
    result.target = report.target


def _cvss(cvss: object, source: object) -> float | None:
    if type(cvss) is not dict or not cvss:
        return None
    # The vendor Trivy took the severity from first, so score and severity tell the same story.
    scores = cvss.get(source) if type(source) is str else None
    if type(scores) is dict:
        score = scores.get("V3Score")
        if type(score) is float and 0 < score <= 10:  # the common case, without the general loop
            return score
    for vendor in (source, "nvd", "ghsa", "redhat", *cvss):
        scores = cvss.get(vendor) if type(vendor) is str else None
        if type(scores) is dict:
            for key in ("V3Score", "V40Score", "V2Score"):
                score = as_score(scores.get(key))
                if score is not None:
                    return score
    return None


def _vulnerability(vuln: _Vulnerability, result: _Result, where: str, key: str, index: int) -> FindingRecord:
    rule = as_text(vuln.VulnerabilityID, 200)
    if not rule:
        raise ImportFailed(f"{LABEL}: {where}.{key}[{index}] has no VulnerabilityID.")
    package = as_text(vuln.PkgName, 500)
    score = _cvss(vuln.CVSS, vuln.SeveritySource)
    # Positional: thirteen keywords cost a microsecond per record, a tenth of the parsing budget.
    # tests/findings/importers/test_base.py pins the field order this relies on.
    return FindingRecord(
        Category.VULNERABILITY,
        rule,
        as_text(vuln.Title, 500) or f"{rule} in {package}",
        severity(vuln.Severity, score),
        package,
        as_text(vuln.InstalledVersion, 200),
        as_text(vuln.FixedVersion, 200),
        as_text(vuln.PkgPath, 1000) or result.package_location(),
        result.target,
        score,
        parse_datetime(vuln.PublishedDate),
        as_text(vuln.Description),
        as_text(vuln.PrimaryURL, 2000),
    )


_KINDS: dict[str, Any] = {"Vulnerabilities": _Vulnerability}
_BUILDERS: dict[str, Any] = {
    "Vulnerabilities": _vulnerability,
    "Misconfigurations": misconfiguration,
    "Secrets": secret,
    "Licenses": licence,
}
