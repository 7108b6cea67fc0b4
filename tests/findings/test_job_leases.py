"""A running import whose worker died is found by its lease and queued again or failed; failed imports
can be retried by those who may import (issue 7, item 9)."""

import datetime as dt
import time

import pytest
from django.db import DEFAULT_DB_ALIAS, connections
from django.urls import reverse
from django.utils import timezone

from findings.models import ImportJob, JobStatus
from findings.services import jobs
from hygiene.celery import app
from hygiene.models import AuditEntry
from tests.conftest import client_for
from tests.factories.findings import ImageAssetFactory

pytestmark = pytest.mark.django_db

TRIVY = "trivy/legacy_many_vulns.json"


@pytest.fixture
def asset(team_a):
    return ImageAssetFactory(team=team_a, name="dojo")


def _queued(asset, path):
    return jobs.job_create_from_path(actor=None, team=asset.team, asset=asset, path=path, enqueue=False)


def _cut_off(job):
    """What a worker killed mid-import leaves behind: the job claimed and running, nothing written."""
    claimed = jobs._job_claim(job.pk)
    assert claimed is not None and claimed.status == JobStatus.RUNNING
    return claimed


def _after_lease(settings):
    return timezone.now() + dt.timedelta(seconds=settings.HYGIENE_IMPORT_LEASE_SECONDS + 1)


def test_a_job_cut_off_by_a_dead_worker_is_queued_again_and_imported(
    asset, scans_dir, settings, django_capture_on_commit_callbacks
):
    job = _cut_off(_queued(asset, scans_dir / TRIVY))

    with django_capture_on_commit_callbacks(execute=True):
        result = jobs.jobs_reap_stale(now=_after_lease(settings))

    job.refresh_from_db()
    assert result.requeued == [job.pk]
    assert (job.status, job.attempts, job.new_count) == (JobStatus.DONE, 2, 93)
    requeued = AuditEntry.objects.get(object_id=str(job.pk), action="scan_import_requeued")
    assert requeued.after["attempts"] == 1


def test_a_job_that_keeps_losing_its_worker_fails_with_the_reason(asset, scans_dir, settings):
    job = _cut_off(_queued(asset, scans_dir / TRIVY))
    ImportJob.objects.filter(pk=job.pk).update(attempts=settings.HYGIENE_IMPORT_MAX_ATTEMPTS)

    result = jobs.jobs_reap_stale(now=_after_lease(settings))

    job.refresh_from_db()
    assert result.failed == [job.pk]
    assert job.status == JobStatus.FAILED
    assert "stopped 3 times without finishing" in job.error
    assert not asset.findings.exists()


def test_a_job_within_its_lease_or_still_locked_by_its_worker_is_left_alone(asset, scans_dir, settings):
    job = _cut_off(_queued(asset, scans_dir / TRIVY))
    within = timezone.now() + dt.timedelta(seconds=settings.HYGIENE_IMPORT_LEASE_SECONDS - 5)
    worker = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with worker.cursor() as cursor:  # a live worker holds the job's import lock
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [jobs._JOB_LOCK_CLASS, job.pk])
        fresh = jobs.jobs_reap_stale(now=within)
        locked = jobs.jobs_reap_stale(now=_after_lease(settings))
    finally:
        worker.close()

    job.refresh_from_db()
    assert (fresh.requeued, fresh.failed, locked.requeued, locked.failed) == ([], [], [], [])
    assert job.status == JobStatus.RUNNING


def test_a_redelivered_task_does_not_restart_a_job_whose_lease_is_alive(asset, scans_dir):
    job = _cut_off(_queued(asset, scans_dir / TRIVY))

    again = jobs._job_claim(job.pk)

    assert again is None
    job.refresh_from_db()
    assert job.attempts == 1


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_renews_the_lease_while_the_import_runs(asset, scans_dir):
    job = _cut_off(_queued(asset, scans_dir / TRIVY))
    old = timezone.now() - dt.timedelta(hours=1)
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=old)

    with jobs.JobHeartbeat(job_id=job.pk, interval=0.05):
        time.sleep(0.5)

    job.refresh_from_db()
    assert job.heartbeat_at > timezone.now() - dt.timedelta(seconds=5)


def test_the_reaper_runs_every_minute_and_the_broker_outlasts_long_imports(settings):
    schedule = {entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    assert schedule["findings.tasks.reap_stale_jobs"] == 60.0
    assert app.conf.broker_transport_options["visibility_timeout"] >= 3600
    assert settings.HYGIENE_IMPORT_LEASE_SECONDS > 3 * settings.HYGIENE_IMPORT_HEARTBEAT_SECONDS


# ---- retrying a failed import -------------------------------------------------------------------


@pytest.fixture
def failed_job(asset, scans_dir, tmp_path):
    path = tmp_path / "trivy.json"
    path.write_bytes((scans_dir / TRIVY).read_bytes())
    job = jobs.job_create_from_path(
        actor=None, team=asset.team, asset=asset, path=path, requested_format="gitleaks", enqueue=False
    )
    jobs.job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    return job


def test_a_team_member_retries_a_failed_import_from_its_page(
    client, failed_job, teammate, django_capture_on_commit_callbacks
):
    ImportJob.objects.filter(pk=failed_job.pk).update(requested_format="")  # the cause, fixed
    page = client_for(client, teammate).get(failed_job.get_absolute_url()).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("findings:job-retry", args=[failed_job.pk]), follow=True)

    retry = ImportJob.objects.get(retry_of=failed_job)
    assert "Retry the import" in page
    assert f"tried again as import #{retry.pk}" in response.content.decode()
    assert retry.status == JobStatus.DONE and retry.new_count == 93
    assert retry.sha256 == failed_job.sha256
    failed_job.refresh_from_db()
    assert failed_job.status == JobStatus.FAILED


def test_auditors_and_outsiders_cannot_retry(client, failed_job, auditor, outsider):
    url = reverse("findings:job-retry", args=[failed_job.pk])

    page = client_for(client, auditor).get(failed_job.get_absolute_url()).content.decode()
    by_auditor = client.post(url)
    by_outsider = client_for(client, outsider).post(url)

    assert "Retry the import" not in page
    assert by_auditor.status_code == 403
    assert by_outsider.status_code == 404
    assert not ImportJob.objects.filter(retry_of=failed_job).exists()


def test_only_a_failed_import_is_retried_through_the_api(api_client, failed_job, owner, asset, scans_dir):
    done = _queued(asset, scans_dir / TRIVY)
    jobs.job_run(job_id=done.pk)
    api_client.force_authenticate(owner)

    retried = api_client.post(f"/api/v1/scans/{failed_job.pk}/retry/")
    refused = api_client.post(f"/api/v1/scans/{done.pk}/retry/")

    assert retried.status_code == 202
    assert retried.json()["retry_of"] == failed_job.pk
    assert refused.status_code == 400
    assert "Only a failed import" in str(refused.json())
