"""What imports and people record for the metrics: scan time, check types, episodes and frozen due dates."""

import datetime as dt
import shutil

import pytest
from django.utils import timezone

from findings.checks import check_types_for, scan_time_from
from findings.models import FindingSighting, FindingStatus, Outcome
from findings.services import jobs
from findings.services.findings import finding_bulk_set_status
from hygiene.roles import SECURITY_LEAD
from tests.factories import UserFactory
from tests.factories.findings import ImageAssetFactory, record

pytestmark = pytest.mark.django_db


def run(asset, path):
    job = jobs.job_create_from_path(actor=None, team=asset.team, asset=asset, path=path, enqueue=False)
    jobs.job_run(job_id=job.pk)
    job.refresh_from_db()
    return job


def test_the_scan_time_comes_from_the_file_and_dates_the_detection(scans_dir):
    job = run(ImageAssetFactory(), scans_dir / "trivy/cvssv4_severity_source.json")
    assert job.scanned_at == dt.datetime(2026, 2, 24, 7, 7, 53, 487381, tzinfo=dt.UTC)
    finding = job.asset.findings.first()
    assert finding.detected_at == job.scanned_at
    assert finding.first_seen == job.started_at  # the import's own time is kept as well


def test_grype_writes_its_scan_time_at_the_end_of_the_file(scans_dir):
    job = run(ImageAssetFactory(), scans_dir / "grype/fix_available.json")
    assert job.scanned_at == dt.datetime(2024, 4, 10, 11, 5, 22, 636338, tzinfo=dt.UTC)


def test_a_file_without_a_scan_time_uses_the_upload_time(scans_dir):
    job = run(ImageAssetFactory(), scans_dir / "trivy/legacy_many_vulns.json")
    assert job.scanned_at == job.created_at


def test_a_scan_time_in_the_future_is_not_believed(tmp_path, scans_dir):
    uploaded = timezone.now()
    head = b'{"SchemaVersion": 2, "CreatedAt": "2999-01-01T00:00:00Z", "Results": []}'
    assert scan_time_from(format_name="trivy", head=head, tail=b"", uploaded_at=uploaded) == uploaded
    head = b'{"runs": [{"invocations": [{"startTimeUtc": "2025-07-13T11:50:00Z"}]}]}'
    assert scan_time_from(
        format_name="sarif:bandit", head=head, tail=b"", uploaded_at=uploaded
    ) == dt.datetime(2025, 7, 13, 11, 50, tzinfo=dt.UTC)


def test_a_trivy_file_records_the_three_kinds_of_checks_it_held(scans_dir, tmp_path):
    path = tmp_path / "trivy.json"
    shutil.copy(scans_dir / "trivy/misconfigurations_and_secrets.json", path)
    job = run(ImageAssetFactory(), path)
    assert job.check_types == ["container", "dependency", "iac", "secret"]


def test_a_clean_file_records_what_its_format_checks():
    assert check_types_for(format_name="gitleaks", categories=[], container_image=False) == ["secret"]
    assert check_types_for(format_name="sarif:codeql", categories=[], container_image=False) == [
        "static_analysis"
    ]


def test_each_reopen_and_mitigation_is_an_episode_with_its_due_date(team_a):
    asset = ImageAssetFactory(team=team_a)
    start = timezone.now() - dt.timedelta(days=50)
    for days, present in ((0, True), (10, False), (20, True), (30, False), (40, True)):
        jobs.job_import_records(
            team=team_a,
            asset=asset,
            records=[record(1, severity="critical")] if present else [],
            scanner="trivy",
            started_at=start + dt.timedelta(days=days),
        )
    finding = asset.findings.get()
    events = list(finding.sightings.values_list("outcome", "status", "sla_due"))
    due = [(start + dt.timedelta(days=d)).date() + dt.timedelta(days=7) for d in (0, 20, 40)]
    # Found (first_seen), gone, back, gone, back: three episodes, each with the due date in force.
    assert events == [
        (Outcome.MITIGATED, FindingStatus.MITIGATED, due[0]),
        (Outcome.REOPENED, FindingStatus.OPEN, due[1]),
        (Outcome.MITIGATED, FindingStatus.MITIGATED, due[1]),
        (Outcome.REOPENED, FindingStatus.OPEN, due[2]),
    ]
    assert finding.status == FindingStatus.OPEN
    assert finding.sla_due_at_close is None  # open again: nothing frozen

    # The metrics count the three episodes: two patched in 10 days each, one still open.
    from metrics.dashboards import Period, period_context
    from metrics.definitions import METRICS, value_of
    from metrics.selectors import Scope
    from metrics.services.snapshots import snapshot_backfill

    snapshot_backfill(since=start.date(), until=timezone.localdate())
    lead = UserFactory(role=SECURITY_LEAD)
    context = period_context(Scope(user=lead), Period(start.date(), timezone.localdate()))
    ttp = value_of(METRICS["ttp_p50_critical"], context)
    assert (ttp.value, ttp.count, ttp.note) == (10, 3, "2 patched, 1 open or closed unpatched")


def test_a_false_positive_ends_the_episode_and_freezes_the_due_date(team_a):
    asset = ImageAssetFactory(team=team_a)
    jobs.job_import_records(team=team_a, asset=asset, records=[record(1)], scanner="trivy")
    finding = asset.findings.get()

    finding_bulk_set_status(actor=None, finding_ids=[finding.pk], status="false_positive", reason="test")
    finding.refresh_from_db()
    assert finding.sla_due_at_close == finding.sla_due
    finding_bulk_set_status(actor=None, finding_ids=[finding.pk], status="open", reason="it is real")

    triage = list(FindingSighting.objects.filter(finding=finding).values_list("outcome", "status", "job"))
    assert triage == [(Outcome.TRIAGED, "false_positive", None), (Outcome.TRIAGED, "open", None)]
    finding.refresh_from_db()
    assert finding.sla_due_at_close is None
