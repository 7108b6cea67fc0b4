"""A real Celery worker imports a scan pushed through the API (broker: the embedded Redis).

The test settings run tasks eagerly; here the sending side turns that off and sends to a queue of this
test's own, and a worker subprocess consumes it against the test database.
"""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

from findings.models import ImportJob, JobStatus
from findings.services import jobs
from findings.tasks import run_import_job
from hygiene.celery import app
from tests.factories import ApiTokenFactory
from tests.factories.findings import ImageAssetFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

ROOT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 60


def _start_worker(queue):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "hygiene.settings.test",
        "HYGIENE_DB_NAME": connection.settings_dict["NAME"],
    }
    command = [sys.executable, "-m", "celery", "-A", "hygiene", "worker", "--pool", "solo", "-Q", queue]
    command += ["--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "WARNING"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _stop(worker):
    if worker.poll() is not None:
        return
    worker.terminate()
    try:
        worker.wait(timeout=15)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


@pytest.fixture
def worker_queue():
    queue = f"hygiene-test-import-{uuid.uuid4().hex[:8]}"
    workers = [_start_worker(queue)]
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        yield queue, workers
    finally:
        app.conf.task_always_eager = eager
        for worker in workers:
            _stop(worker)


def test_a_worker_imports_a_scan_pushed_through_the_api(
    worker_queue, api_client, owner, team_a, scans_dir, monkeypatch
):
    queue, (worker,) = worker_queue
    monkeypatch.setattr(
        jobs, "job_enqueue", lambda *, job_id: run_import_job.apply_async(args=[job_id], queue=queue)
    )
    asset = ImageAssetFactory(team=team_a, name="dojo")
    token = ApiTokenFactory(user=owner, team=team_a, actions=["scans:push"])
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.clear}")
    upload = (scans_dir / "trivy/legacy_many_vulns.json").open("rb")

    response = api_client.post("/api/v1/scans/", {"file": upload, "asset": "dojo"}, format="multipart")

    assert response.status_code == 202, response.content
    job_id = response.json()["id"]
    deadline = time.monotonic() + WAIT_SECONDS
    job = ImportJob.objects.get(pk=job_id)
    while job.status in (JobStatus.QUEUED, JobStatus.RUNNING) and time.monotonic() < deadline:
        assert worker.poll() is None, worker.stdout.read().decode(errors="replace")
        time.sleep(0.3)
        job.refresh_from_db()
    assert job.status == JobStatus.DONE, job.error or f"job still {job.status} after {WAIT_SECONDS} s"
    assert (job.new_count, job.findings_count, job.progress) == (93, 93, 100)
    assert asset.findings.count() == 93
    body = api_client.get(f"/api/v1/scans/{job_id}/").json()
    assert (body["status"], body["new_count"]) == ("done", 93)


def _wait_for(condition, what, seconds=WAIT_SECONDS):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_a_job_whose_worker_is_killed_mid_import_is_queued_again_and_finished_by_another(
    worker_queue, team_a, tmp_path, settings, monkeypatch
):
    from bench.scan_samples import write_trivy

    queue, workers = worker_queue
    monkeypatch.setattr(
        jobs, "job_enqueue", lambda *, job_id: run_import_job.apply_async(args=[job_id], queue=queue)
    )
    asset = ImageAssetFactory(team=team_a, name="big")
    count = write_trivy(tmp_path / "big.json", 15_000)
    job = jobs.job_create_from_path(actor=None, team=team_a, asset=asset, path=tmp_path / "big.json")

    # The worker's main process dies in the middle of the import (the OOM killer, a node going away).
    _wait_for(lambda: ImportJob.objects.filter(pk=job.pk, progress__gt=0).exists(), "the import to run")
    workers[0].kill()
    workers[0].wait()
    settings.HYGIENE_IMPORT_LEASE_SECONDS = 1
    time.sleep(1.5)
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING and not asset.findings.exists()

    # Its lease runs out; once its database session is gone too, the reaper queues it again.
    _wait_for(lambda: jobs.jobs_reap_stale().requeued == [job.pk], "the job to be queued again", 20)
    workers.append(_start_worker(queue))
    _wait_for(
        lambda: ImportJob.objects.filter(pk=job.pk, status__in=["done", "failed"]).exists(),
        "a second worker to finish it",
    )

    job.refresh_from_db()
    assert job.status == JobStatus.DONE, job.error
    assert (job.attempts, job.findings_count, asset.findings.count()) == (2, count, count)
