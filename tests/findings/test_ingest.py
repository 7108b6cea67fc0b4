"""Importing scans into deduplicated findings: counts, re-import semantics, all-or-nothing."""

import datetime as dt
import json
import shutil

import pytest
from django.utils import timezone

from findings.errors import ImportFailed
from findings.models import Finding, FindingStatus, ImportJob, JobStatus
from findings.services import jobs
from tests.factories.findings import ImageAssetFactory, QueuedImportJobFactory, record

pytestmark = pytest.mark.django_db

TRIVY = "trivy/legacy_many_vulns.json"


def import_file(path, asset, *, requested_format="", filename=None):
    """Queue and run a job for ``path`` the way a worker does; return the finished job."""
    job = jobs.job_create_from_path(
        actor=None, team=asset.team, asset=asset, path=path, requested_format=requested_format, enqueue=False
    )
    job = jobs.job_run(job_id=job.pk)
    job.refresh_from_db()
    return job


@pytest.fixture
def import_records(monkeypatch):
    """Run a job whose parser yields ``records``: a scan reduced to what the importer reads from it."""

    def run(asset, records, *, fmt="trivy", unnamed=False):
        job = QueuedImportJobFactory(asset=asset)
        if unnamed:
            ImportJob.objects.filter(pk=job.pk).update(asset=None)
        monkeypatch.setattr(jobs, "detect_format", lambda head, filename: fmt)
        monkeypatch.setattr(jobs, "parse", lambda name, stream: iter(records))
        jobs.job_run(job_id=job.pk)
        job.refresh_from_db()
        return job

    return run


@pytest.mark.parametrize(
    ("sample", "fmt", "expected"),
    [
        ("trivy/legacy_many_vulns.json", "trivy", 93),
        ("trivy/scheme_2_many_vulns.json", "trivy", 5),
        ("gitleaks/gitleaks8_many.json", "gitleaks", 4),
        # Four results, two of them the same secret in the same file and line: three findings.
        ("trufflehog/v3_git.json", "trufflehog", 3),
        ("cyclonedx/log4j.json", "cyclonedx", 8),
    ],
)
def test_a_real_scan_becomes_one_open_finding_per_distinct_issue(scans_dir, sample, fmt, expected):
    # Given an asset and a real scanner report
    asset = ImageAssetFactory()

    # When it is imported
    job = import_file(scans_dir / sample, asset)

    # Then the job is done, its format detected, and each distinct issue is one open finding
    assert job.status == JobStatus.DONE, job.error
    assert job.format == fmt
    assert job.new_count == job.findings_count == expected
    assert asset.findings.filter(status=FindingStatus.OPEN).count() == expected
    assert job.progress == 100 and job.duration is not None


def test_importing_the_same_file_twice_changes_nothing_but_last_seen(scans_dir):
    asset = ImageAssetFactory()
    first = import_file(scans_dir / TRIVY, asset)
    columns = [
        f.attname for f in Finding._meta.concrete_fields if f.attname not in ("last_seen", "last_job_id")
    ]
    before = list(asset.findings.order_by("id").values_list(*columns))

    second = import_file(scans_dir / TRIVY, asset)

    assert (second.new_count, second.unchanged_count, second.reopened_count, second.mitigated_count) == (
        0,
        first.findings_count,
        0,
        0,
    )
    assert list(asset.findings.order_by("id").values_list(*columns)) == before
    assert set(asset.findings.values_list("last_seen", flat=True)) == {second.started_at}


def test_a_finding_missing_from_a_newer_scan_is_mitigated_at_that_scans_time(import_records):
    asset = ImageAssetFactory()
    import_records(asset, [record(1), record(2), record(3)])

    newer = import_records(asset, [record(1), record(2)])

    gone = Finding.objects.get(asset=asset, rule_id=record(3).rule_id)
    assert gone.status == FindingStatus.MITIGATED
    assert gone.mitigated_at == newer.started_at
    assert (newer.unchanged_count, newer.mitigated_count) == (2, 1)


def test_a_mitigated_finding_that_comes_back_is_reopened(import_records):
    asset = ImageAssetFactory()
    import_records(asset, [record(1), record(2)])
    import_records(asset, [record(1)])

    back = import_records(asset, [record(1), record(2)])

    finding = Finding.objects.get(asset=asset, rule_id=record(2).rule_id)
    assert finding.status == FindingStatus.OPEN and finding.mitigated_at is None
    assert (back.reopened_count, back.unchanged_count, back.new_count) == (1, 1, 0)
    assert [outcome for _, outcome in finding.history()] == ["new", "mitigated", "reopened"]


