"""Bandit importer: real samples, Windows paths, no code excerpt, empty reports, hostile input."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from findings.errors import ImportFailed
from findings.importers import bandit
from findings.importers.base import Category, FindingRecord, Severity

REPO_ROOT = Path(__file__).resolve().parents[3]
SCANS = Path(os.environ.get("HYGIENE_SHARED_DIR", REPO_ROOT.parent / "shared")) / "scans"
needs_samples = pytest.mark.skipif(not SCANS.is_dir(), reason=f"shared scan samples not found in {SCANS}")


def parse_file(name: str) -> list[FindingRecord]:
    with (SCANS / "bandit" / name).open("rb") as stream:
        return list(bandit.parse(stream))


def parse_bytes(data: bytes) -> list[FindingRecord]:
    return list(bandit.parse(io.BytesIO(data)))


@needs_samples
@pytest.mark.parametrize(
    ("name", "count", "distinct"),
    [
        ("no_vuln.json", 0, 0),
        ("one_vuln.json", 1, 1),
        # Bandit reports B608 twice on migrate_surveys.py line 51 (two concatenations on one line).
        ("many_vulns.json", 214, 213),
        ("bandit-report.json", 3, 3),
    ],
)
def test_sample_counts(name: str, count: int, distinct: int) -> None:
    records = parse_file(name)
    assert len(records) == count
    assert len({(r.rule_id, r.location) for r in records}) == distinct
    assert all(r.category == Category.CODE_WEAKNESS for r in records)


@needs_samples
def test_fields_of_one_result() -> None:
    (record,) = parse_file("one_vuln.json")
    assert (record.rule_id, record.severity, record.location) == ("B101", Severity.LOW, "one/one.py:2")
    assert record.title.startswith("Use of assert detected.")
    assert record.url == "https://bandit.readthedocs.io/en/latest/plugins/b101_assert_used.html"
    assert "Confidence: HIGH" in record.description
    assert "assert False" not in record.description  # the code excerpt is never copied


@needs_samples
def test_windows_separators_are_normalized_and_cwe_kept() -> None:
    first = parse_file("many_vulns.json")[0]
    assert (first.rule_id, first.location) == ("B110", "dojo/benchmark/views.py:26")
    recent = parse_file("bandit-report.json")[0]
    assert (recent.rule_id, recent.severity) == ("B104", Severity.MEDIUM)
    assert recent.location == "src/config/schemas/server_schema.py:45"
    assert "CWE-605" in recent.description


@pytest.mark.parametrize("data", [b"", b"null", b'{"results": []}'])
def test_empty_reports_have_no_records(data: bytes) -> None:
    assert parse_bytes(data) == []


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b'{"results": [{"test_id": "B1"', "the file ends in the middle"),
        (b'{"results": ' + b"[" * 100_000, "nested deeper than 1024 levels"),
        (b'{"results": [{"test_id": "\xff"}]}', "invalid UTF-8"),
        (b'{"errors": []}', "results"),
        (b'{"results": {}}', "should be a list"),
        (b'{"results": [{"filename": "a.py"}]}', "has no test_id"),
        (b'{"results": [7]}', "results[0]"),
    ],
)
def test_hostile_reports_fail_with_the_format_and_the_problem(data: bytes, fragment: str) -> None:
    with pytest.raises(ImportFailed) as failure:
        parse_bytes(data)
    assert str(failure.value).startswith("Bandit JSON:")
    assert fragment in str(failure.value)


def test_a_deeply_nested_severity_counts_as_absent() -> None:
    nested = b"[" * 1000 + b"]" * 1000
    data = (
        b'{"results": [{"test_id": "B105", "filename": "a.py", "line_number": 3, "issue_text": "x", '
        b'"issue_severity": ' + nested + b"}]}"
    )

    [record] = parse_bytes(data)

    assert record.severity == Severity.MEDIUM
