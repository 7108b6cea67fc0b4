"""CycloneDX importer: real BOMs with and without vulnerabilities, VEX states, hostile input."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import os
from pathlib import Path

import orjson
import pytest

from findings.errors import ImportFailed
from findings.importers import cyclonedx
from findings.importers.base import Category, FindingRecord, Severity

REPO_ROOT = Path(__file__).resolve().parents[3]
SCANS = Path(os.environ.get("HYGIENE_SHARED_DIR", REPO_ROOT.parent / "shared")) / "scans"
needs_samples = pytest.mark.skipif(not SCANS.is_dir(), reason=f"shared scan samples not found in {SCANS}")


def parse_file(name: str) -> list[FindingRecord]:
    with (SCANS / "cyclonedx" / name).open("rb") as stream:
        return list(cyclonedx.parse(stream))


def parse_bom(bom: dict[str, object]) -> list[FindingRecord]:
    return list(cyclonedx.parse(io.BytesIO(orjson.dumps(bom))))


def bom(*vulnerabilities: dict[str, object], components: list[object] | None = None) -> dict[str, object]:
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "components": components or [],
        "vulnerabilities": list(vulnerabilities),
    }


@needs_samples
@pytest.mark.parametrize(
    ("name", "count"),
    [
        # 10 vulnerabilities, four of which affect two or three packages: one record per package.
        ("issue_9277.json", 14),
        ("log4j.json", 8),
        ("no-severity.json", 1),
        # Inventories without a vulnerabilities array: components are not findings.
        ("bom.1.4.json", 0),
        ("valid-machine-learning-1.6.json", 0),
        ("aibom.json", 0),
    ],
)
def test_every_sample_yields_the_expected_records(name: str, count: int) -> None:
    records = parse_file(name)
    assert len(records) == count
    assert all(record.category == Category.VULNERABILITY for record in records)


@needs_samples
def test_trivy_bom_fields() -> None:
    records = parse_file("issue_9277.json")
    first = records[0]
    assert (first.rule_id, first.package, first.installed_version) == (
        "CVE-2016-2781",
        "coreutils",
        "8.32-4.1ubuntu1",
    )
    # Ubuntu is the vulnerability's source, so Ubuntu's rating is the severity (as in Trivy's own
    # report); the CVSS score is the first v3 one (NVD).
    assert (first.severity, first.cvss) == (Severity.LOW, 6.5)
    assert first.target == "ubuntu:latest"
    assert first.published_at == dt.datetime(2017, 2, 7, 15, 59, tzinfo=dt.UTC)
    assert first.url == "https://git.launchpad.net/ubuntu-cve-tracker"
    assert "CWE-20" in first.description
    # The tar ref is not among the components: name and version come from the package URL itself.
    assert (records[1].rule_id, records[1].package, records[1].installed_version) == (
        "TEMP-0290435-0B57B5",
        "tar",
        "1.30+dfsg-6",
    )
    assert [r.package for r in records if r.rule_id == "CVE-2022-27943"] == [
        "gcc-12-base",
        "libgcc-s1",
        "libstdc++6",
    ]
    assert len({(r.rule_id, r.package, r.location) for r in records}) == 14


@needs_samples
def test_grype_bom_fields() -> None:
    records = parse_file("log4j.json")
    assert [(r.rule_id, r.severity) for r in records[:2]] == [
        ("CVE-2021-44228", Severity.CRITICAL),
        ("CVE-2021-44832", Severity.MEDIUM),
    ]
    assert records[0].cvss == 10.0
    assert records[4].rule_id == "GHSA-7rjr-3q55-vv33"
    assert records[4].cvss is None
    assert all((r.package, r.installed_version) == ("log4j-core", "2.13.2") for r in records)
    assert records[0].target == "./configuration/.m2/repository/org/apache/logging/log4j/log4j-core/2.13.2"
    assert "Analysis: in_triage" in records[0].description


@needs_samples
def test_vulnerability_without_severity_or_component() -> None:
    (record,) = parse_file("no-severity.json")
    assert record.rule_id == "CVE-2021-44228"
    # No severity word anywhere: the CVSS 10.0 score decides.
    assert (record.severity, record.cvss) == (Severity.CRITICAL, 10.0)
    assert record.package == ""
    assert "gerbwetbqt" in record.description
    assert record.url == "https://nvd.nist.gov/vuln/detail/CVE-2021-44228"


def test_nested_components_group_path_and_fixed_version() -> None:
    inner = {
        "bom-ref": "lib",
        "group": "org.example",
        "name": "lib",
        "version": "1.0",
        "purl": "pkg:maven/org.example/lib@1.0",
        "properties": [{"name": "aquasecurity:trivy:FilePath", "value": "app/lib-1.0.jar"}],
    }
    outer = {"bom-ref": "app", "name": "app", "components": [inner]}
    vulnerability = {
        "id": "CVE-2024-0001",
        "ratings": [{"severity": "unknown"}, {"severity": "high"}],
        "affects": [
            {
                "ref": "lib",
                "versions": [
                    {"version": "1.0", "status": "affected"},
                    {"version": "1.1", "status": "unaffected"},
                ],
            }
        ],
    }
    (record,) = parse_bom(bom(vulnerability, components=[outer]))
    assert (record.package, record.installed_version, record.fixed_version) == (
        "org.example:lib",
        "1.0",
        "1.1",
    )
    assert record.location == "app/lib-1.0.jar"
    assert record.severity == Severity.HIGH


def test_vex_not_affected_and_unaffected_versions_are_skipped() -> None:
    skipped = {"id": "CVE-1", "analysis": {"state": "not_affected"}, "affects": [{"ref": "x"}]}
    unaffected = {
        "id": "CVE-2",
        "affects": [{"ref": "x", "versions": [{"version": "1", "status": "unaffected"}]}],
    }
    kept = {
        "id": "CVE-3",
        "analysis": {"state": "exploitable"},
        "affects": [{"ref": "pkg:npm/%40scope/name@2.0.0"}],
    }
    (record,) = parse_bom(bom(skipped, unaffected, kept))
    assert (record.rule_id, record.package, record.installed_version) == ("CVE-3", "@scope/name", "2.0.0")
    assert record.severity == Severity.INFO


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b'{"bomFormat": "CycloneDX", "vulnerabilities": [', "not valid JSON"),
        (b"[]", "expected an object at the top level, found an array"),
        (b'{"bomFormat": "SPDX"}', "not 'CycloneDX'"),
        (b'{"runs": []}', "not a CycloneDX BOM"),
        (b'{"bomFormat": "CycloneDX", "vulnerabilities": {}}', "expected an array at vulnerabilities"),
        (b'{"bomFormat": "CycloneDX", "vulnerabilities": [[]]}', "vulnerabilities[0], found an array"),
        (b'{"bomFormat": "CycloneDX", "vulnerabilities": [{"affects": []}]}', "vulnerabilities[0] has no id"),
        (b'{"bomFormat": "CycloneDX", "components": ' + b"[" * 1100 + b"]" * 1100 + b"}", "not valid JSON"),
        (b'{"bomFormat": "CycloneDX\xa0"}', "UTF-8"),
    ],
)
def test_hostile_input_fails_clearly(data: bytes, message: str) -> None:
    with pytest.raises(ImportFailed, match="CycloneDX") as info:
        list(cyclonedx.parse(io.BytesIO(data)))
    assert message in str(info.value)


def test_wrong_types_and_legal_deep_nesting_do_not_crash() -> None:
    # orjson reads up to 1024 levels (it cannot write that deep, so the JSON is spelled out here).
    deep = "[" * 1000 + "]" * 1000
    nested = '{"bom-ref": "leaf", "name": "leaf"}'
    for level in range(400):
        nested = f'{{"bom-ref": "c{level}", "name": "c", "components": [{nested}]}}'
    vulnerability = (
        f'{{"id": "CVE-9", "cwes": {deep}, "source": {deep}, "published": {deep}, '
        f'"ratings": [{{"severity": {deep}, "score": "7.1", "method": "CVSSv31"}}, "x", {{"score": true}}], '
        f'"affects": [{{"ref": "leaf", "versions": "all"}}, "bad", {{"ref": {deep}}}]}}'
    )
    document = (
        f'{{"bomFormat": "CycloneDX", "metadata": {{"component": {deep}}}, '
        f'"components": [{nested}, 5], "vulnerabilities": [{vulnerability}]}}'
    )
    records = list(cyclonedx.parse(io.BytesIO(document.encode())))
    assert [(r.package, r.severity, r.cvss) for r in records] == [
        ("leaf", Severity.HIGH, 7.1),
        ("", Severity.HIGH, 7.1),
        ("", Severity.HIGH, 7.1),
    ]


def test_long_fields_are_bounded() -> None:
    vulnerability = {
        "id": "C" * 100_000,
        "description": "d" * 100_000,
        "affects": [{"ref": "pkg:npm/" + "n" * 100_000}],
    }
    (record,) = parse_bom(bom(vulnerability))
    assert all(len(v) <= 4000 for v in dataclasses.asdict(record).values() if isinstance(v, str))


def test_sniff() -> None:
    assert cyclonedx.sniff(b'{\n  "bomFormat": "CycloneDX",\n  "specVersion": "1.4"')
    assert cyclonedx.sniff(
        b'{"$schema": "http://cyclonedx.org/schema/bom-1.5.schema.json", "specVersion": "1.5"'
    )
    assert not cyclonedx.sniff(b'{"ArtifactType": "cyclonedx", "Results": []}')
    assert not cyclonedx.sniff(b"\xff\xfe")


@needs_samples
def test_sniff_against_every_shared_sample() -> None:
    for path in sorted(SCANS.glob("*/*")):
        claimed = cyclonedx.sniff(path.read_bytes()[: 64 * 1024])
        assert claimed == (path.parent.name == "cyclonedx"), path
