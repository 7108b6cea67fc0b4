"""Trivy importer: real SchemaVersion 2 and legacy samples, empty reports, hostile input, streaming."""

from __future__ import annotations

import datetime as dt
import io
import os
import sys
from pathlib import Path

import orjson
import pytest

from findings.errors import ImportFailed
from findings.importers import jsonstream, trivy
from findings.importers.base import MAX_TEXT, Category, FindingRecord, Severity

REPO_ROOT = Path(__file__).resolve().parents[3]
SCANS = Path(os.environ.get("HYGIENE_SHARED_DIR", REPO_ROOT.parent / "shared")) / "scans"
needs_samples = pytest.mark.skipif(not SCANS.is_dir(), reason=f"shared scan samples not found in {SCANS}")


def parse_file(name: str) -> list[FindingRecord]:
    with (SCANS / "trivy" / name).open("rb") as stream:
        return list(trivy.parse(stream))


def parse_bytes(data: bytes) -> list[FindingRecord]:
    return list(trivy.parse(io.BytesIO(data)))


def fingerprint(record: FindingRecord) -> tuple[str, str, str, str]:
    return record.category, record.rule_id, record.package, record.location


@needs_samples
@pytest.mark.parametrize(
    ("name", "count"),
    [
        ("legacy_no_vuln.json", 0),
        ("legacy_many_vulns.json", 93),
        ("scheme_2_no_vuln.json", 0),
        ("scheme_2_many_vulns.json", 5),
        ("misconfigurations_and_secrets.json", 5),
        ("cvssv4_severity_source.json", 3),
    ],
)
def test_sample_counts_and_distinct_fingerprints(name: str, count: int) -> None:
    records = parse_file(name)
    assert len(records) == count
    assert len({fingerprint(r) for r in records}) == count
    for record in records:
        assert record.severity in {"critical", "high", "medium", "low", "info"}
        assert record.rule_id


@needs_samples
def test_schema_2_image_scan_fields() -> None:
    records = parse_file("scheme_2_many_vulns.json")
    first = records[0]
    assert (first.rule_id, first.package, first.installed_version, first.fixed_version) == (
        "CVE-2020-15999",
        "freetype",
        "2.9.1-r2",
        "2.9.1-r3",
    )
    assert first.category == Category.VULNERABILITY
    assert first.severity == Severity.MEDIUM
    assert first.cvss == 6.5  # the NVD score: SeveritySource is nvd
    assert first.target == "teamdojo:latest"
    assert first.location == "app/libs/freetype-2.9.1-r2"
    assert first.published_at == dt.datetime(2020, 11, 3, 3, 15, tzinfo=dt.UTC)
    assert first.title.startswith("freetype: Heap-based buffer overflow")
    assert first.url == "https://avd.aquasec.com/nvd/cve-2020-15999"
    libbz2 = records[2]
    assert (libbz2.rule_id, libbz2.severity, libbz2.cvss) == ("CVE-2019-12900", Severity.CRITICAL, None)
    compress = records[3]
    assert compress.package == "org.apache.commons:commons-compress"
    assert (compress.installed_version, compress.fixed_version) == ("1.14", "1.18")


@needs_samples
def test_legacy_list_takes_the_image_name_from_the_os_result() -> None:
    records = parse_file("legacy_many_vulns.json")
    first = records[0]
    assert (first.rule_id, first.package, first.installed_version) == ("CVE-2011-3374", "apt", "1.8.2.2")
    assert first.severity == Severity.LOW
    assert first.cvss == 3.7
    assert first.published_at == dt.datetime(2019, 11, 26, 0, 15, tzinfo=dt.UTC)
    # "debian (debian 10.8)": the OS version is dropped so a base-image update keeps the findings.
    assert first.target == "debian"
    assert first.location == "debian"
    last = records[-1]
    assert (last.rule_id, last.package, last.title) == (
        "TEMP-0290435-0B57B5",
        "tar",
        "TEMP-0290435-0B57B5 in tar",
    )


