"""SARIF 2.1.0 logs from any tool: CodeQL, Semgrep, Bandit, gitleaks, Trivy, Checkov, ...

Logs reach hundreds of megabytes, so they are streamed. A run's results can come before its tool
(Semgrep sorts its keys) and Trivy writes the image name after them, so each run is read twice: once
for everything but the results (skipped, not kept), then the results alone, resolved against the
run's rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, BinaryIO

import msgspec

from findings.errors import ImportFailed

from ._secrets import safe_record
from .base import MAX_TEXT, Category, FindingRecord, Severity
from .common import as_score, as_text, clip, file_location, normalize_severity, severity_from_cvss
from .jsonstream import JsonReader, seekable
from .sarif_rules import Rule, RunContext

NAME = "sarif"
LABEL = "SARIF 2.1.0"

_SCHEMA = re.compile(rb'"\$schema"\s*:\s*"[^"]*sarif', re.IGNORECASE)
_VERSION = re.compile(rb'"version"\s*:\s*"2\.1\.0"')
_RUN_KEYS = {"tool", "versionControlProvenance", "properties", "originalUriBaseIds"}
# Results a tool reports as not being problems.
_NOT_PROBLEMS = {"pass", "notApplicable"}
_LEVELS = {"error": Severity.HIGH, "warning": Severity.MEDIUM, "note": Severity.LOW, "none": Severity.INFO}
# Trivy writes the package of a vulnerability only into the message text.
_PACKAGE_LINES = re.compile(r"^(Package|Installed Version|Fixed Version): (.+)$", re.MULTILINE)


# Typed down to the fields read, so the decoder skips the rest (code flows, snippets, context regions)
# without building them; a result whose locations are not shaped as SARIF says fails with its position.
class _Artifact(msgspec.Struct, gc=False):
    uri: Any = None


class _Region(msgspec.Struct, gc=False):
    startLine: Any = None


class _Physical(msgspec.Struct, gc=False):
    artifactLocation: _Artifact | None = None
    region: _Region | None = None


class _Location(msgspec.Struct, gc=False):
    physicalLocation: _Physical | None = None
    logicalLocations: Any = None


class _Message(msgspec.Struct, gc=False):
    text: Any = None


class _Result(msgspec.Struct, gc=False):
    ruleId: Any = None
    ruleIndex: Any = None
    rule: Any = None
    level: Any = None
    kind: Any = None
    message: _Message | None = None
    locations: list[_Location] | None = None
    properties: Any = None
    suppressions: Any = None
    baselineState: Any = None
    partialFingerprints: Any = None


def sniff(head: bytes) -> bool:
    if head.lstrip()[:1] != b"{" or b'"runs"' not in head:
        return False
    if _SCHEMA.search(head) or _VERSION.search(head):
        return True
    # "$schema" and "version" may come last (Bandit writes "runs" first): look inside the runs.
    return b'"driver"' in head and (b'"results"' in head or b'"rules"' in head)


def parse(stream: BinaryIO) -> Iterator[FindingRecord]:
    reader = JsonReader(seekable(stream), LABEL)
    first = reader.peek()
    if first == b"":
        return
    if first != b"{":
        raise reader.error("expected a SARIF log (a JSON object with a runs array)")
    keys: list[str] = []
    for key in reader.members():
        keys.append(key)
        if key != "runs":
            reader.skip()
        elif reader.peek() == b"[":
            for index in reader.elements():
                yield from _run(reader, index)
        elif reader.value() is not None:
            raise ImportFailed(f"{LABEL}: runs should be an array.")
    if reader.peek():
        raise reader.error("unexpected content after the end of the log")
    if "runs" not in keys:
        raise reader.not_this_format("a SARIF log with a runs array", keys)


def _run(reader: JsonReader, index: int) -> Iterator[FindingRecord]:
    if reader.peek() != b"{":
        raise reader.error(f"runs[{index}] should be an object")
    meta: dict[str, Any] = {}
    results_at: int | None = None
    for key in reader.members():
        if key in _RUN_KEYS:
            meta[key] = reader.value()
        elif key == "results" and reader.peek() == b"[":
            results_at = reader.tell()
            reader.skip()
        else:
            reader.skip()
    if results_at is None:
        return
    context = RunContext(meta)
    resume = reader.tell()
    reader.seek(results_at)
    for position, result in enumerate(reader.items(_Result)):
        record = _record(result, context, index, position)
        if record is not None:
            yield record
    reader.seek(resume)


def _record(result: _Result, context: RunContext, run: int, position: int) -> FindingRecord | None:
    if result.kind in _NOT_PROBLEMS or result.baselineState == "absent":
        return None
    if result.suppressions and _suppressed(result.suppressions):
        return None
    text = as_text(result.message.text, 8000) if result.message is not None else ""
    rule = context.rule_for(result.ruleId, result.ruleIndex, result.rule, text)
    rule_id = as_text(result.ruleId, 200) or rule.id
    if not rule_id:
        raise ImportFailed(f"{LABEL}: runs[{run}].results[{position}] names no rule (ruleId) and no message.")
    category = rule.category or context.category_for(rule_id)
    properties = result.properties if type(result.properties) is dict else {}
    severity = rule.severity or _result_severity(result.level, properties) or rule.default_severity
    if not severity:
        severity = Severity.HIGH if category == Category.SECRET else Severity.MEDIUM  # SARIF's default
    # Positional: keywords cost a microsecond per record. test_base.py pins the field order.
    record = FindingRecord(
        category,
        rule_id,
        rule.title or clip(text.strip().split("\n", 1)[0], 500) or rule.name or rule_id,
        severity,
        "",
        "",
        "",
        _location(result.locations, context),
        context.target,
        rule.cvss,
        None,
        _description(text, rule),
        rule.url,
        context.tool,
    )
    if category == Category.VULNERABILITY:
        # The package tells two advisories of one rule at one place apart; the message is left out
        # (Trivy's changes when the advisory gains a fixed version), the partial fingerprints are not.
        _add_package(record, text)
        record.identity = _identity("", result.partialFingerprints)
    elif category != Category.SECRET:
        # Two unused variables on one line, two import cycles through one import: one rule at one
        # place, told apart by the message or by the tool's partial fingerprints.
        record.identity = _identity(text, result.partialFingerprints)
    else:
        # One secret in two commits is two leaks, as gitleaks' own fingerprint (commit:file:line) says.
        prints = result.partialFingerprints if type(result.partialFingerprints) is dict else {}
        commit = as_text(properties.get("commit") or prints.get("commitSha"), 100)
        if commit and record.location:
            record.location = clip(f"{record.location}@{commit}", 1000)
        secrets = [as_text(properties.get(key), 100_000) for key in ("offender", "secret", "Secret")]
        return safe_record(record, [secret for secret in secrets if secret])
    return record


def _identity(text: str, prints: object) -> str:
    parts = [" ".join(text.split())] if text else []
    if type(prints) is dict and prints:
        parts += sorted(f"{key}={value}" for key, value in prints.items() if type(value) in (str, int))
    return "\x1e".join(parts)


def _suppressed(suppressions: object) -> bool:
    # A suppression under review or rejected still leaves the problem open.
    if type(suppressions) is not list:
        return False
    return any(type(item) is dict and item.get("status") in (None, "accepted") for item in suppressions)


def _result_severity(level: object, properties: dict[str, Any]) -> str:
    # Bandit writes its own severity next to the SARIF level it leaves out.
    word = properties.get("issue_severity") or properties.get("severity")
    if type(word) is str and word:
        return normalize_severity(word, "")
    score = as_score(properties.get("security-severity"))
    if score is not None:
        return severity_from_cvss(score)
    return _LEVELS.get(level, "") if type(level) is str else ""


def _location(locations: list[_Location] | None, context: RunContext) -> str:
    if not locations:
        return ""
    first = locations[0]
    physical = first.physicalLocation
    if physical is not None:
        uri = physical.artifactLocation.uri if physical.artifactLocation is not None else None
        line = physical.region.startLine if physical.region is not None else None
        if type(line) is int and line > 0 and type(uri) is str:
            return f"{context.path(uri)}:{line}"  # the common case, with the path normalized once
        return file_location(as_text(uri, 1000), line)
    logical = first.logicalLocations
    if type(logical) is list and logical and type(logical[0]) is dict:
        return as_text(logical[0].get("fullyQualifiedName") or logical[0].get("name"), 1000)
    return ""


def _description(text: str, rule: Rule) -> str:
    if not rule.description or rule.description == text:
        return text if len(text) <= MAX_TEXT else clip(text)
    return clip(f"{text}\n\n{rule.description}" if text else rule.description)


def _add_package(record: FindingRecord, text: str) -> None:
    if "Package: " not in text:
        return
    found = {name: value.strip() for name, value in _PACKAGE_LINES.findall(text)}
    record.package = clip(found.get("Package", ""), 500)
    record.installed_version = clip(found.get("Installed Version", ""), 200)
    record.fixed_version = clip(found.get("Fixed Version", ""), 200)
