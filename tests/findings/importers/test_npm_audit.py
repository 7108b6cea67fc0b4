"""npm audit importer: real npm 6 and npm 7+ samples, npm's error object, hostile input."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import os
from pathlib import Path

import orjson
import pytest

from findings.errors import ImportFailed
from findings.importers import npm_audit
from findings.importers.base import Category, FindingRecord, Severity

REPO_ROOT = Path(__file__).resolve().parents[3]
SCANS = Path(os.environ.get("HYGIENE_SHARED_DIR", REPO_ROOT.parent / "shared")) / "scans"
needs_samples = pytest.mark.skipif(not SCANS.is_dir(), reason=f"shared scan samples not found in {SCANS}")


def parse_file(name: str) -> list[FindingRecord]:
    with (SCANS / "npm-audit" / name).open("rb") as stream:
        return list(npm_audit.parse(stream))


def parse_bytes(data: bytes) -> list[FindingRecord]:
    return list(npm_audit.parse(io.BytesIO(data)))


@needs_samples
@pytest.mark.parametrize(
    ("name", "count"),
    [
        ("npm_audit__no_vuln.json", 0),
        ("npm_audit__one_vuln.json", 1),
        ("npm_audit_7_plus__no_vuln.json", 0),
        # debug carries two advisories; the string via "ms" is not an advisory of its own.
        ("npm_audit_7_plus__one_vuln.json", 2),
        # Only debug, semver and undici carry advisories; @vercel/fun, @vercel/node and vercel are
        # listed because they depend on them and would only repeat those three.
        ("many_vulns.json", 3),
    ],
)
def test_every_sample_yields_the_expected_records(name: str, count: int) -> None:
    records = parse_file(name)
    assert len(records) == count
    for record in records:
        assert record.category == Category.VULNERABILITY
        assert record.location == "package-lock.json"


@needs_samples
def test_npm6_fields() -> None:
    (record,) = parse_file("npm_audit__one_vuln.json")
    assert record.rule_id == "CVE-2017-16042"
    assert record.title == "Command Injection in growl"
    assert record.severity == Severity.CRITICAL
    assert (record.package, record.installed_version, record.fixed_version) == ("growl", "1.9.2", "1.10.2")
    assert record.published_at == dt.datetime(2016, 9, 6, 12, 49, 40, tzinfo=dt.UTC)
    assert record.url == "https://www.npmjs.com/advisories/146"
    assert "mocha-jenkins-reporter>mocha>growl" in record.description


@needs_samples
def test_npm7_fields() -> None:
    records = parse_file("npm_audit_7_plus__one_vuln.json")
    assert [(r.rule_id, r.severity, r.cvss) for r in records] == [
        ("GHSA-gxpj-cx7g-858c", Severity.MEDIUM, 5.3),
        ("GHSA-9vvw-cc9w-f27h", Severity.HIGH, 7.5),
    ]
    assert all(r.package == "debug" for r in records)
    assert records[1].title == "debug Inefficient Regular Expression Complexity vulnerability"
    # The fix upgrades express, not debug itself: no fixed version for debug, but the advice is kept.
    assert records[0].fixed_version == ""
    assert "upgrade express to 4.18.3" in records[0].description


@needs_samples
def test_npm7_many() -> None:
    records = parse_file("many_vulns.json")
    assert [(r.package, r.rule_id, r.severity) for r in records] == [
        ("debug", "GHSA-gxpj-cx7g-858c", Severity.MEDIUM),
        ("semver", "GHSA-c2qf-rxjj-qqgw", Severity.MEDIUM),
        ("undici", "GHSA-3787-6prv-h9w3", Severity.LOW),
    ]
    assert records[2].cvss == 3.9
    assert "node_modules/@vercel/fun/node_modules/semver" in records[1].description


@needs_samples
def test_npm_error_output_fails_with_npm_reason() -> None:
    # Not "no findings": the audit never ran, and a clean result would close open findings.
    with pytest.raises(ImportFailed) as info:
        parse_file("empty_with_error.json")
    message = str(info.value)
    assert "ENOAUDIT" in message
    assert "may not support audit requests" in message


def test_fixed_version_from_a_v7_fix_of_the_package_itself() -> None:
    report = {
        "auditReportVersion": 2,
        "vulnerabilities": {
            "lodash": {
                "name": "lodash",
                "via": [
                    {
                        "source": 1,
                        "name": "lodash",
                        "url": "https://github.com/advisories/GHSA-p6mc-m468-83gw",
                    }
                ],
                "fixAvailable": {"name": "lodash", "version": "4.17.21", "isSemVerMajor": False},
            }
        },
    }
    (record,) = parse_bytes(orjson.dumps(report))
    assert (record.rule_id, record.fixed_version, record.severity) == (
        "GHSA-p6mc-m468-83gw",
        "4.17.21",
        "info",
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b'{"auditReportVersion": 2, "vulnerabilities": {', "not valid JSON"),
        (b"[]", "expected an object at the top level, found an array"),
        (b'{"runs": []}', "does not look like npm audit"),
        (b'{"vulnerabilities": []}', "expected an object at vulnerabilities, found an array"),
        (b'{"vulnerabilities": {"a": 1}}', "vulnerabilities['a']"),
        (b'{"advisories": "x"}', "advisories"),
        (b'{"advisories": {"1": []}}', "advisories['1']"),
        (b'{"vulnerabilities": {"a": {"via": [{"title": "t"}]}}}', "neither a GHSA url nor a source id"),
        (b'{"error": "boom"}', "boom"),
        (b"{" * 2000, "not valid JSON"),
        (b'{"vulnerabilities": {"\xff": {}}}', "UTF-8"),
    ],
)
def test_hostile_input_fails_clearly(data: bytes, message: str) -> None:
    with pytest.raises(ImportFailed, match="npm audit") as info:
        parse_bytes(data)
    assert message in str(info.value)


def test_wrong_field_types_do_not_crash() -> None:
    report = {
        "vulnerabilities": {
            "x": {
                "name": ["x"],
                "nodes": "n",
                "fixAvailable": [1],
                "via": [
                    {"source": 7, "title": {"a": 1}, "cvss": [], "severity": 3, "cwe": "CWE-1", "range": {}}
                ],
            }
        }
    }
    (record,) = parse_bytes(orjson.dumps(report))
    assert (record.rule_id, record.package, record.cvss) == ("npm-advisory-7", "x", None)
    v6 = {"advisories": {"9": {"findings": "x", "cves": "CVE-1", "cvss": {"score": "nan"}, "created": 5}}}
    (record,) = parse_bytes(orjson.dumps(v6))
    assert record.rule_id == "npm-advisory-9"


def test_long_fields_are_bounded() -> None:
    via = {"source": 1, "title": "t" * 100_000, "url": "u" * 100_000, "range": "r" * 100_000}
    report = {"vulnerabilities": {"p" * 100_000: {"via": [via], "nodes": ["n" * 100_000] * 50}}}
    (record,) = parse_bytes(orjson.dumps(report))
    assert all(len(v) <= 4000 for v in dataclasses.asdict(record).values() if isinstance(v, str))


def test_sniff() -> None:
    assert npm_audit.sniff(b'{\n  "auditReportVersion": 2,\n  "vulnerabilities": {')
    assert npm_audit.sniff(b'{"actions": [], "advisories": {}, "muted": []}')
    assert npm_audit.sniff(b'{\n  "actions": [\n {"action": "install", "module": "m", "resolves": [')
    assert npm_audit.sniff(b'{\n  "error": {\n    "code": "ENOLOCK",\n    "summary": "no lockfile"')
    assert not npm_audit.sniff(b'{"error": "x", "code": 1, "summary": 2}')
    assert not npm_audit.sniff(b"[]")
    assert not npm_audit.sniff(b"\xff\xfe")


@needs_samples
def test_sniff_against_every_shared_sample() -> None:
    for path in sorted(SCANS.glob("*/*")):
        claimed = npm_audit.sniff(path.read_bytes()[: 64 * 1024])
        assert claimed == (path.parent.name == "npm-audit"), path
