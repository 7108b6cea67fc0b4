"""Grype importer: real samples from grype 0.7 to 0.96, key order, empty reports, hostile input."""

from __future__ import annotations

import io
import os
from pathlib import Path

import orjson
import pytest

from findings.errors import ImportFailed
from findings.importers import grype
from findings.importers.base import Category, FindingRecord, Severity

REPO_ROOT = Path(__file__).resolve().parents[3]
SCANS = Path(os.environ.get("HYGIENE_SHARED_DIR", REPO_ROOT.parent / "shared")) / "scans"
needs_samples = pytest.mark.skipif(not SCANS.is_dir(), reason=f"shared scan samples not found in {SCANS}")


def parse_file(name: str) -> list[FindingRecord]:
    with (SCANS / "grype" / name).open("rb") as stream:
        return list(grype.parse(stream))


def parse_bytes(data: bytes) -> list[FindingRecord]:
    return list(grype.parse(io.BytesIO(data)))


@needs_samples
@pytest.mark.parametrize(
    ("name", "count"),
    [
        ("no_vuln.json", 0),
        ("fix_available.json", 1),
        ("many_vulns4.json", 9),
        ("issue_9618.json", 35),
        ("many_vulns3.json", 327),
        ("anchore_grype_epss_problem.json", 1),
    ],
)
def test_sample_counts_and_distinct_fingerprints(name: str, count: int) -> None:
    records = parse_file(name)
    assert len(records) == count
    assert len({(r.category, r.rule_id, r.package, r.location) for r in records}) == count
    assert all(r.category == Category.VULNERABILITY for r in records)


@needs_samples
def test_recent_grype_with_source_after_matches() -> None:
    records = parse_file("issue_9618.json")  # grype 0.96 sorts keys: "source" follows "matches"
    first = records[0]
    assert (first.rule_id, first.package, first.installed_version) == (
        "CVE-2023-38473",
        "avahi-libs",
        "0.7-20.el8",
    )
    assert (first.fixed_version, first.severity, first.cvss) == ("0:0.7-21.el8_9.1", Severity.MEDIUM, 6.2)
    assert first.location == "/var/lib/rpm/Packages"
    assert first.target == "quay.io/cloudservices/xjoin-kafka-connect-strimzi:latest"
    assert first.url == "https://access.redhat.com/security/cve/CVE-2023-38473"
    assert first.description.startswith("A vulnerability was found in Avahi.")


@needs_samples
def test_grype_0_7_schema() -> None:
    records = parse_file("many_vulns3.json")
    bash = records[0]
    assert (bash.rule_id, bash.package, bash.installed_version) == ("CVE-2019-18276", "bash", "5.0-4")
    # Debian rates it Negligible: that rating stands even though NVD's CVSS v2 score is 7.2.
    assert (bash.severity, bash.cvss) == (Severity.INFO, 7.2)
    assert (bash.location, bash.target) == ("/var/lib/dpkg/status", "defectdojo/defectdojo-django:1.13.1")
    assert bash.url == "https://security-tracker.debian.org/tracker/CVE-2019-18276"
    zstd = next(r for r in records if r.rule_id == "CVE-2021-24031")
    assert (zstd.package, zstd.fixed_version) == ("libzstd1", "1.3.8+dfsg-3+deb10u1")


@needs_samples
def test_directory_scan_and_missing_source() -> None:
    delegate = parse_file("many_vulns4.json")[0]
    assert (delegate.rule_id, delegate.package, delegate.severity, delegate.cvss) == (
        "CVE-1999-1338",
        "delegate",
        Severity.MEDIUM,
        5.0,
    )
    assert (delegate.location, delegate.target) == ("components/yarn.lock", "")  # the source was "."
    (epss,) = parse_file("anchore_grype_epss_problem.json")
    assert (epss.rule_id, epss.package, epss.fixed_version) == (
        "GHSA-4374-p667-p6c8",
        "golang.org/x/net",
        "0.17.0",
    )
    assert (epss.severity, epss.cvss, epss.target) == (Severity.HIGH, 7.5, "")


@needs_samples
def test_nul_bytes_in_versions_are_dropped() -> None:
    (java,) = parse_file("fix_available.json")
    assert (java.package, java.installed_version, java.fixed_version) == ("java", "17.0.10+7-J-ms8m", "1.2.3")
    assert (java.target, java.location) == ("REDACTED", "/opt/java/openjdk/bin/java")


def test_unknown_severity_takes_the_score_and_the_related_record() -> None:
    match = {
        "vulnerability": {"id": "GHSA-1", "severity": "Unknown"},
        "relatedVulnerabilities": [
            {"id": "CVE-1", "cvss": [{"version": "3.1", "metrics": {"baseScore": 9.1}}], "description": "d"}
        ],
        "artifact": {"name": "p", "version": "1", "locations": [{"path": "/x"}]},
    }
    (record,) = parse_bytes(orjson.dumps({"matches": [match]}))
    assert (record.severity, record.cvss, record.description) == (Severity.CRITICAL, 9.1, "d")


@pytest.mark.parametrize("data", [b"", b'{"matches": []}', b'{"matches": null, "source": {}}'])
def test_empty_reports_have_no_records(data: bytes) -> None:
    assert parse_bytes(data) == []


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b'{"matches": [{"vulnerability": {"id": "CVE-1"}}', "byte"),
        (b'{"matches": [' + b"[" * 100_000, "nested too deeply"),
        (b'{"matches": [{"vulnerability": {"id": "\xff"}}]}', "UTF-8"),
        (b'{"matches": [{"artifact": {}}]}', "no vulnerability id"),
        (b'{"matches": 3}', "matches should be an array"),
        (b'{"SchemaVersion": 2, "Results": []}', "Is this another scanner's output?"),
        (b"[]", "expected a Grype report"),
    ],
)
def test_hostile_reports_fail_with_the_format_and_the_problem(data: bytes, fragment: str) -> None:
    with pytest.raises(ImportFailed) as failure:
        parse_bytes(data)
    assert str(failure.value).startswith("Grype JSON:")
    assert fragment in str(failure.value)
