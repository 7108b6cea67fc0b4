"""Scan sources: who manages them, which folders and URLs they may name, and what a pull does."""

import datetime as dt
import os
import shutil

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from findings.models import Finding, ImportJob, JobStatus, ScanFolderGrant, ScanSource, SourceKind
from findings.services.sources import source_create, source_pull, sources_claim_due
from hygiene.models import AuditEntry
from tests.conftest import client_for
from tests.factories.assets import AssetFactory, level

pytestmark = pytest.mark.django_db


@pytest.fixture
def drop(tmp_path, settings):
    folder = tmp_path / "drop" / "research" / "ml-trainer"
    folder.mkdir(parents=True)
    settings.HYGIENE_SCAN_FOLDER_ROOTS = [str(tmp_path / "drop")]
    settings.HYGIENE_SCAN_FOLDER_SETTLE_SECONDS = 0
    return folder


@pytest.fixture
def asset(team_a):
    return AssetFactory(team=team_a, name="ml-trainer", kind="container_image")


@pytest.fixture
def folder_source(drop, team_a, asset, owner):
    return source_create(
        actor=owner, team=team_a, asset=asset, name="CI drop", kind=SourceKind.FOLDER, location=str(drop)
    )


def test_a_champion_adds_a_folder_under_an_allowed_root(folder_source, drop):
    assert folder_source.location == str(drop)
    assert AuditEntry.objects.filter(object_type="findings_scansource", action="insert").exists()


@pytest.mark.parametrize("location", ["/etc", "{drop}/../../outside", "relative/path"])
def test_folders_outside_the_allowed_roots_are_refused(drop, team_a, owner, location, tmp_path):
    (tmp_path / "outside").mkdir(exist_ok=True)

    with pytest.raises(ValidationError, match=r"team's own drop folder|absolute path"):
        source_create(
            actor=owner, team=team_a, name="x", kind=SourceKind.FOLDER, location=location.format(drop=drop)
        )


def test_a_link_out_of_the_allowed_root_is_refused(drop, team_a, owner, tmp_path):
    os.symlink("/etc", drop / "sneaky")

    with pytest.raises(ValidationError, match="team's own drop folder"):
        source_create(
            actor=owner, team=team_a, name="x", kind=SourceKind.FOLDER, location=str(drop / "sneaky")
        )


def test_urls_must_name_an_allow_listed_host(team_a, owner, settings):
    settings.HYGIENE_SCAN_URL_ALLOWED_HOSTS = ["scans.example.org"]

    with pytest.raises(ValidationError, match="not on the allow-list"):
        source_create(actor=owner, team=team_a, name="x", kind=SourceKind.URL, location="https://evil.test/a")
    created = source_create(
        actor=owner, team=team_a, name="x", kind=SourceKind.URL, location="https://scans.example.org/t.json"
    )
    assert created.kind == SourceKind.URL


def test_members_and_auditors_cannot_add_sources(drop, team_a, teammate, auditor):
    for person in (teammate, auditor):
        with pytest.raises(PermissionDenied):
            source_create(actor=person, team=team_a, name="x", kind=SourceKind.FOLDER, location=str(drop))


def test_a_pull_imports_each_new_file_once_and_moves_it_aside(folder_source, drop, scans_dir):
    shutil.copy(scans_dir / "trivy" / "scheme_2_many_vulns.json", drop / "scan-1.json")
    (drop / "broken.json").write_text('{"SchemaVersion": 2, "Results": [')
    (drop / ".hidden.json").write_text("{}")
    (drop / "half-written.json.part").write_text("{")
    os.symlink("/etc/passwd", drop / "passwd.json")

    result = source_pull(source_id=folder_source.pk)

    assert len(result.jobs) == 2
    assert (drop / "processed" / "scan-1.json").exists()
    assert (drop / "failed" / "broken.json").exists()
    left = {"processed", "failed", ".hidden.json", "half-written.json.part", "passwd.json"}
    assert {p.name for p in drop.iterdir()} == left
    done = ImportJob.objects.get(source=folder_source, status=JobStatus.DONE)
    assert done.new_count > 0
    assert Finding.objects.filter(asset=folder_source.asset).count() == done.findings_count
    assert "broken.json" in result.failed_files[0]


