"""A real Celery worker imports a scan pushed through the API (broker: the embedded Redis).

The test settings run tasks eagerly; here the sending side turns that off and sends to a queue of this
test's own, and a worker subprocess consumes it against the test database.
"""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections

from findings.importers import parse
from findings.models import Finding, ImportJob, JobStatus
from findings.services import jobs
from findings.services.ingest import BATCH_ROWS, fingerprint
from findings.tasks import run_import_job
from hygiene.celery import app
from tests.conftest import SCANS_DIR
from tests.factories import ApiTokenFactory
from tests.factories.findings import FindingFactory, ImageAssetFactory

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


BLOCK_AT = BATCH_ROWS + 1_000  # a record of the second COPY batch: the first is written by then


def _large_trivy_from_sample(path, copies):
    """The real legacy Trivy report with its 93 vulnerabilities repeated ``copies`` times, each copy in a
    package of its own name (so every finding is distinct); references cut to two to keep it ~1 KB each."""
    report = json.loads((SCANS_DIR / "trivy/legacy_many_vulns.json").read_bytes())
    vulnerabilities = report[0]["Vulnerabilities"]
    report[0]["Vulnerabilities"] = [
        {**item, "PkgName": f"{item['PkgName']}-{copy}", "References": item.get("References", [])[:2]}
        for copy in range(copies)
        for item in vulnerabilities
    ]
    path.write_bytes(json.dumps(report).encode())


def _distinct_records(path):
    """What a clean import of the file stores: its records, deduplicated by fingerprint, in file order."""
    unique = {}
    with path.open("rb") as stream:
        for item in parse("trivy", stream):
            unique.setdefault(fingerprint(item), item)
    return list(unique)


def _hold_row(asset, fingerprint_hex):
    """Insert (uncommitted, on a connection of our own) the finding the import will reach at BLOCK_AT: the
    import's COPY then waits on our row's unique key in the middle of its second batch, its first written."""
    row = FindingFactory.build(asset=asset, team=asset.team, fingerprint=fingerprint_hex, last_job=None)
    fields = [field for field in Finding._meta.concrete_fields if not (field.primary_key or field.generated)]
    blocker = connections.create_connection(DEFAULT_DB_ALIAS)
    blocker.ensure_connection()
    blocker.set_autocommit(False)
    with blocker.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO findings_finding ({', '.join(field.column for field in fields)}) "
            f"VALUES ({', '.join(['%s'] * len(fields))})",
            [field.get_db_prep_save(field.pre_save(row, True), blocker) for field in fields],
        )
    return blocker


def _copy_backend():
    """(pid, rows copied by the current COPY statement, waiting on a lock) of the worker's import COPY."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.pid, p.tuples_processed, a.wait_event_type = 'Lock' FROM pg_stat_activity a"
            " JOIN pg_stat_progress_copy p ON p.pid = a.pid"
            " WHERE a.datname = current_database() AND p.relid = 'findings_finding'::regclass"
            " AND a.query LIKE 'COPY findings_finding%%'"
        )
        return cursor.fetchone()


def _heap_bytes():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_relation_size('findings_finding')")
        return cursor.fetchone()[0]


def _backend_alive(pid):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid])
        return cursor.fetchone() is not None


def test_a_worker_killed_in_the_middle_of_a_copy_leaves_nothing_and_the_retry_imports_each_finding_once(
    worker_queue, team_a, tmp_path, settings, monkeypatch
):
    queue, workers = worker_queue
    monkeypatch.setattr(
        jobs, "job_enqueue", lambda *, job_id: run_import_job.apply_async(args=[job_id], queue=queue)
    )
    asset = ImageAssetFactory(team=team_a, name="big")
    scan = tmp_path / "trivy-large.json"
    _large_trivy_from_sample(scan, copies=BLOCK_AT // 93 + 20)
    records = _distinct_records(scan)
    assert len(records) > BLOCK_AT
    blocker = _hold_row(asset, records[BLOCK_AT])
    heap_before = _heap_bytes()
    try:
        job = jobs.job_create_from_path(actor=None, team=team_a, asset=asset, path=scan)

        # The worker's main process dies (the OOM killer, a node going away) while its COPY is writing.
        _wait_for(lambda: (_copy_backend() or (0, 0, False))[2], "the import's COPY to reach our row")
        backend, copied, _ = _copy_backend()
        # Mid-write: this COPY has rows behind it, and the first batch's rows are on disk, uncommitted.
        assert copied > 0 and _heap_bytes() - heap_before > BATCH_ROWS * 200
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait()
    finally:
        blocker.rollback()
        blocker.close()
    # Its database session notices the lost client once the COPY reads again, and rolls everything back.
    _wait_for(lambda: not _backend_alive(backend), "the killed worker's session to end", 30)
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING
    assert Finding.objects.filter(asset=asset).count() == 0

    # Its lease runs out and its import lock went with the session: the reaper queues it again.
    settings.HYGIENE_IMPORT_LEASE_SECONDS = 1
    time.sleep(1.5)
    assert jobs.jobs_reap_stale().requeued == [job.pk]
    workers.append(_start_worker(queue))
    _wait_for(
        lambda: ImportJob.objects.filter(pk=job.pk, status__in=["done", "failed"]).exists(),
        "a second worker to finish it",
        180,
    )

    job.refresh_from_db()
    assert job.status == JobStatus.DONE, job.error
    assert (job.attempts, job.new_count, job.findings_count) == (2, len(records), len(records))
    stored = Finding.objects.filter(asset=asset)
    assert stored.count() == stored.values("fingerprint").distinct().count() == len(records)
    # A late second delivery of the same task (acks_late) changes nothing.
    jobs.job_run(job_id=job.pk)
    assert stored.count() == len(records)
    assert ImportJob.objects.get(pk=job.pk).attempts == 2
