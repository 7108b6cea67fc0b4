"""Checkov importer: single report, list of check types, summary-only output, hostile input."""

from __future__ import annotations

import io
import os
from pathlib import Path

import orjson
import pytest

from findings.errors import ImportFailed
from findings.importers import checkov, detect_format
from findings.importers.base import Category, FindingRecord, Severity

REPO_ROOT = Path(__file__).resolve().parents[3]
SCANS = Path(os.environ.get("HYGIENE_SHARED_DIR", REPO_ROOT.parent / "shared")) / "scans"
needs_samples = pytest.mark.skipif(not SCANS.is_dir(), reason=f"shared scan samples not found in {SCANS}")


def parse_file(name: str) -> list[FindingRecord]:
    with (SCANS / "checkov" / name).open("rb") as stream:
        return list(checkov.parse(stream))


DATA = REPO_ROOT / "tests" / "findings" / "data" / "checkov"


def parse_bytes(data: bytes) -> list[FindingRecord]:
    return list(checkov.parse(io.BytesIO(data)))


@needs_samples
@pytest.mark.parametrize(
    ("name", "count"),
    [
        ("checkov-report-0-vuln.json", 0),
        ("checkov2-report-0-vuln.json", 0),
        ("checkov-report-1-vuln.json", 1),
        ("checkov-report-many-vuln.json", 3),  # its summary says 2 failed; the list has 3
        ("checkov-report-multiple-check_type.json", 13),
        ("checkov-report-severity.json", 4),
    ],
)
def test_sample_counts(name: str, count: int) -> None:
    records = parse_file(name)
    assert len(records) == count
    assert len({(r.rule_id, r.location) for r in records}) == count
    assert all(r.category == Category.MISCONFIGURATION for r in records)


@needs_samples
def test_one_failed_check() -> None:
    (record,) = parse_file("checkov-report-1-vuln.json")
    assert (record.rule_id, record.title) == ("CKV_AZURE_42", "Ensure the key vault is recoverable")
    assert (record.severity, record.location) == (Severity.MEDIUM, "file_path:azurerm_key_vault.main")
    assert record.url == "https://docs.bridgecrew.io/docs/ensure-the-key-vault-is-recoverable"


@needs_samples
def test_list_of_check_types_and_platform_severity() -> None:
    records = parse_file("checkov-report-multiple-check_type.json")
    assert (records[0].rule_id, records[0].location) == (
        "CKV_AWS_161",
        "infra/terraform/aws/db-app.tf:aws_db_instance.default",
    )
    assert "Check type: dockerfile" in records[-1].description
    severities = [(r.rule_id, r.severity) for r in parse_file("checkov-report-severity.json")]
    assert severities[0] == ("CKV_GCP_29", Severity.MEDIUM)
    assert {s for _, s in severities} == {Severity.MEDIUM, Severity.LOW, Severity.HIGH}


def test_a_multi_framework_list_with_a_summary_only_entry_imports_the_reports_and_skips_the_summary() -> None:
    # Checkov 3.3.30's list for terraform and dockerfile, plus the summary it printed for secrets.
    data = (DATA / "checkov-3.3.30-frameworks-and-summary.json").read_bytes()

    records = parse_bytes(data)

    assert len(records) == 12
    assert {r.rule_id for r in records} >= {"CKV_DOCKER_2", "CKV_AWS_24", "CKV2_AWS_6"}
    assert ("infra/main.tf:aws_security_group.notebook", "CKV_AWS_24") in {
        (r.location, r.rule_id) for r in records
    }


def test_a_check_type_with_only_its_summary_is_skipped_in_a_list_or_alone() -> None:
    reports = orjson.loads((DATA / "checkov-3.3.30-frameworks-and-summary.json").read_bytes())
    summary_entry = {"check_type": "secrets", "summary": reports[-1]}
    data = orjson.dumps([summary_entry, *reports[:-1]])

    assert detect_format(data, "checkov.json") == "checkov"
    assert len(parse_bytes(data)) == 12
    assert parse_bytes(orjson.dumps(summary_entry)) == []
    assert detect_format(orjson.dumps([reports[-1]]), "checkov.json") == "checkov"


@pytest.mark.django_db
def test_a_multi_framework_upload_with_a_summary_entry_becomes_findings() -> None:
    from findings.services import jobs
    from tests.factories.findings import ImageAssetFactory

    asset = ImageAssetFactory()
    job = jobs.job_create_from_path(
        actor=None,
        team=asset.team,
        asset=asset,
        path=DATA / "checkov-3.3.30-frameworks-and-summary.json",
        requested_format="",
        enqueue=False,
    )
    job = jobs.job_run(job_id=job.pk)
    job.refresh_from_db()

    assert (job.status, job.format, job.error) == ("done", "checkov", "")
    assert asset.findings.count() == 12


def test_sca_results_become_vulnerabilities() -> None:
    check = {
        "check_id": "CKV_CVE_2022_1",
        "repo_file_path": "/requirements.txt",
        "resource": "requirements.txt.django",
        "vulnerability_details": {
            "id": "CVE-2022-1",
            "package_name": "django",
            "package_version": "3.2",
            "cvss": 9.8,
        },
    }
    report = {"check_type": "sca_package", "results": {"failed_checks": [check]}}
    (record,) = parse_bytes(orjson.dumps(report))
    assert (record.category, record.rule_id, record.package, record.cvss) == (
        Category.VULNERABILITY,
        "CVE-2022-1",
        "django",
        9.8,
    )


@pytest.mark.parametrize("data", [b"", b"null", b"[]", b'{"passed": 0, "failed": 0, "checkov_version": "2"}'])
def test_empty_reports_have_no_records(data: bytes) -> None:
    assert parse_bytes(data) == []


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b'{"check_type": "terraform", "results": {', "the file ends in the middle"),
        (b"[" * 100_000, "nested deeper than 1024 levels"),
        (b'{"results": {"failed_checks": [{"check_id": "\xff"}]}}', "invalid UTF-8"),
        (b"[1]", "report [0]"),
        (b'{"check_type": "x"}', 'has no "results"'),
        (b'{"results": {"failed_checks": {}}}', "should be a list"),
        (b'{"results": {"failed_checks": [{"file_path": "a"}]}}', "has no check_id"),
    ],
)
def test_hostile_reports_fail_with_the_format_and_the_problem(data: bytes, fragment: str) -> None:
    with pytest.raises(ImportFailed) as failure:
        parse_bytes(data)
    assert str(failure.value).startswith("Checkov JSON:")
    assert fragment in str(failure.value)
