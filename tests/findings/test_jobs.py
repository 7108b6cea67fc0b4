"""Broken and hostile scan files fail their job with a message a person understands, and write nothing."""

import hashlib

import pytest
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from findings.errors import ScanTooLarge
from findings.models import Finding, ImportJob, JobStatus
from findings.services import jobs
from findings.services.progress import ProgressReporter
from tests.factories.findings import ImageAssetFactory, ImportJobFactory

pytestmark = pytest.mark.django_db

TRIVY = "trivy/legacy_many_vulns.json"


def run(asset, path, requested_format=""):
    job = jobs.job_create_from_path(
        actor=None, team=asset.team, asset=asset, path=path, requested_format=requested_format, enqueue=False
    )
    jobs.job_run(job_id=job.pk)
    job.refresh_from_db()
    return job


def assert_failed_cleanly(job, path):
    assert job.status == JobStatus.FAILED
    assert not Finding.objects.exists()
    with job.raw_file.open("rb") as kept:
        assert hashlib.sha256(kept.read()).hexdigest() == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_truncated_scan_fails_saying_which_format_and_where_it_stops(scans_dir, tmp_path):
    path = tmp_path / "trivy.json"
    data = (scans_dir / TRIVY).read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])

    job = run(ImageAssetFactory(), path)

    assert_failed_cleanly(job, path)
    assert job.error.startswith("Trivy JSON:")
    assert "line" in job.error and "byte" in job.error


def test_a_file_of_another_format_than_the_one_requested_is_refused_before_reading_it(scans_dir):
    path = scans_dir / TRIVY

    job = run(ImageAssetFactory(), path, requested_format="gitleaks")

    assert_failed_cleanly(job, path)
    assert job.error == (
        "The file is not Gitleaks JSON as requested: it looks like Trivy JSON. "
        "Choose the right format, or let it be detected."
    )


def test_a_file_no_importer_recognizes_fails_listing_the_supported_formats(tmp_path):
    path = tmp_path / "report.html"
    path.write_bytes(b"<html><body>Scan report</body></html>")

    job = run(ImageAssetFactory(), path)

    assert_failed_cleanly(job, path)
    assert "Unrecognized scan file" in job.error and "Trivy JSON (trivy)" in job.error


def test_deeply_nested_json_fails_instead_of_exhausting_the_worker(tmp_path):
    path = tmp_path / "trivy.json"
    path.write_bytes(
        b'{"SchemaVersion": 2, "ArtifactName": "x", "Results": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    )

    job = run(ImageAssetFactory(), path)

    assert_failed_cleanly(job, path)
    assert job.error.startswith("Trivy JSON:")


def test_invalid_utf8_fails_saying_where_the_bad_byte_is(scans_dir, tmp_path):
    path = tmp_path / "trivy.json"
    data = (scans_dir / TRIVY).read_bytes()
    cut = data.index(b'"Title"')
    path.write_bytes(data[:cut] + b'"Title": "caf\xe9 \xff\xfe", ' + data[cut:])

    job = run(ImageAssetFactory(), path)

    assert_failed_cleanly(job, path)
    assert job.error.startswith("Trivy JSON:") and "UTF-8" in job.error


def test_a_file_over_the_size_limit_is_refused_before_it_is_stored(scans_dir, settings):
    settings.HYGIENE_SCAN_MAX_BYTES = 1000

    with pytest.raises(ScanTooLarge, match=r"larger than the 1000 bytes limit \(HYGIENE_SCAN_MAX_BYTES\)"):
        jobs.job_create_from_path(actor=None, team=ImageAssetFactory().team, path=scans_dir / TRIVY)

    assert not ImportJob.objects.exists()


def test_a_clean_scan_marks_what_it_no_longer_reports_mitigated(scans_dir):
    asset = ImageAssetFactory()
    first = run(asset, scans_dir / "trivy/scheme_2_many_vulns.json")

    clean = run(asset, scans_dir / "trivy/scheme_2_no_vuln.json")

    assert clean.status == JobStatus.DONE, clean.error
    assert (clean.findings_count, clean.mitigated_count) == (0, first.findings_count)


@pytest.mark.django_db(transaction=True)
def test_progress_is_visible_to_others_while_the_import_transaction_is_open(tmp_path):
    job = ImportJobFactory(status=JobStatus.RUNNING, progress=0, size_bytes=1000)
    stream = (tmp_path / "scan.json").open("w+b")
    stream.write(b" " * 1000)
    stream.seek(500)

    with transaction.atomic(), ProgressReporter(job_id=job.pk, stream=stream, size=1000) as progress:
        progress.update()
        # Another session (the job page's poll) sees it although this transaction is still open.
        other = connections.create_connection(DEFAULT_DB_ALIAS)
        with other.cursor() as cursor:
            cursor.execute("SELECT progress FROM findings_importjob WHERE id = %s", [job.pk])
            seen = cursor.fetchone()[0]
        other.close()

    assert seen == 45  # half the file read: half of the 90 points parsing is worth