@pytest.mark.parametrize("decision", [FindingStatus.FALSE_POSITIVE, FindingStatus.RISK_ACCEPTED])
def test_a_persons_decision_survives_the_finding_being_seen_again_or_gone(decision, import_records):
    asset = ImageAssetFactory()
    import_records(asset, [record(1), record(2)])
    Finding.objects.filter(rule_id=record(1).rule_id).update(status=decision)

    import_records(asset, [record(2)])
    import_records(asset, [record(1), record(2)])

    finding = Finding.objects.get(asset=asset, rule_id=record(1).rule_id)
    assert finding.status == decision
    assert finding.mitigated_at is None


def test_a_scan_by_another_scanner_does_not_mitigate_what_it_does_not_look_for(import_records):
    asset = ImageAssetFactory()
    import_records(asset, [record(1)], fmt="trivy")

    other = import_records(asset, [record(2, category="secret", rule_id="aws-key")], fmt="gitleaks")

    assert other.mitigated_count == 0
    assert Finding.objects.get(rule_id=record(1).rule_id).status == FindingStatus.OPEN


def test_a_finding_reported_twice_in_one_file_is_one_finding(import_records):
    asset = ImageAssetFactory()

    job = import_records(asset, [record(1), record(1, title="same issue, other wording"), record(2)])

    assert job.findings_count == job.new_count == 2
    assert asset.findings.count() == 2


def test_an_import_that_fails_halfway_writes_nothing_and_keeps_the_raw_file(
    import_records,
):
    asset = ImageAssetFactory()
    import_records(asset, [record(1)])

    def broken():
        for n in range(2, 30_000):  # past the first COPY batch, so rows were really staged
            yield record(n)
        raise ImportFailed("Trivy JSON: the file ends in the middle of a JSON value (at line 9, byte 40).")

    job = import_records(asset, broken())

    assert job.status == JobStatus.FAILED
    assert "ends in the middle" in job.error
    assert list(asset.findings.values_list("rule_id", "status")) == [(record(1).rule_id, FindingStatus.OPEN)]
    assert job.raw_file and job.raw_file.storage.exists(job.raw_file.name)


def test_an_import_runs_a_fixed_number_of_queries_whatever_the_number_of_findings(
    django_assert_max_num_queries, import_records
):
    asset = ImageAssetFactory()
    import_records(asset, [record(n) for n in range(500)])
    records = [record(n) for n in range(250, 1250)]  # 250 seen again, 750 new, 250 gone

    # Creating the job, claiming it, staging, four merge statements, finishing: about 23 in all.
    with django_assert_max_num_queries(25):
        job = import_records(asset, records)

    assert (job.new_count, job.unchanged_count, job.mitigated_count) == (750, 250, 250)


def test_findings_get_an_sla_due_date_from_their_severity_and_the_assets_exposure(import_records):
    dev = ImageAssetFactory(environment="development")
    prod = ImageAssetFactory(environment="production")

    dev_job = import_records(dev, [record(1, severity="critical"), record(2, severity="info")])
    import_records(prod, [record(1, severity="critical")])

    today = dev_job.started_at.date()
    assert Finding.objects.get(asset=dev, severity="critical").sla_due == today + dt.timedelta(days=7)
    assert Finding.objects.get(asset=dev, severity="info").sla_due is None
    assert Finding.objects.get(asset=prod).sla_due == today + dt.timedelta(days=4)


def test_a_known_exploited_vulnerability_is_due_by_its_kev_date_when_later_than_the_kev_window(
    import_records, settings
):
    from findings.models import KevEntry

    settings.HYGIENE_KEV_WINDOW_DAYS = 14
    asset = ImageAssetFactory(environment="development", is_restricted=False)
    kev_due = timezone.localdate() + dt.timedelta(days=40)
    KevEntry.objects.create(cve_id=record(1).rule_id, due_date=kev_due)

    import_records(asset, [record(1, severity="low"), record(2, severity="low")])

    kev, plain = Finding.objects.filter(asset=asset).order_by("rule_id")
    assert (kev.kev, kev.kev_due, kev.sla_due) == (True, kev_due, kev_due)
    assert plain.kev is False and plain.sla_due > kev_due


