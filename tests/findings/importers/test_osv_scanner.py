"""OSV-Scanner importer: groups of aliases become one record, empty output, hostile input."""

from __future__ import annotations

import datetime as dt
import io
import os
from pathlib import Path

import pytest

from findings.errors import ImportFailed
from findings.importers import osv_scanner
from findings.importers.base import Category, FindingRecord, Severity

REPO_ROOT = Path(__file__).resolve().parents[3]
SCANS = Path(os.environ.get("HYGIENE_SHARED_DIR", REPO_ROOT.parent / "shared")) / "scans"
needs_samples = pytest.mark.skipif(not SCANS.is_dir(), reason=f"shared scan samples not found in {SCANS}")


def parse_file(name: str) -> list[FindingRecord]:
    with (SCANS / "osv-scanner" / name).open("rb") as stream:
        return list(osv_scanner.parse(stream))


def parse_bytes(data: bytes) -> list[FindingRecord]:
    return list(osv_scanner.parse(io.BytesIO(data)))


@needs_samples
@pytest.mark.parametrize(
    ("name", "count"),
    [
        ("no_findings.json", 0),  # an empty file: what osv-scanner writes when it finds nothing
        ("some_findings.json", 1),
        ("many_findings.json", 37),  # 66 advisories in 37 alias groups
    ],
)
def test_sample_counts(name: str, count: int) -> None:
    records = parse_file(name)
    assert len(records) == count
    assert len({(r.rule_id, r.package, r.location) for r in records}) == count
    assert all(r.category == Category.VULNERABILITY for r in records)


@needs_samples
def test_malicious_package_is_critical() -> None:
    (record,) = parse_file("some_findings.json")
    assert (record.rule_id, record.package, record.installed_version) == (
        "MAL-2023-1035",
        "flot-axis",
        "0.0.0",
    )
    assert record.severity == Severity.CRITICAL
    assert (record.title, record.location) == (
        "Malicious code in flot-axis (npm)",
        "/tmp/components/yarn.lock",
    )
    assert record.published_at == dt.datetime(2023, 8, 1, 5, 29, 33, tzinfo=dt.UTC)
    assert "GHSA-8348-2q94-ffjx" in record.description


@needs_samples
def test_alias_groups_and_scores() -> None:
    records = parse_file("many_findings.json")
    guzzle = records[0]
    assert (guzzle.rule_id, guzzle.package, guzzle.installed_version) == (
        "GHSA-25mq-v84q-4j7r",
        "guzzlehttp/guzzle",
        "6.3.3",
    )
    assert (guzzle.severity, guzzle.cvss, guzzle.fixed_version) == (Severity.HIGH, 7.7, "6.5.8, 7.4.5")
    assert guzzle.location == "/tmpcardmarket-api/composer.lock"
    assert guzzle.title == "CURLOPT_HTTPAUTH option not cleared on change of origin"
    # GHSA-g4mx-q9vg-27p4 and PYSEC-2023-212 are one problem: one record, the GHSA id, both named.
    urllib3 = [r for r in records if r.package == "urllib3"]
    assert len(urllib3) == 1
    assert urllib3[0].rule_id == "GHSA-g4mx-q9vg-27p4"
    assert "PYSEC-2023-212" in urllib3[0].description
    # selenium's PYSEC entry has a CVSS vector only: the score is computed from it.
    (selenium,) = [r for r in records if r.package == "selenium"]
    assert (selenium.rule_id, selenium.cvss, selenium.severity) == ("PYSEC-2023-206", 7.5, Severity.HIGH)


@pytest.mark.parametrize("data", [b"", b"  \n", b"null", b'{"results": []}'])
def test_empty_output_has_no_records(data: bytes) -> None:
    assert parse_bytes(data) == []


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b'{"results": [{"packages": [', "the file ends in the middle"),
        (b'{"results": ' + b"[" * 100_000, "nested deeper than 1024 levels"),
        (b'{"results": [{"packages": [{"package": {"name": "\xff"}}]}]}', "invalid UTF-8"),
        (b'{"results": {}}', "results"),
        (b'{"results": [{"source": {}}]}', "no packages array"),
        (b'{"results": [{"packages": [1]}]}', "packages[0]"),
    ],
)
def test_hostile_output_fails_with_the_format_and_the_problem(data: bytes, fragment: str) -> None:
    with pytest.raises(ImportFailed) as failure:
        parse_bytes(data)
    assert str(failure.value).startswith("OSV-Scanner JSON:")
    assert fragment in str(failure.value)
