"""TruffleHog importer: real v2/v3 samples, empty output, hostile input, and no secret ever stored."""

from __future__ import annotations

import base64
import dataclasses
import io
import os
import re
from pathlib import Path

import orjson
import pytest

from findings.errors import ImportFailed
from findings.importers import trufflehog
from findings.importers.base import Category, FindingRecord, Severity

REPO_ROOT = Path(__file__).resolve().parents[3]
SCANS = Path(os.environ.get("HYGIENE_SHARED_DIR", REPO_ROOT.parent / "shared")) / "scans"
needs_samples = pytest.mark.skipif(not SCANS.is_dir(), reason=f"shared scan samples not found in {SCANS}")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def parse_file(name: str) -> list[FindingRecord]:
    with (SCANS / "trufflehog" / name).open("rb") as stream:
        return list(trufflehog.parse(stream))


def parse_bytes(data: bytes) -> list[FindingRecord]:
    return list(trufflehog.parse(io.BytesIO(data)))


def string_fields(record: FindingRecord) -> list[str]:
    return [value for value in dataclasses.asdict(record).values() if isinstance(value, str)]


def secrets_in(name: str) -> set[str]:
    """Every secret the sample carries, decoded, plus each line of multi-line ones (PEM bodies)."""
    found: set[str] = set()
    for line in (SCANS / "trufflehog" / name).read_bytes().splitlines():
        item = orjson.loads(line)
        if "Raw" in item:
            found.add(item["Raw"])
            found.add(base64.b64decode(item["Raw"]).decode())
        for value in item.get("stringsFound", []):
            found.add(value)
        if item.get("printDiff"):
            found.add(ANSI.sub("", item["printDiff"]))
    fragments = {part.strip() for value in found for part in value.splitlines() if len(part.strip()) >= 8}
    return {value for value in found | fragments if value}


@needs_samples
@pytest.mark.parametrize(
    ("name", "count"), [("v3_git.json", 4), ("v3_github.json", 4), ("v2_many_vulns.json", 64)]
)
def test_every_sample_yields_the_expected_records(name: str, count: int) -> None:
    records = parse_file(name)
    assert len(records) == count
    assert all(record.category == Category.SECRET for record in records)


@needs_samples
def test_v3_git_fields() -> None:
    records = parse_file("v3_git.json")
    assert [r.rule_id for r in records] == ["AWS", "URI", "PrivateKey", "URI"]
    first = records[0]
    # Verified live credentials are the most urgent kind of secret.
    assert first.severity == Severity.CRITICAL
    assert first.location == "keys:4@fbc14303ffbf8fb1c2c1914e8dda7d0121633aca"
    assert first.target == "https://github.com/trufflesecurity/test_keys"
    assert first.title == "AWS secret in keys"
    assert "AKIA…[redacted, 20 chars]" in first.description
    # TruffleHog printed the URI finding twice; both lines become records with one identity.
    assert (records[1].rule_id, records[1].location) == (records[3].rule_id, records[3].location)


@needs_samples
def test_v3_github_fields() -> None:
    records = parse_file("v3_github.json")
    assert records[2].rule_id == "PrivateKey"
    assert records[2].location == "keys:1@77b2a3e56973785a52ba4ae4b8dac61d4bac016f"
    # The ".git" suffix is dropped so the target matches the repository however it was cloned.
    assert records[2].target == "https://github.com/trufflesecurity/test_keys"
    assert records[2].url == (
        "https://github.com/trufflesecurity/test_keys/blob/77b2a3e56973785a52ba4ae4b8dac61d4bac016f/keys"
    )


@needs_samples
def test_v2_fields() -> None:
    records = parse_file("v2_many_vulns.json")
    first = records[0]
    assert first.rule_id == "Generic Secret"
    assert first.severity == Severity.HIGH
    assert first.location == "test_all.py@288f35ed2e73145e3578207e896a4cf1600bea45"
    assert "Branch: origin/dev" in first.description
    assert "Commit message: Fixed since_commit and tests (#219)" in first.description
    # The last line repeats a commit reached from another branch: same identity, not a new finding.
    assert (records[-1].rule_id, records[-1].location) == (
        "SSH (EC) private key",
        "testRules.json@5717db6fa94ea13244edfa37f9f62d1856db8aca",
    )
    assert len({(r.rule_id, r.location) for r in records}) == 63


@needs_samples
@pytest.mark.parametrize("name", ["v3_git.json", "v3_github.json", "v2_many_vulns.json"])
def test_no_secret_from_any_sample_is_stored(name: str) -> None:
    secrets = secrets_in(name)
    assert secrets
    for record in parse_file(name):
        for value in string_fields(record):
            for secret in secrets:
                assert secret not in value, (secret[:12], value[:80])


