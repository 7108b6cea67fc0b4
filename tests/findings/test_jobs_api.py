"""Pushing scans through the API and the upload page, and following the job."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from findings.models import Finding, ImportJob, JobStatus
from tests.conftest import client_for
from tests.factories import ApiTokenFactory
from tests.factories.findings import ImageAssetFactory, ImportJobFactory

pytestmark = pytest.mark.django_db

TRIVY = "trivy/scheme_2_many_vulns.json"  # an image scan of teamdojo:latest, five findings
PUSH = "/api/v1/scans/"


def scan(scans_dir, sample=TRIVY):
    return SimpleUploadedFile("trivy.json", (scans_dir / sample).read_bytes(), "application/json")


def token_client(api_client, user, team, actions=("scans:push",)):
    token = ApiTokenFactory(user=user, team=team, actions=list(actions))
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.clear}")
    return api_client


def test_a_pipeline_pushes_a_scan_and_gets_the_job_back_at_once(
    api_client, owner, team_a, scans_dir, django_capture_on_commit_callbacks
):
    asset = ImageAssetFactory(team=team_a, name="dojo")
    client = token_client(api_client, owner, team_a)

    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(PUSH, {"file": scan(scans_dir), "asset": "dojo"}, format="multipart")

    # The request only stored the file and queued the import
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued" and body["asset"] == {"id": asset.pk, "name": "dojo"}
    assert body["url"].endswith(f"/api/v1/scans/{body['id']}/") and response["Location"] == body["url"]
    assert len(queued) == 1 and not Finding.objects.exists()

    # When the worker runs it, the job shows its counts
    queued[0]()
    job = client.get(body["url"]).json()
    assert (job["status"], job["progress"], job["new_count"], job["findings_count"]) == ("done", 100, 5, 5)
    assert job["format"] == "trivy" and job["duration_seconds"] is not None and job["error"] == ""


def test_a_scan_pushed_without_an_asset_is_matched_by_its_image_reference(
    api_client, owner, team_a, scans_dir, django_capture_on_commit_callbacks
):
    asset = ImageAssetFactory(team=team_a, identifiers=["docker.io/library/teamdojo"])
    client = token_client(api_client, owner, team_a)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(PUSH, {"file": scan(scans_dir)}, format="multipart")

    job = ImportJob.objects.get(pk=response.json()["id"])
    assert job.status == JobStatus.DONE, job.error
    assert job.asset == asset and asset.findings.count() == 5


def test_a_token_without_the_push_action_is_refused(api_client, owner, team_a, scans_dir):
    ImageAssetFactory(team=team_a, name="dojo")
    client = token_client(api_client, owner, team_a, actions=("read", "write"))

    response = client.post(PUSH, {"file": scan(scans_dir), "asset": "dojo"}, format="multipart")

    assert response.status_code == 403
    assert "scans:push" in response.json()["detail"]
    assert not ImportJob.objects.exists()


def test_a_team_b_token_cannot_push_to_a_team_a_asset(api_client, outsider, team_a, team_b, scans_dir):
    asset = ImageAssetFactory(team=team_a, name="dojo")
    client = token_client(api_client, outsider, team_b)

    by_id = client.post(PUSH, {"file": scan(scans_dir), "asset": str(asset.pk)}, format="multipart")
    by_name = client.post(PUSH, {"file": scan(scans_dir), "asset": "dojo"}, format="multipart")

    assert (by_id.status_code, by_name.status_code) == (404, 404)
    assert not ImportJob.objects.exists()


def test_an_oversized_upload_is_refused_with_413_and_nothing_is_kept(
    api_client, owner, team_a, scans_dir, settings
):
    settings.HYGIENE_SCAN_MAX_BYTES = 2000
    ImageAssetFactory(team=team_a, name="dojo")
    client = token_client(api_client, owner, team_a)

    response = client.post(PUSH, {"file": scan(scans_dir), "asset": "dojo"}, format="multipart")

    assert response.status_code == 413
    assert "HYGIENE_SCAN_MAX_BYTES" in response.json()["detail"]
    assert not ImportJob.objects.exists()


def test_an_auditor_cannot_push_scans(api_client, auditor, team_a, scans_dir):
    asset = ImageAssetFactory(team=team_a)
    api_client.force_authenticate(auditor)

    response = api_client.post(PUSH, {"file": scan(scans_dir), "asset": str(asset.pk)}, format="multipart")

    assert response.status_code == 403


def test_an_unknown_format_is_a_clear_400(api_client, owner, team_a, scans_dir):
    ImageAssetFactory(team=team_a, name="dojo")
    client = token_client(api_client, owner, team_a)

    response = client.post(
        PUSH, {"file": scan(scans_dir), "asset": "dojo", "format": "nessus"}, format="multipart"
    )

    assert response.status_code == 400
    assert "format" in response.json()


def test_jobs_of_other_teams_are_invisible(api_client, outsider, team_a):
    job = ImportJobFactory(asset=ImageAssetFactory(team=team_a))
    api_client.force_authenticate(outsider)

    assert api_client.get(f"{PUSH}{job.pk}/").status_code == 404
    assert api_client.get(PUSH).json() == []


def test_a_person_uploads_a_scan_on_the_page_and_lands_on_its_job(
    client, teammate, team_a, scans_dir, django_capture_on_commit_callbacks
):
    asset = ImageAssetFactory(team=team_a, name="dojo")
    client = client_for(client, teammate)
    assert "dojo" in client.get(reverse("findings:upload")).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("findings:upload"), {"file": scan(scans_dir), "asset": "dojo"}, follow=True
        )

    job = ImportJob.objects.get()
    assert response.redirect_chain[-1][0] == job.get_absolute_url()
    page = response.content.decode()
    assert "import #" in page and "queued" in page  # the message shown after the upload
    assert job.status == JobStatus.DONE and asset.findings.count() == 5
    page = client.get(job.get_absolute_url()).content.decode()
    assert "Seen again" in page and job.sha256 in page


def test_a_failed_job_page_shows_the_error(client, owner, team_a):
    job = ImportJobFactory(
        asset=ImageAssetFactory(team=team_a),
        status=JobStatus.FAILED,
        error="Trivy JSON: expected <a> (at byte 3).",
    )

    page = client_for(client, owner).get(job.get_absolute_url()).content.decode()

    assert "The import failed" in page
    assert "expected &lt;a&gt; (at byte 3)" in page  # escaped, never rendered


def test_the_raw_file_downloads_as_an_attachment_for_the_team_only(client, teammate, outsider, team_a):
    job = ImportJobFactory(asset=ImageAssetFactory(team=team_a))

    mine = client_for(client, teammate).get(reverse("findings:job-raw", args=[job.pk]))
    theirs = client_for(client, outsider).get(reverse("findings:job-raw", args=[job.pk]))

    assert mine.status_code == 200 and mine["Content-Disposition"].startswith("attachment")
    assert b"".join(mine.streaming_content) == b"{}"
    assert theirs.status_code == 404


def test_an_oversized_upload_on_the_page_is_refused_with_a_message(
    client, owner, team_a, scans_dir, settings
):
    settings.HYGIENE_SCAN_MAX_BYTES = 2000
    ImageAssetFactory(team=team_a, name="dojo")

    response = client_for(client, owner).post(
        reverse("findings:upload"), {"file": scan(scans_dir), "asset": "dojo"}
    )

    assert response.status_code == 413
    assert "larger than the" in response.content.decode()
    assert not ImportJob.objects.exists()