def test_the_same_file_dropped_again_is_not_imported_twice(folder_source, drop, scans_dir):
    shutil.copy(scans_dir / "trivy" / "scheme_2_many_vulns.json", drop / "scan.json")
    source_pull(source_id=folder_source.pk)
    shutil.copy(scans_dir / "trivy" / "scheme_2_many_vulns.json", drop / "scan.json")

    result = source_pull(source_id=folder_source.pk)

    assert result.jobs == []
    assert result.duplicates == 1
    assert ImportJob.objects.filter(source=folder_source).count() == 1
    assert len(list((drop / "processed").iterdir())) == 2


def test_a_pull_of_a_vanished_folder_is_recorded_as_failed(folder_source, drop):
    shutil.rmtree(drop)

    result = source_pull(source_id=folder_source.pk)

    entry = AuditEntry.objects.get(object_type="findings_scansource", action="pull")
    assert "does not exist" in result.error
    assert entry.after["ok"] is False


def test_due_sources_are_claimed_once_per_interval(folder_source, team_a, owner, drop):
    disabled = ScanSource.objects.create(
        team=team_a, name="off", kind=SourceKind.FOLDER, location=str(drop), enabled=False
    )
    now = timezone.now()

    first = sources_claim_due(now=now)
    again = sources_claim_due(now=now + dt.timedelta(minutes=30))
    later = sources_claim_due(now=now + dt.timedelta(minutes=61))

    assert first == [folder_source.pk]
    assert again == []
    assert later == [folder_source.pk]
    assert disabled.pk not in first + later


def test_a_url_source_imports_the_report_when_it_changes(
    team_a, asset, owner, settings, scans_dir, serve_bytes
):
    base = serve_bytes((scans_dir / "trivy" / "scheme_2_many_vulns.json").read_bytes())
    settings.HYGIENE_SCAN_URL_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.HYGIENE_SCAN_URL_ALLOW_PRIVATE = ["127.0.0.1"]
    url = f"{base}/reports/trivy.json"
    source = source_create(
        actor=owner, team=team_a, asset=asset, name="CI", kind=SourceKind.URL, location=url
    )
    first = source_pull(source_id=source.pk)
    second = source_pull(source_id=source.pk)

    assert len(first.jobs) == 1
    assert ImportJob.objects.get(pk=first.jobs[0]).filename == "trivy.json"
    assert second.jobs == [] and second.duplicates == 1


def test_the_source_page_shows_pulls_and_imports_to_the_team_and_hides_it_from_others(
    client, folder_source, drop, scans_dir, teammate, outsider, django_capture_on_commit_callbacks
):
    shutil.copy(scans_dir / "trivy" / "scheme_2_many_vulns.json", drop / "scan.json")
    url = reverse("findings:source", args=[folder_source.pk])
    client_for(client, teammate)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("findings:source-pull", args=[folder_source.pk]))

    page = client.get(url).content.decode()
    assert "Pull of “CI drop” requested" in page
    assert "1 import started." in page
    assert "scan.json" in page
    assert reverse("findings:source-edit", args=[folder_source.pk]) not in page
    assert client_for(client, outsider).get(url).status_code == 404


def test_auditors_read_sources_but_cannot_pull_them_and_never_see_restricted_ones(
    client, folder_source, team_a, drop, auditor
):
    secret = ScanSource.objects.create(
        team=team_a,
        asset=AssetFactory(team=team_a, classification=level("restricted")),
        name="secret",
        kind=SourceKind.FOLDER,
        location=str(drop),
    )
    client_for(client, auditor)

    listed = client.get(reverse("findings:sources")).context["page"].object_list
    pulled = client.post(reverse("findings:source-pull", args=[folder_source.pk]))

    assert [s.name for s in listed] == ["CI drop"]
    assert client.get(reverse("findings:source", args=[secret.pk])).status_code == 404
    assert pulled.status_code == 403


def test_a_champion_creates_edits_and_deletes_a_source_through_the_pages(client, owner, team_a, drop, asset):
    client_for(client, owner)
    form = {"name": "Nightly", "kind": "folder", "location": str(drop), "team": team_a.slug,
            "asset": asset.pk, "format": "trivy", "interval_minutes": 30, "enabled": "on"}  # fmt: skip

    created = client.post(reverse("findings:source-create"), form, follow=True)
    source = ScanSource.objects.get(name="Nightly")
    edited = client.post(reverse("findings:source-edit", args=[source.pk]), {**form, "interval_minutes": 5},
                         follow=True)  # fmt: skip
    refused = client.post(reverse("findings:source-create"), {**form, "location": "/etc"})
    deleted = client.post(reverse("findings:source-delete", args=[source.pk]), follow=True)

    assert "Scan source “Nightly” added" in created.content.decode()
    assert "saved" in edited.content.decode()
    assert refused.status_code == 400
    assert "drop folder" in refused.content.decode()
    assert "deleted" in deleted.content.decode()
    assert not ScanSource.objects.filter(pk=source.pk).exists()