def test_secret_is_scrubbed_from_every_field_it_leaks_into() -> None:
    secret = "sk_live_51HkT3stS3cretValue0123456789abcdef"
    item = {
        "SourceMetadata": {
            "Data": {"Filesystem": {"file": f"/app/{secret}.txt", "line": 2, "link": f"file:///{secret}"}}
        },
        "DetectorName": f"Stripe{secret}",
        "Verified": False,
        "Raw": base64.b64encode(secret.encode()).decode(),
        "Redacted": secret,
        "ExtraData": {"key": secret},
    }
    (record,) = parse_bytes(orjson.dumps(item))
    assert record.severity == Severity.HIGH
    for value in string_fields(record):
        assert secret not in value


def test_plain_text_raw_and_raw_v2_are_scrubbed() -> None:
    key_id, key = "AKIAEXAMPLEKEYID0000", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    item = {
        "SourceMetadata": {"Data": {"Git": {"file": key, "commit": "c1", "line": 1}}},
        "DetectorName": "AWS",
        "Raw": key_id,
        "RawV2": base64.b64encode((key_id + key).encode()).decode(),
    }
    (record,) = parse_bytes(orjson.dumps(item))
    assert all(key_id not in value and key not in value for value in string_fields(record))


def test_array_output_and_log_lines_are_accepted() -> None:
    item = {
        "SourceMetadata": {"Data": {"Git": {"file": "a", "line": 1}}},
        "DetectorName": "X",
        "Raw": "c2VjcmV0",
    }
    assert len(parse_bytes(orjson.dumps([item, item]))) == 2
    log = {"level": "info-0", "ts": "2024-01-01", "msg": "running source"}
    lines = orjson.dumps(log) + b"\n\n" + orjson.dumps(item) + b"\n"
    assert len(parse_bytes(lines)) == 1


@pytest.mark.parametrize("data", [b"", b"\n\n", b"[]"])
def test_empty_output_yields_nothing(data: bytes) -> None:
    # TruffleHog prints nothing at all when it finds nothing.
    assert parse_bytes(data) == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"SourceMetadata": {"Data": {', "line 1 is not valid JSON"),
        (b'{"DetectorName": "A", "Raw": ""}\n{"DetectorName": "B",\n', "line 2"),
        (b"[1]", "expected an object at entry 1"),
        (b'"text"', "line 1 is not a JSON object"),
        (b'{"runs": []}', "neither a v3 finding"),
        (b'[{"a": 1}', "not valid JSON"),
        (b'{"DetectorName": "\xff"}', "line 1"),
        (b'{"DetectorName": "A"}\n' + b"[" * 3000 + b"]" * 3000, "line 2"),
    ],
)
def test_hostile_input_fails_clearly(data: bytes, message: str) -> None:
    with pytest.raises(ImportFailed, match="TruffleHog") as info:
        parse_bytes(data)
    assert message in str(info.value)


def test_wrong_field_types_do_not_crash() -> None:
    item = {"SourceMetadata": ["x"], "DetectorName": {"a": 1}, "Raw": 5, "Verified": "yes", "DetectorType": 9}
    (record,) = parse_bytes(orjson.dumps(item))
    assert record.rule_id == "detector-9"
    assert record.severity == Severity.HIGH
    v2 = {"reason": ["x"], "stringsFound": "notalist", "commitHash": 1, "path": None, "commit": {"a": 1}}
    (record,) = parse_bytes(orjson.dumps(v2))
    assert (record.rule_id, record.location) == ("trufflehog", "@1")


def test_long_fields_are_bounded() -> None:
    item = {"reason": "r" * 10_000, "stringsFound": ["s" * 100_000], "path": "p" * 10_000, "commitHash": "c"}
    (record,) = parse_bytes(orjson.dumps(item))
    assert all(len(value) <= 4000 for value in string_fields(record))


def test_sniff_claims_only_trufflehog_output() -> None:
    assert trufflehog.sniff(b'{"SourceMetadata":{"Data":{}},"SourceID":0,"DetectorName":"AWS"}\n')
    assert trufflehog.sniff(b'{"branch": "origin/dev", "commit": "m", "commitHash": "abc", "diff": "')
    assert not trufflehog.sniff(b"")
    assert not trufflehog.sniff(b"null")
    assert not trufflehog.sniff(b"\x00\xff")


@needs_samples
def test_sniff_against_every_shared_sample() -> None:
    for path in sorted(SCANS.glob("*/*")):
        claimed = trufflehog.sniff(path.read_bytes()[: 64 * 1024])
        assert claimed == (path.parent.name == "trufflehog"), path
