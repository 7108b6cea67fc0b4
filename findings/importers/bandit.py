"""Bandit JSON reports (``bandit -f json``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

from findings.errors import ImportFailed

from .base import Category, FindingRecord
from .common import as_text, clip, file_location, load_json, normalize_severity

NAME = "bandit"
LABEL = "Bandit JSON"


def sniff(head: bytes) -> bool:
    if head.lstrip()[:1] != b"{":
        return False
    # Bandit sorts its keys: per-file metrics ("SEVERITY.HIGH", ...) can push "results" past the head.
    if b'"generated_at"' in head and (b'"results"' in head or b'"SEVERITY.' in head):
        return True
    return b'"results"' in head and b'"test_id"' in head and b'"issue_severity"' in head


def parse(stream: BinaryIO) -> Iterator[FindingRecord]:
    document = load_json(stream, label=LABEL)
    if document is None:
        return
    if type(document) is not dict or "results" not in document:
        raise ImportFailed(f'{LABEL}: expected an object with a "results" array at the top level.')
    results = document["results"]
    if type(results) is not list:
        raise ImportFailed(f'{LABEL}: "results" should be a list.')
    for index, result in enumerate(results):
        if type(result) is not dict:
            raise ImportFailed(f"{LABEL}: results[{index}] should be an object.")
        yield _record(result, index)


def _record(result: dict[str, Any], index: int) -> FindingRecord:
    rule = as_text(result.get("test_id"), 200)
    if not rule:
        raise ImportFailed(f"{LABEL}: results[{index}] has no test_id.")
    text = as_text(result.get("issue_text"))
    name = as_text(result.get("test_name"), 200)
    confidence = as_text(result.get("issue_confidence"), 20)
    cwe = result.get("issue_cwe")
    details = [text, f"Test: {rule} {name}".strip(), f"Confidence: {confidence}" if confidence else ""]
    if type(cwe) is dict and as_text(cwe.get("id"), 20):
        details.append(f"CWE-{as_text(cwe.get('id'), 20)}")
    # The code excerpt is left out on purpose: for B105/B106 (hard-coded passwords) it is the secret.
    return FindingRecord(
        category=Category.CODE_WEAKNESS,
        rule_id=rule,
        title=clip(text.split("\n", 1)[0], 500) or name or rule,
        severity=normalize_severity(result.get("issue_severity"), "medium"),
        location=file_location(as_text(result.get("filename"), 1000), result.get("line_number")),
        description=clip("\n".join(part for part in details if part)),
        url=as_text(result.get("more_info"), 2000),
    )