def test_sources_through_the_api(api_client, owner, team_a, drop, django_capture_on_commit_callbacks):
    api_client.force_authenticate(owner)

    created = api_client.post(
        "/api/v1/scan-sources/",
        {"name": "API drop", "kind": "folder", "location": str(drop), "team": team_a.slug},
        format="json",
    )
    with django_capture_on_commit_callbacks(execute=True):
        pulled = api_client.post(f"/api/v1/scan-sources/{created.json()['id']}/pull/")
    refused = api_client.post(
        "/api/v1/scan-sources/",
        {"name": "x", "kind": "url", "location": "http://169.254.169.254/", "team": team_a.slug},
        format="json",
    )

    assert created.status_code == 201
    assert pulled.status_code == 202
    assert api_client.get("/api/v1/scan-sources/").json()["count"] == 1
    assert refused.status_code == 400
    assert "allow-list" in refused.json()["location"][0]


def test_the_scheduler_task_pulls_every_due_source(folder_source, drop, scans_dir):
    from findings.tasks import pull_due_sources

    shutil.copy(scans_dir / "trivy" / "scheme_2_many_vulns.json", drop / "nightly.json")

    pull_due_sources()

    folder_source.refresh_from_db()
    assert folder_source.last_pulled_at is not None
    assert ImportJob.objects.get(source=folder_source).status == JobStatus.DONE
    assert (drop / "processed" / "nightly.json").exists()


# ---- confinement of folder sources to their team's folder (issue 7, item 4) ------------------------


@pytest.fixture
def their_folder(drop):
    """Team B's (platform's) drop folder, beside team A's, holding a scan of theirs."""
    folder = drop.parent.parent / "platform"
    folder.mkdir()
    (folder / "theirs.json").write_text('{"SchemaVersion": 2, "Results": []}')
    return folder


@pytest.mark.parametrize("target", ["their folder", "the drop root", "a link to their folder", "a link up"])
def test_a_champion_cannot_point_a_folder_source_outside_their_team_folder(
    drop, their_folder, team_a, team_b, owner, target, tmp_path
):
    os.symlink(their_folder, drop / "to-theirs")
    os.symlink("..", drop / "up")
    location = {
        "their folder": their_folder,
        "the drop root": drop.parent.parent,
        "a link to their folder": drop / "to-theirs",
        "a link up": drop / "up" / "..",
    }[target]

    with pytest.raises(ValidationError) as refused:
        source_create(actor=owner, team=team_a, name="x", kind=SourceKind.FOLDER, location=str(location))

    message = refused.value.messages[0]
    assert "team's own drop folder" in message
    assert str(tmp_path) not in message and "platform" not in message
    assert not ScanSource.objects.exists()


def test_the_refusal_does_not_tell_whether_a_folder_outside_the_team_exists(
    drop, their_folder, team_a, owner
):
    messages = []
    for location in (their_folder, their_folder.parent / "no-such-team"):
        with pytest.raises(ValidationError) as refused:
            source_create(actor=owner, team=team_a, name="x", kind=SourceKind.FOLDER, location=str(location))
        messages.append(refused.value.messages)

    assert messages[0] == messages[1]


def test_a_pull_refuses_a_folder_swapped_for_a_link_to_another_team(folder_source, drop, their_folder):
    shutil.rmtree(drop)
    os.symlink(their_folder, drop)

    result = source_pull(source_id=folder_source.pk)

    assert "not Research's drop folder" in result.error
    assert str(their_folder) not in result.error
    assert (their_folder / "theirs.json").exists()
    assert not ImportJob.objects.exists()


def test_the_team_folder_is_made_on_first_use(drop, team_a, owner):
    own = drop.parent
    shutil.rmtree(own)

    source = source_create(actor=owner, team=team_a, name="x", kind=SourceKind.FOLDER, location=str(own))

    assert own.is_dir() and source.location == str(own)


