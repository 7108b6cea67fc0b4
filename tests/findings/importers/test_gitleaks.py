"""Gitleaks importer: real v7/v8 samples, empty reports, hostile input, and no secret ever stored."""

from __future__ import annotations

import dataclasses
import io
import os
from pathlib import Path

import orjson
import pytest

from findings.errors import ImportFailed
from findings.importers import gitleaks
from findings.importers.base import Category, FindingRecord, Severity

REPO_ROOT = Path(__file__).resolve().parents[3]
SCANS = Path(os.environ.get("HYGIENE_SHARED_DIR", REPO_ROOT.parent / "shared")) / "scans"
needs_samples = pytest.mark.skipif(not SCANS.is_dir(), reason=f"shared scan samples not found in {SCANS}")


def parse_file(name: str) -> list[FindingRecord]:
    with (SCANS / "gitleaks" / name).open("rb") as stream:
        return list(gitleaks.parse(stream))


def parse_bytes(data: bytes) -> list[FindingRecord]:
    return list(gitleaks.parse(io.BytesIO(data)))


def string_fields(record: FindingRecord) -> list[str]:
    return [value for value in dataclasses.asdict(record).values() if isinstance(value, str)]


def secrets_in(name: str) -> set[str]:
    """Every secret value the sample carries: v7 offender, v8 Secret (redaction placeholders aside)."""
    document = orjson.loads((SCANS / "gitleaks" / name).read_bytes()) or []
    values = {str(leak.get("offender") or leak.get("Secret") or "") for leak in document}
    return {value for value in values if value and value != "REDACTED"}


@needs_samples
@pytest.mark.parametrize(
    ("name", "count"),
    [
        ("no_findings.json", 0),
        ("data_one.json", 1),
        ("version_7.5.0.json", 8),
        ("redacted_data_many.json", 6),
        ("gitleaks8_many.json", 4),
    ],
)
def test_every_sample_yields_the_expected_records(name: str, count: int) -> None:
    records = parse_file(name)
    assert len(records) == count
    for record in records:
        assert record.category == Category.SECRET
        assert record.severity == Severity.HIGH
        assert record.rule_id and record.title and record.location


@needs_samples
def test_v7_fields() -> None:
    (record,) = parse_file("data_one.json")
    assert record.rule_id == "Asymmetric Private Key"
    assert record.title == "Asymmetric Private Key in cert-key.pem"
    # No lineNumber in this early v7 output: the file and commit still pin the finding.
    assert record.location == "cert-key.pem@9afb561b348d59eceb6dc82c0061fb07bee09f7b"
    assert record.target == ""  # repo "." names nothing
    assert "John Doe" in record.description
    assert "saving my cert" in record.description


@needs_samples
def test_v7_5_fields_and_distinct_locations() -> None:
    records = parse_file("version_7.5.0.json")
    first = records[0]
    assert first.rule_id == "AWS Access Key"
    assert first.location == (
        "dojo/unittests/scans/gitlab_secret_detection_report/gitlab_secret_detection_report_1_vuln.json"
        ":13@6d127980966808f7413935678e079dcd7fedf9c2"
    )
    assert "AKIA…[redacted, 20 chars]" in first.description
    # The same key in the same file in two commits is two findings in git history.
    assert len({(r.rule_id, r.location) for r in records}) == 8


@needs_samples
def test_redacted_report_keeps_context_without_secret() -> None:
    records = parse_file("redacted_data_many.json")
    assert (
        records[0].location
        == "overlays/server/config/server-config.yml:224@b13740279fb0145e4dce1d5bae6dfcc08a7767bb"
    )
    assert records[0].rule_id == "AWS Access Key"
    assert "Secret: [redacted]" in records[0].description
    assert {r.location for r in records} == {
        "overlays/server/config/server-config.yml:224@b13740279fb0145e4dce1d5bae6dfcc08a7767bb",
        "terraform/terraform.tfstate:2221@1b21e5f0c99fb71e2c1baa619c8816ee0ef58ed1",
        "terraform/terraform.tfstate.backup:1025@fd35c04adafe3ae8ff7c78951440ca95f14b0d48",
        "terraform/terraform.tfstate.backup:1089@fd35c04adafe3ae8ff7c78951440ca95f14b0d48",
        "terraform/terraform.tfstate.backup:1121@fd35c04adafe3ae8ff7c78951440ca95f14b0d48",
        "terraform/terraform.tfstate.backup:1339@fd35c04adafe3ae8ff7c78951440ca95f14b0d48",
    }


@needs_samples
def test_v8_fields() -> None:
    records = parse_file("gitleaks8_many.json")
    assert [r.rule_id for r in records] == [
        "aws-access-token",
        "aws-access-token",
        "RSA-PK",
        "generic-api-key",
    ]
    assert records[0].title == "AWS in /conf/aws.tf"
    assert (
        records[0].location
        == "/conf/aws.tf:2@74d53286c550630f80847d37f68aa3065554ac813544072ccd1278da71fafe31"
    )
    # Scanned without git history: no commit in the location.
    assert records[2].location == "conf/rsa.pk:57"
    assert "Tags: tag1, tag2" in records[2].description
    # The match keeps its context, with the secret replaced.
    assert 'Match: apikey = "dfjk…[redacted, 24 chars]"' in records[3].description


