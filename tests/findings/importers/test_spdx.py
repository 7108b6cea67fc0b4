"""SPDX importer: packages are components, advisory references (SPDX 2) and Security-profile
vulnerabilities (SPDX 3) are findings."""

from __future__ import annotations

import dataclasses
import io
import os
from pathlib import Path

import orjson
import pytest

from findings.errors import ImportFailed
from findings.importers import spdx
from findings.importers.base import Category, FindingRecord, Severity

REPO_ROOT = Path(__file__).resolve().parents[3]
SCANS = Path(os.environ.get("HYGIENE_SHARED_DIR", REPO_ROOT.parent / "shared")) / "scans"
needs_samples = pytest.mark.skipif(not SCANS.is_dir(), reason=f"shared scan samples not found in {SCANS}")


def parse_file(name: str) -> list[FindingRecord]:
    with (SCANS / "spdx" / name).open("rb") as stream:
        return list(spdx.parse(stream))


def parse_doc(*packages: object, **top: object) -> list[FindingRecord]:
    document = {"spdxVersion": "SPDX-2.3", "name": "app", "packages": list(packages), **top}
    return list(spdx.parse(io.BytesIO(orjson.dumps(document))))


def security_ref(ref_type: str, locator: str, **extra: str) -> dict[str, str]:
    return {"referenceCategory": "SECURITY", "referenceType": ref_type, "referenceLocator": locator, **extra}


@needs_samples
@pytest.mark.parametrize(
    ("name", "count"),
    [
        # Package inventories (CPE and purl references only): no findings.
        ("spdx_no_vuln.json", 0),
        ("julia-spdx.json.golden", 0),
        ("centos-7-spdx.json", 0),
        # alpine-baselayout: CVE-2024-10001 (advisory + fix link: one record); alpine-keys:
        # CVE-2024-10002 and GHSA-jfh8-c2jp-5v3q; apk-tools' advisory names no id; busybox has none.
        ("spdx_many_vuln.json", 3),
    ],
)
def test_every_sample_yields_the_expected_records(name: str, count: int) -> None:
    records = parse_file(name)
    assert len(records) == count
    assert all(r.category == Category.VULNERABILITY and r.severity == Severity.MEDIUM for r in records)


@needs_samples
def test_advisory_reference_fields() -> None:
    records = parse_file("spdx_many_vuln.json")
    assert [(r.rule_id, r.package, r.installed_version) for r in records] == [
        ("CVE-2024-10001", "alpine-baselayout", "3.1.2-r0"),
        ("CVE-2024-10002", "alpine-keys", "2.1-r2"),
        ("GHSA-jfh8-c2jp-5v3q", "alpine-keys", "2.1-r2"),
    ]
    first = records[0]
    assert first.target == "generic-image"
    assert first.url == "https://example.com/advisories/CVE-2024-10001"
    assert "fix: https://example.com/fixes/CVE-2024-10001 (Fixed upstream)" in first.description
    assert "pkg:apk/alpine/alpine-baselayout@3.1.2-r0" in first.description
    assert first.cvss is None and first.fixed_version == ""
    assert records[2].url == "https://example.com/advisories/GHSA-jfh8-c2jp-5v3q"


SPDX3_SAMPLE = Path(__file__).resolve().parents[2] / "assets" / "data" / "support-bot-ai-bom.spdx3.json"


@needs_samples
def test_spdx_3_without_vulnerabilities_imports_no_findings() -> None:
    assert parse_file("spdx_3_unsupported.json") == []
    assert parse_file("ai-example02.spdx3.json") == []


def test_spdx_3_security_profile_vulnerabilities_are_findings_on_the_affected_package() -> None:
    records = list(spdx.parse(io.BytesIO(SPDX3_SAMPLE.read_bytes())))

    assert [(r.rule_id, r.package, r.severity, r.cvss) for r in records] == [
        ("CVE-2024-3568", "pkg:pypi/transformers@4.40.0", "high", 8.8)
    ]
    assert records[0].target == "pkg:pypi/transformers@4.40.0"
    assert "arbitrary code execution" in records[0].description


def test_spdx_3_with_an_empty_graph_imports_nothing() -> None:
    document = b'{"@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld", "@graph": []}'
    assert spdx.sniff(document)
    assert list(spdx.parse(io.BytesIO(document))) == []


