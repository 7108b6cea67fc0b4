"""pip-audit importer: old list and new dependencies formats, empty reports, hostile input."""

from __future__ import annotations

import io
import os
from pathlib import Path

import orjson
import pytest

from findings.errors import ImportFailed
from findings.importers import pip_audit
from findings.importers.base import Category, FindingRecord, Severity

REPO_ROOT = Path(__file__).resolve().parents[3]
SCANS = Path(os.environ.get("HYGIENE_SHARED_DIR", REPO_ROOT.parent / "shared")) / "scans"
needs_samples = pytest.mark.skipif(not SCANS.is_dir(), reason=f"shared scan samples not found in {SCANS}")


def parse_file(name: str) -> list[FindingRecord]:
    with (SCANS / "pip-audit" / name).open("rb") as stream:
        return list(pip_audit.parse(stream))


def parse_bytes(data: bytes) -> list[FindingRecord]:
    return list(pip_audit.parse(io.BytesIO(data)))


@needs_samples
@pytest.mark.parametrize(
    ("name", "count"),
    [
        ("empty.json", 0),
        ("empty_new.json", 0),
        ("zero_vulns_new.json", 0),
        ("many_vulns.json", 7),
        ("many_vulns_new.json", 7),
    ],
)
def test_sample_counts(name: str, count: int) -> None:
    records = parse_file(name)
    assert len(records) == count
    assert len({(r.rule_id, r.package, r.location) for r in records}) == count


@needs_samples
@pytest.mark.parametrize("name", ["many_vulns.json", "many_vulns_new.json"])
def test_both_formats_give_the_same_records(name: str) -> None:
    records = parse_file(name)
    assert [(r.rule_id, r.package, r.installed_version) for r in records] == [
        ("PYSEC-2021-76", "aiohttp", "3.6.2"),
        ("PYSEC-2021-439", "django", "3.2.9"),
        ("PYSEC-2021-852", "lxml", "4.6.4"),
        ("PYSEC-2019-128", "twisted", "18.9.0"),
        ("PYSEC-2020-260", "twisted", "18.9.0"),
        ("PYSEC-2019-129", "twisted", "18.9.0"),
        ("PYSEC-2020-259", "twisted", "18.9.0"),
    ]
    django = records[1]
    assert django.fixed_version == "2.2.25, 3.1.14, 3.2.10"
    assert django.category == Category.VULNERABILITY
    assert django.severity == Severity.MEDIUM  # pip-audit rates nothing
    assert django.location == "pkg:pypi/django"
    assert django.description.startswith("In Django 2.2 before 2.2.25")
    assert records[2].fixed_version == ""  # lxml: no fix known


def test_aliases_are_kept_in_the_description() -> None:
    vuln = {"id": "GHSA-x", "aliases": ["CVE-1"]}
    data = orjson.dumps({"dependencies": [{"name": "a", "version": "1", "vulns": [vuln]}]})
    (record,) = parse_bytes(data)
    assert "CVE-1" in record.description


@pytest.mark.parametrize("data", [b"", b"[]", b"null", b'{"dependencies": []}'])
def test_empty_reports_have_no_records(data: bytes) -> None:
    assert parse_bytes(data) == []


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b'[{"name": "a", "vulns": [', "the file ends in the middle"),
        (b"[" * 100_000, "nested deeper than 1024 levels"),
        (b'[{"name": "\xff"}]', "invalid UTF-8 at line 1, byte 11"),
        (b'{"packages": []}', "dependencies"),
        (b'[{"version": "1"}]', "dependencies[0]"),
        (b'[{"name": "a", "vulns": {}}]', "vulns should be a list"),
        (b'[{"name": "a", "vulns": [{"fix_versions": []}]}]', "has no id"),
        (b'"text"', "expected a list"),
    ],
)
def test_hostile_reports_fail_with_the_format_and_the_problem(data: bytes, fragment: str) -> None:
    with pytest.raises(ImportFailed) as failure:
        parse_bytes(data)
    assert str(failure.value).startswith("pip-audit JSON:")
    assert fragment in str(failure.value)