@needs_samples
def test_filesystem_scan_with_misconfigurations_and_secrets() -> None:
    records = parse_file("misconfigurations_and_secrets.json")
    by_category: dict[str, list[FindingRecord]] = {}
    for record in records:
        by_category.setdefault(record.category, []).append(record)
    assert [r.rule_id for r in by_category[Category.VULNERABILITY]] == ["CVE-2021-33503", "CVE-2021-28363"]
    urllib3 = by_category[Category.VULNERABILITY][0]
    assert (urllib3.package, urllib3.fixed_version, urllib3.location) == (
        "urllib3",
        "1.26.5",
        "requirements.txt",
    )
    assert urllib3.target == ""  # ArtifactName "." names nothing
    (misconfiguration,) = by_category[Category.MISCONFIGURATION]
    assert (misconfiguration.rule_id, misconfiguration.severity) == ("DS002", Severity.HIGH)
    assert misconfiguration.location == "Dockerfile"
    assert "USER" in misconfiguration.description
    secrets = by_category[Category.SECRET]
    assert [(s.rule_id, s.location, s.severity) for s in secrets] == [
        ("github-pat", "Dockerfile:24", Severity.CRITICAL),
        ("github-pat", "secret.txt:1", Severity.CRITICAL),
    ]
    assert "GITHUB_PAT=*****" in secrets[1].description


@needs_samples
def test_cvss_comes_from_the_severity_source_even_when_only_v4() -> None:
    records = parse_file("cvssv4_severity_source.json")
    assert [(r.rule_id, r.severity, r.cvss) for r in records] == [
        ("CVE-2025-66614", Severity.MEDIUM, 6.3),
        ("CVE-2025-61795", Severity.LOW, 2.3),
        ("CVE-2026-24733", Severity.LOW, 2.7),
    ]
    assert records[0].fixed_version == "11.0.14, 10.1.49, 9.0.112"
    assert (records[0].location, records[0].target) == ("catalina.jar", "lib/catalina.jar")


@pytest.mark.parametrize("data", [b"", b"  \n", b"null", b"[]", b'{"SchemaVersion": 2, "Results": null}'])
def test_empty_reports_have_no_records(data: bytes) -> None:
    assert parse_bytes(data) == []


def test_byte_order_mark_is_skipped() -> None:
    report = {"SchemaVersion": 2, "ArtifactName": "a:1", "Results": [{"Target": "x", "Vulnerabilities": []}]}
    assert parse_bytes(b"\xef\xbb\xbf" + orjson.dumps(report)) == []


def _report(vulns: list[object], **extra: object) -> bytes:
    result = {
        "Target": "app:1 (alpine 3.18.4)",
        "Class": "os-pkgs",
        "Type": "alpine",
        "Vulnerabilities": vulns,
    }
    return orjson.dumps({"SchemaVersion": 2, "ArtifactName": "app:1", "Results": [result], **extra})


def test_every_text_field_is_bounded() -> None:
    huge = "x" * 50_000
    vuln = {
        "VulnerabilityID": "CVE-1",
        "PkgName": huge,
        "Title": huge,
        "Description": huge,
        "PrimaryURL": huge,
    }
    (record,) = parse_bytes(_report([vuln]))
    assert len(record.description) <= MAX_TEXT
    assert len(record.title) <= 500 and len(record.package) <= 500 and len(record.url) <= 2000


def test_wrong_types_inside_a_vulnerability_are_read_as_absent() -> None:
    vuln = {"VulnerabilityID": "CVE-1", "PkgName": {"a": [1]}, "Severity": 5, "CVSS": [1], "PublishedDate": 3}
    (record,) = parse_bytes(_report([vuln]))
    assert (record.package, record.severity, record.cvss, record.published_at) == (
        "",
        Severity.INFO,
        None,
        None,
    )


def test_unknown_severity_falls_back_to_the_score() -> None:
    vuln = {"VulnerabilityID": "CVE-1", "Severity": "UNKNOWN", "CVSS": {"nvd": {"V3Score": 9.8}}}
    (record,) = parse_bytes(_report([vuln]))
    assert (record.severity, record.cvss) == (Severity.CRITICAL, 9.8)


