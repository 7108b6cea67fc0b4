"""Dependabot importer: real REST and GraphQL exports, empty exports, closed alerts, hostile input."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import os
from pathlib import Path

import orjson
import pytest

from findings.errors import ImportFailed
from findings.importers import dependabot
from findings.importers.base import Category, FindingRecord, Severity

REPO_ROOT = Path(__file__).resolve().parents[3]
SCANS = Path(os.environ.get("HYGIENE_SHARED_DIR", REPO_ROOT.parent / "shared")) / "scans"
needs_samples = pytest.mark.skipif(not SCANS.is_dir(), reason=f"shared scan samples not found in {SCANS}")


def parse_file(name: str) -> list[FindingRecord]:
    with (SCANS / "dependabot" / name).open("rb") as stream:
        return list(dependabot.parse(stream))


def parse_bytes(data: bytes) -> list[FindingRecord]:
    return list(dependabot.parse(io.BytesIO(data)))


def rest_alert(**overrides: object) -> dict[str, object]:
    alert: dict[str, object] = {
        "number": 7,
        "state": "open",
        "dependency": {"package": {"ecosystem": "pip", "name": "django"}, "manifest_path": "uv.lock"},
        "security_advisory": {"ghsa_id": "GHSA-xxxx-xxxx-xxxx", "cve_id": None, "summary": "s"},
        "security_vulnerability": {"severity": "high", "first_patched_version": None},
        "html_url": "https://github.com/o/r/security/dependabot/7",
    }
    alert.update(overrides)
    return alert


@needs_samples
@pytest.mark.parametrize(
    ("name", "count"),
    [
        # 129 alerts: 98 open, 21 fixed, 10 auto-dismissed; only open alerts are current findings.
        ("psychomodels__dependabot-alerts.json", 98),
        ("dependabot_alerts.json", 76),
        ("greentic-flow__dependabot-alerts.json", 0),
        # GraphQL export whose only alert is FIXED.
        ("github_shiro.json", 0),
        ("github-0-vuln.json", 0),
    ],
)
def test_every_sample_yields_the_expected_records(name: str, count: int) -> None:
    records = parse_file(name)
    assert len(records) == count
    assert all(record.category == Category.VULNERABILITY for record in records)


@needs_samples
def test_rest_fields() -> None:
    records = parse_file("psychomodels__dependabot-alerts.json")
    first = records[0]
    assert first.rule_id == "GHSA-w5hq-g745-h8pq"
    assert first.title == "uuid: Missing buffer bounds check in v3/v5/v6 when buf is provided"
    assert (first.package, first.fixed_version, first.installed_version) == ("uuid", "11.1.1", "")
    assert first.severity == Severity.MEDIUM
    assert first.cvss == 7.5
    assert first.location == "yarn.lock (alert #136)"
    assert first.target == "https://github.com/PsychoModels/psychomodels"
    assert first.published_at == dt.datetime(2026, 4, 22, 20, 53, 24, tzinfo=dt.UTC)
    assert first.url == "https://github.com/PsychoModels/psychomodels/security/dependabot/136"
    assert first.description.startswith("CVE: CVE-2026-41907\nEcosystem: npm\nVulnerable versions: < 11.1.1")
    # Every open alert keeps its own identity, even for one advisory on one package in one manifest.
    assert len({(r.rule_id, r.package, r.location) for r in records}) == 98


@needs_samples
def test_rest_alerts_on_several_ranges_of_one_package_stay_distinct() -> None:
    records = parse_file("dependabot_alerts.json")
    minimatch = [
        r
        for r in records
        if r.rule_id == "GHSA-7r86-cg39-jmmj" and r.location.startswith("simplerllm_img_desktop_app/")
    ]
    assert sorted(r.fixed_version for r in minimatch) == ["3.1.3", "5.1.8", "9.0.7"]
    assert len({r.location for r in minimatch}) == 3
    assert records[0].rule_id == "GHSA-w7jw-789q-3m8p"
    assert records[0].severity == Severity.CRITICAL
    assert records[0].target == "https://github.com/hassancs91/SimplerLLM"


@needs_samples
def test_graphql_open_alert_fields() -> None:
    document = orjson.loads((SCANS / "dependabot" / "github_shiro.json").read_bytes())
    document["data"]["repository"]["vulnerabilityAlerts"]["nodes"][0]["state"] = "OPEN"
    (record,) = parse_bytes(orjson.dumps(document))
    assert record.rule_id == "GHSA-f6jp-j6w3-w9hm"
    assert record.package == "org.apache.shiro:shiro-core"
    assert record.severity == Severity.CRITICAL
    assert record.cvss == 9.8
    assert record.location == "apache/cxf/cxf-shiro/pom.xml"
    assert "CVE-2021-41303" in record.description
    assert record.url == "https://github.com/advisories/GHSA-f6jp-j6w3-w9hm"


def test_closed_alerts_are_skipped_and_missing_state_counts_as_open() -> None:
    alerts = [rest_alert(state=state, number=i) for i, state in enumerate(["fixed", "dismissed", "open"])]
    alerts.append({k: v for k, v in rest_alert(number=9).items() if k != "state"})
    assert [r.location for r in parse_bytes(orjson.dumps(alerts))] == [
        "uv.lock (alert #2)",
        "uv.lock (alert #9)",
    ]


def test_cve_only_advisory_and_zero_cvss() -> None:
    advisory = {"ghsa_id": None, "cve_id": "CVE-2024-1", "cvss": {"score": 0.0}, "severity": "low"}
    (record,) = parse_bytes(orjson.dumps([rest_alert(security_advisory=advisory, security_vulnerability={})]))
    assert (record.rule_id, record.cvss, record.severity) == ("CVE-2024-1", None, Severity.LOW)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b'[{"number": 1, "state": "open"', "not valid JSON"),
        (b'"alerts"', "expected a JSON array of alerts at the top level, found a string"),
        (b"[[]]", "expected an object at alert [0], found an array"),
        (b'[{"state": "open", "security_advisory": {}}]', "names no advisory"),
        (b'{"errors": [{"message": "Bad credentials"}]}', "Bad credentials"),
        (b'{"data": {"viewer": {}}}', "expected data.repository or data.search"),
        (b'{"data": {"repository": {"vulnerabilityAlerts": []}}}', "vulnerabilityAlerts, found an array"),
        (b'{"data": {"search": {"nodes": [3]}}}', "data.search.nodes[0]"),
        (b'{"data": []}', "expected an object at data"),
        (b"[" * 3000, "not valid JSON"),
        (b'[{"state": "\xc3"}]', "UTF-8"),
    ],
)
def test_hostile_input_fails_clearly(data: bytes, message: str) -> None:
    with pytest.raises(ImportFailed, match="Dependabot") as info:
        parse_bytes(data)
    assert message in str(info.value)


def test_wrong_field_types_do_not_crash() -> None:
    alert = rest_alert(
        dependency=[],
        security_vulnerability={"severity": ["high"], "first_patched_version": "1.0"},
        html_url=5,
        number={"a": 1},
    )
    (record,) = parse_bytes(orjson.dumps([alert]))
    assert (record.package, record.location, record.target) == ("", "", "")


def test_long_fields_are_bounded() -> None:
    advisory = {"ghsa_id": "GHSA-aaaa-bbbb-cccc", "summary": "s" * 100_000, "description": "d" * 100_000}
    alert = rest_alert(security_advisory=advisory, dependency={"manifest_path": "m" * 100_000})
    (record,) = parse_bytes(orjson.dumps([alert]))
    assert all(len(v) <= 4000 for v in dataclasses.asdict(record).values() if isinstance(v, str))
    assert record.rule_id == "GHSA-aaaa-bbbb-cccc"


def test_sniff() -> None:
    assert dependabot.sniff(b'[\n {\n  "number": 136, "dependency": {}, "security_advisory": {')
    assert dependabot.sniff(b'{"data": {"repository": {"vulnerabilityAlerts": {"nodes": []}}}}')
    # An empty list is also what pip-audit writes: not claimed.
    assert not dependabot.sniff(b"[]")
    assert not dependabot.sniff(b"\xff")


@needs_samples
def test_sniff_against_every_shared_sample() -> None:
    for path in sorted(SCANS.glob("*/*")):
        claimed = dependabot.sniff(path.read_bytes()[: 64 * 1024])
        expected = path.parent.name == "dependabot" and path.name != "greentic-flow__dependabot-alerts.json"
        assert claimed == expected, path
