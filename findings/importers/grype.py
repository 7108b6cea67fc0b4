"""Grype JSON reports (``grype -o json``), from the 0.7 schema (cvssV2/cvssV3, links) to current ones.

Image scans run to tens of megabytes, so the matches are streamed. Grype may write ``source`` (what
was scanned) after ``matches`` (newer versions sort their keys), so the file is read twice: the
matches are skipped first, then decoded once the source is known.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

import msgspec

from findings.errors import ImportFailed

from .base import Category, FindingRecord
from .common import as_list, as_score, as_text, clip, file_location, normalize_severity, severity_from_cvss
from .jsonstream import JsonReader, seekable

NAME = "grype"
LABEL = "Grype JSON"


class _Match(msgspec.Struct, gc=False):
    """The parts of a match read here; matchDetails (how grype matched) is skipped."""

    vulnerability: Any = None
    relatedVulnerabilities: Any = None
    artifact: Any = None


def sniff(head: bytes) -> bool:
    if head.lstrip()[:1] != b"{" or b'"matches"' not in head:
        return False
    return b'"artifact"' in head or b'"descriptor"' in head or b'"vulnerability"' in head


def parse(stream: BinaryIO) -> Iterator[FindingRecord]:
    reader = JsonReader(seekable(stream), LABEL)
    first = reader.peek()
    if first == b"":
        return
    if first != b"{":
        raise reader.error("expected a Grype report (a JSON object with matches)")
    meta: dict[str, Any] = {}
    keys: list[str] = []
    matches_at: int | None = None
    for key in reader.members():
        keys.append(key)
        if key == "matches" and reader.peek() == b"[":
            matches_at = reader.tell()
            reader.skip()
        elif key == "matches":
            if reader.value() is not None:
                raise ImportFailed(f"{LABEL}: matches should be an array.")
        elif key == "source":
            meta[key] = reader.value()
        else:
            reader.skip()
    if "matches" not in keys:
        raise reader.not_this_format("a Grype report with a matches array", keys)
    if reader.peek():
        raise reader.error("unexpected content after the end of the report")
    if matches_at is None:
        return
    target = _target(meta.get("source"))
    reader.seek(matches_at)
    for index, match in enumerate(reader.items(_Match)):
        yield _record(match, target, index)


def _target(source: object) -> str:
    if type(source) is not dict:
        return ""
    target = source.get("target")
    if type(target) is dict:
        name = as_text(target.get("userInput"), 1000)
        if not name:
            tags = target.get("tags")
            name = as_text(tags[0], 1000) if type(tags) is list and tags else ""
        return name
    # Directory scans: grype 0.24 wrote the path JSON-quoted ("\".\""); "." identifies nothing.
    name = as_text(target, 1000).strip('"')
    return "" if name in (".", "./") else name


def _record(match: _Match, target: str, index: int) -> FindingRecord:
    vuln = match.vulnerability if type(match.vulnerability) is dict else {}
    artifact = match.artifact if type(match.artifact) is dict else {}
    rule = as_text(vuln.get("id"), 200)
    if not rule:
        raise ImportFailed(f"{LABEL}: matches[{index}] has no vulnerability id.")
    related = [item for item in as_list(match.relatedVulnerabilities) if type(item) is dict]
    package = as_text(artifact.get("name"), 500)
    version = as_text(artifact.get("version"), 200)
    score = _cvss(vuln) or next((s for s in map(_cvss, related) if s), None)
    word = as_text(vuln.get("severity"), 50).lower()
    if not word:  # absent: the related (NVD) record usually has one
        word = next((as_text(r.get("severity"), 50).lower() for r in related if r.get("severity")), "")
    # "Unknown" is no rating, so the score decides; "Negligible" is a distribution's rating and stays.
    severity = severity_from_cvss(score) if word in ("", "unknown") and score else normalize_severity(word)
    description = as_text(vuln.get("description")) or next(
        (as_text(r.get("description")) for r in related if r.get("description")), ""
    )
    return FindingRecord(
        category=Category.VULNERABILITY,
        rule_id=rule,
        title=clip(f"{rule} in {package} {version}".strip(), 500),
        severity=severity,
        package=package,
        installed_version=version,
        fixed_version=_fixed(vuln),
        location=_location(artifact),
        target=target,
        cvss=score,
        description=description,
        url=as_text(vuln.get("dataSource"), 2000) or _first_url(vuln),
    )


def _cvss(vuln: dict[str, Any]) -> float | None:
    entries = vuln.get("cvss")
    if type(entries) is list:
        # Prefer CVSS 3 over 2, and the primary (NVD) score over vendors' secondary ones.
        ranked = sorted(
            (item for item in entries if type(item) is dict),
            key=lambda item: (str(item.get("version", "")).startswith("2"), item.get("type") == "Secondary"),
        )
        for item in ranked:
            metrics = item.get("metrics")
            score = as_score(metrics.get("baseScore")) if type(metrics) is dict else None
            if score is not None:
                return score
    for key in ("cvssV3", "cvssV2"):  # grype 0.7
        old = vuln.get(key)
        if type(old) is dict and as_score(old.get("baseScore")) is not None:
            return as_score(old.get("baseScore"))
    return None


def _fixed(vuln: dict[str, Any]) -> str:
    fix = vuln.get("fix")
    if type(fix) is dict and type(fix.get("versions")) is list:
        return clip(", ".join(as_text(v, 100) for v in fix["versions"] if as_text(v, 100)), 200)
    return as_text(vuln.get("fixedInVersion"), 200)


def _location(artifact: dict[str, Any]) -> str:
    locations = artifact.get("locations")
    if type(locations) is list:
        for location in locations:
            path = as_text(location.get("path"), 1000) if type(location) is dict else ""
            if path:
                return file_location(path)
    return as_text(artifact.get("purl"), 1000)


def _first_url(vuln: dict[str, Any]) -> str:
    for key in ("urls", "links"):
        urls = vuln.get(key)
        if type(urls) is list and urls:
            return as_text(urls[0], 2000)
    return ""