def test_sorted_keys_with_target_after_the_findings() -> None:
    # jq -S puts Secrets before Target; the records still get their file.
    result = {"Class": "secret", "Secrets": [{"RuleID": "aws-key", "StartLine": 3}], "Target": "a.env"}
    (record,) = parse_bytes(orjson.dumps({"ArtifactName": "repo", "Results": [result], "SchemaVersion": 2}))
    assert (record.location, record.target) == ("a.env:3", "repo")


def test_passed_misconfigurations_are_not_findings() -> None:
    result = {"Target": "main.tf", "Class": "config", "Misconfigurations": [{"ID": "A1", "Status": "PASS"}]}
    assert parse_bytes(orjson.dumps({"SchemaVersion": 2, "Results": [result]})) == []


@needs_samples
@pytest.mark.parametrize("cut", [1, 100, 5_000, 100_000, 170_000])
def test_truncated_file_fails_with_a_position(cut: int) -> None:
    data = (SCANS / "trivy" / "legacy_many_vulns.json").read_bytes()[:cut]
    with pytest.raises(ImportFailed) as failure:
        parse_bytes(data)
    message = str(failure.value)
    assert message.startswith("Trivy JSON:")
    assert "byte" in message


@needs_samples
def test_a_grype_report_is_refused() -> None:
    with (SCANS / "grype" / "many_vulns4.json").open("rb") as stream, pytest.raises(ImportFailed) as failure:
        list(trivy.parse(stream))
    assert "Trivy JSON" in str(failure.value) and "matches" in str(failure.value)


@pytest.mark.parametrize(
    "data",
    [
        b"[" * 100_000,
        b'{"SchemaVersion": 2, "Results": [{"Target": "x", "Vulnerabilities": [' + b"[" * 100_000,
        b'{"SchemaVersion": 2, "Results": [{"Target": "x", "Vulnerabilities": [{"a": ' + b"{" * 100_000,
        b'{"SchemaVersion": 2, "Metadata": ' + b'{"a":' * 100_000,
    ],
)
def test_deep_nesting_fails_cleanly(data: bytes) -> None:
    with pytest.raises(ImportFailed) as failure:
        parse_bytes(data)
    assert str(failure.value).startswith("Trivy JSON:")


def test_invalid_utf8_is_reported_with_its_byte() -> None:
    data = _report([{"VulnerabilityID": "CVE-1", "Title": "ok"}]).replace(b'"ok"', b'"o\xff"')
    with pytest.raises(ImportFailed) as failure:
        parse_bytes(data)
    assert "UTF-8" in str(failure.value)
    bad = data.index(b"\xff")
    assert f"byte {bad}" in str(failure.value)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"42", "expected a Trivy report"),
        (b'{"SchemaVersion": 2, "Results": [1]}', "Results[0]"),
        (_report([1]), "unexpected value"),
        (_report([{"PkgName": "x"}]), "no VulnerabilityID"),
        (b'{"SchemaVersion": 2, "Results": [{"Target": "x"}] "x": 1}', "expected ','"),
        (b'{"SchemaVersion": 2, "ArtifactName": "a\\q"}', "invalid JSON"),
    ],
)
def test_malformed_reports_fail_with_the_format_and_the_problem(data: bytes, fragment: str) -> None:
    with pytest.raises(ImportFailed) as failure:
        parse_bytes(data)
    assert str(failure.value).startswith("Trivy JSON:")
    assert fragment in str(failure.value)


def test_generated_report_streams_in_small_windows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sys.path.insert(0, str(REPO_ROOT))
    from bench.scan_samples import write_trivy

    path = tmp_path / "trivy.json"
    assert write_trivy(path, 600, seed=3) == 600
    with path.open("rb") as stream:
        expected = list(trivy.parse(stream))
    assert len(expected) == 600
    assert len({fingerprint(r) for r in expected}) == 600
    # Tiny chunks and windows force every boundary case of the window guessing.
    monkeypatch.setattr(jsonstream, "_CHUNK", 4096)
    monkeypatch.setattr(jsonstream, "_MAX_WINDOW", 5000)
    monkeypatch.setattr(jsonstream, "_MIN_WINDOW", 2000)
    with path.open("rb") as stream:
        assert list(trivy.parse(stream)) == expected