def test_a_known_exploited_vulnerability_past_cisas_date_gets_the_kev_window_from_first_seen(
    import_records, settings
):
    from findings.models import KevEntry

    settings.HYGIENE_KEV_WINDOW_DAYS = 14
    asset = ImageAssetFactory(environment="development", is_restricted=False)
    KevEntry.objects.create(cve_id=record(1).rule_id, due_date=dt.date(2023, 10, 4))

    job = import_records(asset, [record(1, severity="medium"), record(2, severity="critical")])

    today = job.started_at.date()
    kev = Finding.objects.get(asset=asset, rule_id=record(1).rule_id)
    assert (kev.kev, kev.kev_due, kev.sla_due) == (True, dt.date(2023, 10, 4), today + dt.timedelta(days=14))


def test_a_reopened_kev_finding_gets_the_same_due_date_from_the_reimport_and_from_the_kev_load(
    import_records, settings
):
    from findings.models import KevEntry
    from findings.services.enrichment import kev_apply_to_findings

    settings.HYGIENE_KEV_WINDOW_DAYS = 14
    asset = ImageAssetFactory(environment="development", is_restricted=False)
    import_records(asset, [record(1, severity="medium"), record(2)])
    Finding.objects.filter(asset=asset).update(first_seen=timezone.now() - dt.timedelta(days=400))
    import_records(asset, [record(2)])  # record 1 gone: mitigated
    KevEntry.objects.create(cve_id=record(1).rule_id, due_date=dt.date(2023, 10, 4))

    back = import_records(asset, [record(1, severity="medium"), record(2)])  # reopened today
    reopened = Finding.objects.get(asset=asset, rule_id=record(1).rule_id)
    by_reimport = reopened.sla_due
    # The catalogue drops and re-adds the CVE: the enrichment recomputes the due date on its own.
    KevEntry.objects.all().delete()
    kev_apply_to_findings()
    KevEntry.objects.create(cve_id=record(1).rule_id, due_date=dt.date(2023, 10, 4))
    kev_apply_to_findings()

    reopened.refresh_from_db()
    assert back.reopened_count == 1 and reopened.status == FindingStatus.OPEN
    assert by_reimport == back.started_at.date() + dt.timedelta(days=14)
    assert reopened.kev and reopened.sla_due == by_reimport


def test_an_unnamed_asset_is_matched_by_the_image_reference_the_scan_reports(import_records):
    asset = ImageAssetFactory(identifiers=["registry.example.org/ml/trainer"])
    scanned = record(1, target="registry.example.org/ml/trainer:1.4 (debian 12.5)")

    job = import_records(asset, [scanned], unnamed=True)

    assert job.status == JobStatus.DONE and job.asset == asset
    assert asset.findings.count() == 1


def test_a_scan_of_something_no_asset_lists_fails_and_says_how_to_fix_it(import_records):
    asset = ImageAssetFactory(identifiers=["registry.example.org/other"])

    job = import_records(asset, [record(1, target="ghcr.io/acme/unknown:2")], unnamed=True)

    assert job.status == JobStatus.FAILED
    assert "ghcr.io/acme/unknown:2" in job.error and "name the asset" in job.error
    assert not Finding.objects.exists()


def test_a_finished_job_is_left_alone_when_its_task_runs_again(scans_dir):
    asset = ImageAssetFactory()
    job = import_file(scans_dir / TRIVY, asset)
    Finding.objects.all().delete()

    jobs.job_run(job_id=job.pk)

    assert not Finding.objects.exists()


def test_the_raw_file_is_kept_with_its_sha256(scans_dir, tmp_path):
    import hashlib

    path = tmp_path / "scan.json"
    shutil.copy(scans_dir / TRIVY, path)
    asset = ImageAssetFactory()

    job = import_file(path, asset)

    with job.raw_file.open("rb") as kept:
        assert (
            hashlib.sha256(kept.read()).hexdigest()
            == job.sha256
            == hashlib.sha256(path.read_bytes()).hexdigest()
        )
    assert job.size_bytes == path.stat().st_size


def test_scanner_text_with_tabs_newlines_and_backslashes_is_stored_exactly(import_records):
    asset = ImageAssetFactory()
    description = "Line one\nline two\ttabbed\r\nC:\\path\\to\\file \\N not null"

    import_records(asset, [record(1, description=description, title="a\tb", location="src\\x.py:3")])

    finding = Finding.objects.get(asset=asset)
    assert (finding.description, finding.title, finding.location) == (description, "a\tb", "src\\x.py:3")


