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


@pytest.fixture
def worker_queue():
    queue = f"hygiene-test-import-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "hygiene.settings.test",
        "HYGIENE_DB_NAME": connection.settings_dict["NAME"],
    }
    command = [sys.executable, "-m", "celery", "-A", "hygiene", "worker", "--pool", "solo", "-Q", queue]
    command += ["--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "WARNING"]
    worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        yield queue, worker
    finally:
        app.conf.task_always_eager = eager
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def test_a_worker_imports_a_scan_pushed_through_the_api(
    worker_queue, api_client, owner, team_a, scans_dir, monkeypatch
):
    queue, worker = worker_queue
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
