"""SARIF importer: CodeQL, Semgrep, Bandit, gitleaks, Trivy and Checkov logs; key order; hostile input."""

from __future__ import annotations

import dataclasses
import io
import os
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from findings.errors import ImportFailed
from findings.importers import jsonstream, sarif
from findings.importers.base import Category, FindingRecord, Severity
from findings.services.ingest import fingerprint

REPO_ROOT = Path(__file__).resolve().parents[3]
SCANS = Path(os.environ.get("HYGIENE_SHARED_DIR", REPO_ROOT.parent / "shared")) / "scans"
needs_samples = pytest.mark.skipif(not SCANS.is_dir(), reason=f"shared scan samples not found in {SCANS}")


def parse_file(name: str) -> list[FindingRecord]:
    with (SCANS / "sarif" / name).open("rb") as stream:
        return list(sarif.parse(stream))


def parse_bytes(data: bytes) -> list[FindingRecord]:
    return list(sarif.parse(io.BytesIO(data)))


def log(*runs: dict[str, Any]) -> bytes:
    return orjson.dumps({"version": "2.1.0", "runs": list(runs)})


class OneWayStream(io.RawIOBase):
    """An upload that cannot seek (a pipe, a request body)."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buffer: Any) -> int:
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


@needs_samples
@pytest.mark.parametrize(
    ("name", "count", "category"),
    [
        ("codeQL-output.sarif", 72, Category.CODE_WEAKNESS),
        ("issue_10191.json", 77, Category.CODE_WEAKNESS),
        ("gitleaks_7.5.0.sarif", 8, Category.SECRET),
        ("no_runs.sarif", 0, None),
        ("bandit-report.sarif", 3, Category.CODE_WEAKNESS),
        ("alpine-310.sarif.golden", 4, Category.VULNERABILITY),
        ("results.sarif", 12, Category.MISCONFIGURATION),
    ],
)
def test_sample_counts_categories_and_distinct_fingerprints(
    name: str, count: int, category: str | None
) -> None:
    records = parse_file(name)
    assert len(records) == count
    assert {r.category for r in records} <= {category}
    assert len({(r.category, r.rule_id, r.package, r.location) for r in records}) == count


@needs_samples
def test_codeql_rules_give_title_and_severity() -> None:
    records = parse_file("codeQL-output.sarif")
    first = records[0]
    assert (first.rule_id, first.title, first.location) == (
        "py/empty-except",
        "Empty except",
        "good/db_init.py:39",
    )
    assert first.severity == Severity.LOW  # the rule's default level is "note"
    assert first.description.startswith("'except' clause does nothing but pass")
    wrong_argument = next(r for r in records if r.rule_id == "py/call/wrong-named-argument")
    assert (wrong_argument.severity, wrong_argument.location) == (Severity.HIGH, "good/mod_user.py:33")


@needs_samples
def test_semgrep_results_before_the_tool_still_get_their_rules() -> None:
    # Semgrep sorts keys: "results" comes before "tool" in each run.
    records = parse_file("issue_10191.json")
    first = records[0]
    assert first.rule_id.endswith("javascript_pathtraversal_rule-non-literal-fs-filename")
    assert first.title == "Improper limitation of a pathname to a restricted directory ('Path Traversal')"
    assert (first.location, first.severity) == ("Gruntfile.js:75", Severity.MEDIUM)
    nosql = next(r for r in records if r.rule_id.endswith("rule-node-nosqli-injection"))
    assert (nosql.severity, nosql.location) == (Severity.CRITICAL, "routes/address.ts:18")


@needs_samples
def test_gitleaks_sarif_keeps_commits_apart_and_never_the_secret() -> None:
    records = parse_file("gitleaks_7.5.0.sarif")
    first = records[0]
    assert (first.rule_id, first.severity) == ("AWS Access Key", Severity.HIGH)
    assert first.location == (
        "dojo/unittests/scans/gitlab_secret_detection_report/gitlab_secret_detection_report_1_vuln.json:13"
        "@6d127980966808f7413935678e079dcd7fedf9c2"
    )
    assert {r.rule_id for r in records} == {"AWS Access Key", "Asymmetric Private Key"}
    for record in records:
        for value in dataclasses.astuple(record):
            assert "AKIAIOSFODNN7EXAMPLE" not in str(value)
            assert "BEGIN OPENSSH PRIVATE KEY" not in str(value)


@needs_samples
def test_trivy_sarif_reads_the_package_from_the_message() -> None:
    records = parse_file("alpine-310.sarif.golden")
    assert [(r.rule_id, r.package, r.installed_version, r.fixed_version) for r in records] == [
        ("CVE-2019-1549", "libcrypto1.1", "1.1.1c-r0", "1.1.1d-r0"),
        ("CVE-2019-1551", "libcrypto1.1", "1.1.1c-r0", "1.1.1d-r2"),
        ("CVE-2019-1549", "libssl1.1", "1.1.1c-r0", "1.1.1d-r0"),
        ("CVE-2019-1551", "libssl1.1", "1.1.1c-r0", "1.1.1d-r2"),
    ]
    first = records[0]
    assert first.title == "openssl: information disclosure in fork()"
    assert (first.severity, first.cvss) == (Severity.MEDIUM, 5.3)
    # run.properties.imageName comes after the results; the two-pass read still finds it.
    assert first.target == "testdata/fixtures/images/alpine-310.tar.gz"
    assert first.url == "https://avd.aquasec.com/nvd/cve-2019-1549"


@needs_samples
def test_checkov_sarif_without_a_tool_object() -> None:
    records = parse_file("results.sarif")
    first = records[0]
    assert (first.rule_id, first.severity, first.location) == (
        "CKV_OPENAPI_4",
        Severity.HIGH,
        "v2/swagger_empty_paths.yaml:2",
    )
    assert first.title == "Ensure that the global security field has rules defined"


@needs_samples
def test_bandit_sarif_uses_bandit_severity() -> None:
    records = parse_file("bandit-report.sarif")
    assert [(r.rule_id, r.severity, r.location) for r in records] == [
        ("B104", Severity.MEDIUM, "src/config/schemas/server_schema.py:45"),
        ("B104", Severity.MEDIUM, "src/config/schemas/server_schema.py:68"),
        ("B110", Severity.LOW, "src/domain/base/decorators.py:55"),
    ]


@needs_samples
def test_a_stream_that_cannot_seek_is_read_too() -> None:
    data = (SCANS / "sarif" / "issue_10191.json").read_bytes()
    assert list(sarif.parse(io.BufferedReader(OneWayStream(data)))) == parse_file("issue_10191.json")


def test_results_resolve_rules_by_index_id_and_extension() -> None:
    tool = {
        "driver": {"name": "CodeQL", "rules": [{"id": "a", "shortDescription": {"text": "Rule A"}}]},
        "extensions": [{"name": "pack", "rules": [{"id": "b", "properties": {"security-severity": "9.1"}}]}],
    }
    results = [
        {"ruleId": "a", "ruleIndex": 0, "message": {"text": "m"}},
        {"rule": {"id": "b", "index": 0, "toolComponent": {"index": 0}}, "message": {"text": "n"}},
        {"ruleId": "c", "level": "note", "message": {"text": "unknown rule"}},
    ]
    a, b, c = parse_bytes(log({"tool": tool, "results": results}))
    assert (a.rule_id, a.title, a.severity) == ("a", "Rule A", Severity.MEDIUM)  # SARIF's default level
    assert (b.rule_id, b.severity, b.cvss) == ("b", Severity.CRITICAL, 9.1)
    assert (c.rule_id, c.title, c.severity) == ("c", "unknown rule", Severity.LOW)


def test_passing_suppressed_and_absent_results_are_not_findings() -> None:
    results = [
        {"ruleId": "a", "kind": "pass"},
        {"ruleId": "a", "suppressions": [{"kind": "inSource"}]},
        {"ruleId": "a", "baselineState": "absent"},
        {
            "ruleId": "a",
            "suppressions": [{"kind": "external", "status": "rejected"}],
            "message": {"text": "x"},
        },
    ]
    (record,) = parse_bytes(log({"tool": {"driver": {"name": "x"}}, "results": results}))
    assert record.title == "x"


def test_target_from_version_control_provenance() -> None:
    run = {
        "results": [
            {"ruleId": "r", "locations": [{"physicalLocation": {"artifactLocation": {"uri": ".\\a.py"}}}]}
        ],
        "versionControlProvenance": [{"repositoryUri": "https://git.example.com/team/app"}],
    }
    (record,) = parse_bytes(log(run))
    assert (record.target, record.location) == ("https://git.example.com/team/app", "a.py")


@pytest.mark.parametrize(
    "data", [b"", b'{"version": "2.1.0", "runs": []}', log({"tool": {}}), log({"results": None})]
)
def test_empty_logs_have_no_records(data: bytes) -> None:
    assert parse_bytes(data) == []


@needs_samples
@pytest.mark.parametrize("cut", [10, 1000, 50_000, 250_000])
def test_truncated_log_fails_with_a_position(cut: int) -> None:
    data = (SCANS / "sarif" / "issue_10191.json").read_bytes()[:cut]
    with pytest.raises(ImportFailed) as failure:
        parse_bytes(data)
    assert str(failure.value).startswith("SARIF 2.1.0:")
    assert "byte" in str(failure.value)


@needs_samples
def test_a_trivy_json_report_is_refused() -> None:
    with pytest.raises(ImportFailed) as failure:
        parse_bytes((SCANS / "trivy" / "scheme_2_many_vulns.json").read_bytes())
    assert "SARIF 2.1.0" in str(failure.value) and "SchemaVersion" in str(failure.value)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b'{"runs": [' + b"[" * 100_000, "runs[0] should be an object"),
        (b'{"runs": [{"results": [' + b'{"a":' * 100_000, "nested too deeply"),
        (b'{"runs": [{"tool": ' + b'{"a":' * 100_000, "nested too deeply"),
        (b'{"runs": [{"results": [{"ruleId": "a", "x": ' + b"[" * 100_000, "nested too deeply"),
        (b'{"runs": [{"results": [{"ruleId": "\xff"}]}]}', "UTF-8"),
        (log({"results": [{"message": {}}]}), "names no rule"),
        (log({"results": [{"ruleId": "a", "locations": "here"}]}), "unexpected value"),
        (log({"results": [1, 2]}), "unexpected value"),
        (b"[1, 2]", "expected a SARIF log"),
        (b'{"runs": 1}', "runs should be an array"),
    ],
)
def test_hostile_logs_fail_with_the_format_and_the_problem(data: bytes, fragment: str) -> None:
    with pytest.raises(ImportFailed) as failure:
        parse_bytes(data)
    assert str(failure.value).startswith("SARIF 2.1.0:")
    assert fragment in str(failure.value)


def test_generated_log_streams_in_small_windows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sys.path.insert(0, str(REPO_ROOT))
    from bench.scan_samples import write_sarif

    path = tmp_path / "log.sarif"
    assert write_sarif(path, 500, seed=5) == 500
    with path.open("rb") as stream:
        expected = list(sarif.parse(stream))
    assert len(expected) == 500
    assert len({(r.rule_id, r.location) for r in expected}) == 500
    assert {r.target for r in expected} == {"https://git.example.com/team/app"}
    monkeypatch.setattr(jsonstream, "_CHUNK", 3000)
    monkeypatch.setattr(jsonstream, "_MAX_WINDOW", 4000)
    monkeypatch.setattr(jsonstream, "_MIN_WINDOW", 1500)
    with path.open("rb") as stream:
        assert list(sarif.parse(stream)) == expected


DATA = REPO_ROOT / "tests" / "findings" / "data" / "sarif"


def parse_data(name: str) -> list[FindingRecord]:
    with (DATA / name).open("rb") as stream:
        return list(sarif.parse(stream))


def result(rule: str, line: int, text: str, **extra: Any) -> dict[str, Any]:
    where = {"physicalLocation": {"artifactLocation": {"uri": "src/train.py"}, "region": {"startLine": line}}}
    return {"ruleId": rule, "message": {"text": text}, "locations": [where], **extra}


def run_of(*results: dict[str, Any]) -> dict[str, Any]:
    return {"tool": {"driver": {"name": "CodeQL"}}, "results": list(results)}


def test_two_results_of_one_rule_on_one_line_with_different_messages_are_two_findings() -> None:
    # ruff 0.17.6: `import os, sys` and `loss = 0; steps = 1` each give one rule twice on one line.
    records = parse_data("ruff-0.17.6-same-line.sarif")

    assert [(r.rule_id, r.location.rsplit(":", 1)[1]) for r in records] == [
        ("F401", "1"),
        ("F401", "1"),
        ("F841", "5"),
        ("F841", "5"),
    ]
    assert len({fingerprint(r) for r in records}) == 4


def test_a_multi_run_log_keeps_same_line_results_apart_in_each_run() -> None:
    records = parse_data("ruff-0.17.6-two-runs.sarif")

    assert len(records) == 4
    assert len({fingerprint(r) for r in records}) == 4


def test_results_in_different_runs_are_apart_when_their_messages_differ_and_one_when_they_match() -> None:
    cycle_a = result("py/cyclic-import", 3, "Import of module a begins an import cycle.")
    cycle_b = result("py/cyclic-import", 3, "Import of module b begins an import cycle.")

    apart = parse_bytes(log(run_of(cycle_a), run_of(cycle_b)))
    same = parse_bytes(log(run_of(cycle_a), run_of(dict(cycle_a))))

    assert len({fingerprint(r) for r in apart}) == 2
    assert len({fingerprint(r) for r in same}) == 1


def test_results_with_one_message_but_different_partial_fingerprints_are_two_findings() -> None:
    first = result("py/unused-local-variable", 7, "Variable x is not used.")
    second = dict(first, partialFingerprints={"primaryLocationLineHash": "39fa2ee980eb94b0:2"})
    first["partialFingerprints"] = {"primaryLocationLineHash": "39fa2ee980eb94b0:1"}

    records = parse_bytes(log(run_of(first, second)))

    assert len({fingerprint(r) for r in records}) == 2


def test_a_vulnerability_message_is_not_part_of_its_identity() -> None:
    # Trivy's message gains a fixed version when the advisory does: still the same finding.
    rules = [{"id": "CVE-2024-1", "properties": {"tags": ["vulnerability"]}}]
    before = "Package: libfoo\nInstalled Version: 1.0\nFixed Version: \n"
    after = "Package: libfoo\nInstalled Version: 1.0\nFixed Version: 1.1\n"
    runs = [
        {"tool": {"driver": {"name": "Trivy", "rules": rules}}, "results": [result("CVE-2024-1", 1, text)]}
        for text in (before, after)
    ]

    records = [parse_bytes(log(run))[0] for run in runs]

    assert records[0].category == Category.VULNERABILITY
    assert fingerprint(records[0]) == fingerprint(records[1])