def test_a_security_lead_grants_a_shared_folder_to_a_team(drop, team_a, owner, lead, scans_dir):
    from findings.services.folders import folder_grant_add, folder_grant_remove

    shared = drop.parent.parent / "shared-ci"
    shared.mkdir()
    with pytest.raises(PermissionDenied):
        folder_grant_add(actor=owner, team=team_a, path=str(shared))
    grant = folder_grant_add(actor=lead, team=team_a, path=str(shared))
    source = source_create(actor=owner, team=team_a, name="x", kind=SourceKind.FOLDER, location=str(shared))
    shutil.copy(scans_dir / "trivy" / "scheme_2_many_vulns.json", shared / "scan.json")

    folder_grant_remove(actor=lead, grant=grant)
    result = source_pull(source_id=source.pk)

    assert "ask a security lead for a grant" in result.error
    assert (shared / "scan.json").exists()
    assert AuditEntry.objects.filter(object_type="findings_scanfoldergrant", action="insert").exists()


def test_a_grant_outside_the_drop_roots_is_refused(drop, team_a, lead):
    from findings.services.folders import folder_grant_add

    for path in ("/etc", str(drop.parent.parent)):
        with pytest.raises(ValidationError, match="inside a drop root"):
            folder_grant_add(actor=lead, team=team_a, path=path)


def test_security_leads_grant_and_withdraw_folders_on_the_drop_folders_page(
    client, drop, team_a, lead, owner
):
    shared = drop.parent.parent / "shared-ci"
    shared.mkdir()
    url = reverse("findings:folders")

    refused = client_for(client, owner).post(url, {"team": team_a.slug, "path": str(shared)})
    own_page = client.get(url).content.decode()
    granted = client_for(client, lead).post(url, {"team": team_a.slug, "path": str(shared)}, follow=True)
    grant = ScanFolderGrant.objects.get()
    withdrawn = client.post(reverse("findings:folder-grant-remove", args=[grant.pk]), follow=True)

    assert refused.status_code == 403
    assert str(drop.parent) in own_page and "Grant a folder" not in own_page
    assert "may now read" in granted.content.decode()
    assert "no longer has" in withdrawn.content.decode()
    assert not ScanFolderGrant.objects.exists()


def test_folder_grants_through_the_api(api_client, drop, team_a, lead, owner, outsider):
    shared = drop.parent.parent / "shared-ci"
    shared.mkdir()

    api_client.force_authenticate(owner)
    refused = api_client.post("/api/v1/scan-folder-grants/", {"team": team_a.slug, "path": str(shared)})
    api_client.force_authenticate(lead)
    created = api_client.post("/api/v1/scan-folder-grants/", {"team": team_a.slug, "path": str(shared)})
    api_client.force_authenticate(outsider)
    hidden = api_client.get("/api/v1/scan-folder-grants/").json()["count"]
    api_client.force_authenticate(owner)
    seen = api_client.get("/api/v1/scan-folder-grants/").json()["results"]

    assert refused.status_code == 403
    assert created.status_code == 201 and created.json()["path"] == str(shared)
    assert hidden == 0
    assert [g["path"] for g in seen] == [str(shared)]


# ---- a source follows its asset to a new team (issue 7, item 17) ----------------------------------


def test_a_url_source_follows_its_asset_to_a_new_team_and_keeps_pulling(
    team_a, team_b, asset, owner, lead, outsider, settings, scans_dir, serve_bytes
):
    from assets.services.assets import asset_update
    from findings.selectors import source_list_for_user

    base = serve_bytes((scans_dir / "trivy" / "scheme_2_many_vulns.json").read_bytes())
    settings.HYGIENE_SCAN_URL_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.HYGIENE_SCAN_URL_ALLOW_PRIVATE = ["127.0.0.1"]
    source = source_create(
        actor=owner, team=team_a, asset=asset, name="CI", kind=SourceKind.URL, location=f"{base}/t.json"
    )

    asset_update(actor=lead, asset=asset, team=team_b)
    result = source_pull(source_id=source.pk)

    source.refresh_from_db()
    assert source.team == team_b
    assert result.error == "" and len(result.jobs) == 1
    assert ImportJob.objects.get(pk=result.jobs[0]).team == team_b
    assert list(source_list_for_user(user=outsider)) == [source]
    assert list(source_list_for_user(user=owner)) == []


def test_a_folder_source_that_followed_its_asset_out_of_the_team_folder_says_why_it_cannot_pull(
    folder_source, asset, team_b, lead, drop, scans_dir
):
    from assets.services.assets import asset_update

    shutil.copy(scans_dir / "trivy" / "scheme_2_many_vulns.json", drop / "scan.json")
    asset_update(actor=lead, asset=asset, team=team_b)

    result = source_pull(source_id=folder_source.pk)

    assert "not Platform's drop folder" in result.error
    assert (drop / "scan.json").exists()