def test_records_built_in_code_import_as_a_done_job_with_a_history():
    asset = ImageAssetFactory()
    week_ago = timezone.now() - dt.timedelta(days=7)

    first = jobs.job_import_records(
        team=asset.team, asset=asset, records=[record(1), record(2)], scanner="trivy", started_at=week_ago
    )
    second = jobs.job_import_records(team=asset.team, asset=asset, records=[record(1)], scanner="trivy")

    assert (first.status, first.new_count, second.unchanged_count, second.mitigated_count) == (
        "done",
        2,
        1,
        1,
    )
    finding = Finding.objects.get(asset=asset, rule_id=record(1).rule_id)
    assert finding.first_seen == week_ago
    assert [(job.pk, outcome) for job, outcome in finding.history()] == [
        (first.pk, "new"),
        (second.pk, "unchanged"),
    ]


def test_a_sarif_scan_by_another_tool_leaves_the_first_tools_findings_open(scans_dir):
    asset = ImageAssetFactory()
    codeql = import_file(scans_dir / "sarif" / "codeQL-output.sarif", asset)
    semgrep = import_file(scans_dir / "sarif" / "issue_10191.json", asset)

    assert (codeql.new_count, semgrep.new_count, semgrep.mitigated_count) == (72, 77, 0)
    scanners = set(Finding.objects.filter(asset=asset).values_list("scanner", flat=True))
    assert scanners == {"sarif:codeql", "sarif:semgrep oss"}
    assert Finding.objects.filter(asset=asset, status="open").count() == 72 + 77


def test_the_same_sarif_tool_again_mitigates_what_it_no_longer_reports(scans_dir, tmp_path):
    asset = ImageAssetFactory()
    import_file(scans_dir / "sarif" / "codeQL-output.sarif", asset)
    log = json.loads((scans_dir / "sarif" / "codeQL-output.sarif").read_text())
    log["runs"][0]["results"] = log["runs"][0]["results"][:10]
    smaller = tmp_path / "codeql.sarif"
    smaller.write_text(json.dumps(log))

    job = import_file(smaller, asset)

    assert job.mitigated_count == 72 - 10


def test_deleting_an_asset_deletes_its_findings_and_their_history(import_records):
    asset = ImageAssetFactory()
    import_records(asset, [record(n) for n in range(5)])
    import_records(asset, [record(n) for n in range(3)])  # two mitigated: history rows

    asset.delete()

    assert not Finding.objects.filter(asset_id=asset.pk).exists()


def test_an_import_waits_for_another_import_of_the_same_asset(import_records):
    import psycopg2
    from django.db import connection

    from findings.services.ingest import _LOCK_CLASS

    asset = ImageAssetFactory()
    other = ImageAssetFactory()
    # Another worker, mid-import of this asset, on its own connection.
    params = {**connection.get_connection_params(), "dbname": connection.settings_dict["NAME"]}
    params.pop("database", None)
    params.pop("cursor_factory", None)
    worker = psycopg2.connect(**params)
    try:
        with worker.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [_LOCK_CLASS, asset.pk % 2**31])
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '300ms'")
        job = import_records(asset, [record(1)])
        assert job.status == "failed", job.error
        assert "lock" in job.error.lower() or "busy" in job.error.lower(), job.error
        assert not Finding.objects.filter(asset=asset).exists()
    finally:
        worker.close()
    with connection.cursor() as cursor:
        cursor.execute("RESET lock_timeout")
    assert import_records(other, [record(1)]).status == "done"  # other assets are not held up


def test_same_line_sarif_results_with_different_messages_stay_distinct_findings_across_reimports():
    from pathlib import Path

    sample = Path(__file__).parent / "data" / "sarif" / "ruff-0.17.6-same-line.sarif"
    asset = ImageAssetFactory()

    first = import_file(sample, asset)
    again = import_file(sample, asset)

    assert (first.status, first.format, first.new_count) == (JobStatus.DONE, "sarif", 4)
    assert (again.new_count, again.unchanged_count, again.mitigated_count) == (0, 4, 0)
    unused = asset.findings.filter(rule_id="F841").values_list("description", flat=True)
    assert sorted(text.split("`")[1] for text in unused) == ["loss", "steps"]


def test_a_record_of_an_unknown_category_fails_the_import_loudly_and_writes_nothing(import_records):
    asset = ImageAssetFactory()

    job = import_records(asset, [record(1), record(2, category="made_up")])

    assert job.status == JobStatus.FAILED
    assert "unknown finding category 'made_up'" in job.error
    assert not asset.findings.exists()


def test_there_is_one_list_of_categories_for_importers_and_findings():
    from findings import models
    from findings.categories import Category
    from findings.importers import base

    assert base.Category is models.Category is Category
    assert {"model_file", "red_team"} <= set(Category.values)