@needs_samples
@pytest.mark.parametrize(
    "name", ["data_one.json", "version_7.5.0.json", "redacted_data_many.json", "gitleaks8_many.json"]
)
def test_no_secret_from_any_sample_is_stored(name: str) -> None:
    secrets = secrets_in(name)
    assert secrets or name == "redacted_data_many.json"
    for record in parse_file(name):
        for value in string_fields(record):
            for secret in secrets:
                assert secret not in value


def test_secret_is_scrubbed_from_every_field_it_leaks_into() -> None:
    secret = "ghp_R3allyS3cretT0kenValue0123456789"
    leak = {
        "Description": f"token {secret}",
        "StartLine": 3,
        "Match": f"token = '{secret}'",
        "Secret": secret,
        "File": f"conf/{secret}.env",
        "Commit": "abc123",
        "Author": secret,
        "Message": f"add {secret}",
        "Tags": [secret],
        "RuleID": f"rule-{secret}",
        "Link": f"https://github.com/o/r/blob/abc123/conf/{secret}.env#L3",
    }
    (record,) = parse_bytes(orjson.dumps([leak]))
    for value in string_fields(record):
        assert secret not in value
    assert record.target == "https://github.com/o/r"


def test_multiline_secret_fragments_are_scrubbed() -> None:
    body = "MIIEowIBAAKCAQEAx9fJ3kQ0Zz1y2w3v4u5t6s7r8q9p0o"
    secret = f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----"
    leak = {"rule": "RSA", "offender": secret, "line": body, "file": "id_rsa", "lineNumber": 2}
    (record,) = parse_bytes(orjson.dumps([leak]))
    assert all(body not in value for value in string_fields(record))


@pytest.mark.parametrize("data", [b"null", b"null\n", b"[]", b" [ ] "])
def test_empty_reports_yield_nothing(data: bytes) -> None:
    assert parse_bytes(data) == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b'[{"rule": "x", "offender": "y"', "not valid JSON"),
        (b'{"runs": []}', "expected a JSON array"),
        (b"[1, 2]", "finding [0]"),
        (b'[["rule"]]', "expected an object at finding [0], found an array"),
        (b'[{"foo": 1}]', "neither gitleaks v8 keys"),
        (b"[" * 5000 + b"]" * 5000, "not valid JSON"),
        (b'[{"rule": "\xff\xfe"}]', "UTF-8"),
    ],
)
def test_hostile_input_fails_clearly(data: bytes, message: str) -> None:
    with pytest.raises(ImportFailed, match="Gitleaks") as info:
        parse_bytes(data)
    assert message.lower() in str(info.value).lower()


def test_wrong_field_types_do_not_crash() -> None:
    leak = {"RuleID": ["x"], "Secret": {"a": 1}, "File": 7, "StartLine": "x", "Tags": "t", "Commit": None}
    (record,) = parse_bytes(orjson.dumps([leak]))
    assert record.rule_id == "gitleaks"
    assert record.location == "7:x"


def test_long_fields_are_bounded() -> None:
    leak = {"RuleID": "r" * 10_000, "Secret": "s" * 50, "File": "f" * 10_000, "Message": "m" * 100_000}
    (record,) = parse_bytes(orjson.dumps([leak]))
    assert all(len(value) <= 4000 for value in string_fields(record))


def test_deep_but_legal_nesting_in_a_field_does_not_crash() -> None:
    deep = b"[" * 1000 + b"]" * 1000
    (record,) = parse_bytes(b'[{"RuleID": "r", "Secret": "abcd", "Tags": ' + deep + b"}]")
    assert record.rule_id == "r"


def test_sniff_claims_only_gitleaks_reports() -> None:
    assert gitleaks.sniff(b'[\n {\n  "Description": "AWS",\n  "StartLine": 2, "RuleID": "aws"')
    assert gitleaks.sniff(b'[{"line": "x", "offender": "y", "rule": "AWS"}]')
    assert gitleaks.sniff(
        b'[{"RuleID": "aws", "Description": "x", "StartLine": 2, "Match": "' + b"x" * 70_000
    )
    assert not gitleaks.sniff(b"null")
    assert not gitleaks.sniff(b"[]")
    assert not gitleaks.sniff(b'{"runs": [{"rule": "x", "offender": "y"}]}')
    assert not gitleaks.sniff(b"\xff\xfe\x00")


@needs_samples
def test_sniff_against_every_shared_sample() -> None:
    for path in sorted(SCANS.glob("*/*")):
        claimed = gitleaks.sniff(path.read_bytes()[: 64 * 1024])
        expected = path.parent.name == "gitleaks" and path.name != "no_findings.json"
        assert claimed == expected, path