def test_spdx_3_with_a_dangling_reference_is_refused() -> None:
    data = SPDX3_SAMPLE.read_bytes().replace(
        b'"https://example.org/spdx3/support-bot/pkg/transformers"\n      ]',
        b'"https://example.org/nowhere"\n      ]',
    )
    assert b"https://example.org/nowhere" in data
    with pytest.raises(ImportFailed, match="dangling reference"):
        list(spdx.parse(io.BytesIO(data)))


def test_cpe_references_are_identity_not_vulnerabilities() -> None:
    package = {
        "SPDXID": "SPDXRef-a",
        "name": "openssl",
        "versionInfo": "1.0",
        "externalRefs": [
            security_ref("cpe23Type", "cpe:2.3:a:openssl:openssl:1.0:CVE-2014-0160:*:*:*:*:*:*"),
            {"referenceCategory": "OTHER", "referenceType": "advisory", "referenceLocator": "CVE-2014-0160"},
        ],
    }
    assert parse_doc(package) == []


def test_manifest_location_ids_in_comments_and_placeholders() -> None:
    package = {
        "name": "A",
        "versionInfo": "NOASSERTION",
        "sourceInfo": "package found in: Manifest.toml",
        "externalRefs": [
            security_ref("url", "https://osv.dev/list", comment="see pysec-2021-19 and RUSTSEC-2020-0001")
        ],
    }
    records = parse_doc(package, name="NOASSERTION")
    assert [(r.rule_id, r.location, r.installed_version, r.target) for r in records] == [
        ("PYSEC-2021-19", "Manifest.toml", "", ""),
        ("RUSTSEC-2020-0001", "Manifest.toml", "", ""),
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b'{"spdxVersion": "SPDX-2.3", "packages": [', "not valid JSON"),
        (b"[]", "expected an object at the top level, found an array"),
        (b'{"bomFormat": "CycloneDX"}', "there is no spdxVersion"),
        (b'{"spdxVersion": "SPDX-1.2"}', "spdxVersion is 'SPDX-1.2'"),
        (b'{"spdxVersion": "SPDX-2.3", "packages": {}}', "expected an array at packages"),
        (b'{"spdxVersion": "SPDX-2.3", "packages": ["p"]}', "packages[0], found a string"),
        (b'{"spdxVersion": "SPDX-2.3", "packages": ' + b"[" * 1500 + b"]" * 1500 + b"}", "not valid JSON"),
        (b'{"spdxVersion": "SPDX-2.3", "name": "\xed\xa0\x80"}', "UTF-8"),
    ],
)
def test_hostile_input_fails_clearly(data: bytes, message: str) -> None:
    with pytest.raises(ImportFailed, match="SPDX") as info:
        list(spdx.parse(io.BytesIO(data)))
    assert message in str(info.value)


def test_wrong_types_and_legal_deep_nesting_do_not_crash() -> None:
    deep = "[" * 1000 + "]" * 1000
    document = (
        f'{{"spdxVersion": "SPDX-2.3", "name": {deep}, "packages": [{{"name": {deep}, "externalRefs": '
        f'[5, {deep}, {{"referenceCategory": "SECURITY", "referenceType": "advisory", '
        f'"referenceLocator": "CVE-2020-1234", "comment": {deep}}}]}}]}}'
    )
    (record,) = spdx.parse(io.BytesIO(document.encode()))
    assert (record.rule_id, record.package, record.target) == ("CVE-2020-1234", "", "")


def test_long_fields_are_bounded() -> None:
    package = {
        "name": "n" * 100_000,
        "versionInfo": "v" * 100_000,
        "externalRefs": [security_ref("advisory", "CVE-2020-1234 " + "x" * 100_000)],
    }
    (record,) = parse_doc(package, name="t" * 100_000)
    assert all(len(v) <= 4000 for v in dataclasses.asdict(record).values() if isinstance(v, str))


def test_sniff() -> None:
    assert spdx.sniff(b'{\n  "SPDXID": "SPDXRef-DOCUMENT",\n  "spdxVersion": "SPDX-2.3",')
    assert spdx.sniff(b'{"SPDXID": "SPDXRef-DOCUMENT", "creationInfo": {}, "packages": [' + b" " * 70_000)
    assert not spdx.sniff(b'{"bomFormat": "CycloneDX", "specVersion": "1.5"}')
    assert not spdx.sniff(b"SPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\n")
    assert not spdx.sniff(b"\xff\xfe")


@needs_samples
def test_sniff_against_every_shared_sample() -> None:
    for path in sorted(SCANS.glob("*/*")):
        claimed = spdx.sniff(path.read_bytes()[: 64 * 1024])
        assert claimed == (path.parent.name == "spdx"), path
