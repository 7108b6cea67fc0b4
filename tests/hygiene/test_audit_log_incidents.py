"""Entries of the audit log about incidents (the incident, its timeline, affected assets, findings, playbook
run and checklist, review, follow-ups, grants) are scoped to the incident: as visible as the incident, on
the page, in the CSV export and through the API, for every persona."""

import csv
import io
import json

import pytest
from guardian.shortcuts import assign_perm

from hygiene.models import AuditEntry
from incidents.services import incident_grant
from tests.conftest import client_for
from tests.factories.assets import AssetFactory, level
from tests.factories.audits import EngagementFactory
from tests.factories.incidents import incident_with_history

pytestmark = pytest.mark.django_db

INCIDENT_TABLES = {
    "incidents_incident",
    "incidents_incidentasset",
    "incidents_timelineentry",
    "incidents_playbookrun",
    "incidents_checklistitem",
    "incidents_review",
    "incidents_followup",
}


@pytest.fixture
def story(owner, outsider, lead, team_a, team_b):
    secret_asset = AssetFactory(team=team_a, name="patients", classification=level("restricted"))
    open_asset = AssetFactory(team=team_a, name="churn-model")
    secret = incident_with_history(actor=owner, team=team_a, title="Patients leaked", assets=[secret_asset])
    incident_grant(actor=owner, incident=secret, person=outsider)
    seen = incident_with_history(actor=owner, team=team_a, title="Token in notebook", assets=[open_asset])
    other_asset = AssetFactory(team=team_b, name="platform-api")
    other = incident_with_history(
        actor=lead, team=team_b, title="Platform outage", assets=[other_asset], commander=outsider
    )
    assert secret.is_restricted and not seen.is_restricted
    return {"secret": secret, "seen": seen, "other": other}


def _ids(incident) -> set[int]:
    return set(AuditEntry.objects.filter(scope_incident_id=incident.pk).values_list("pk", flat=True))


def _markers(incident) -> set[str]:
    entries = AuditEntry.objects.filter(scope_incident_id=incident.pk)
    return {f"{e.object_type} #{e.object_id}<" for e in entries if e.object_id}


def _reads(client, api_client, person) -> dict[str, object]:
    """What ``person`` reads of the log: the page's markup, the CSV's ids, the API's ids (or status codes)."""
    client_for(client, person)
    page = client.get("/audit-log/", {"per_page": 200})
    export = client.get("/audit-log/export.csv")
    api_client.force_authenticate(person)
    api = api_client.get("/api/v1/audit-log/", {"page_size": 1000})
    result: dict[str, object] = {"page": page.status_code, "csv": export.status_code, "api": api.status_code}
    if page.status_code == 200:
        result["page_text"] = page.content.decode()
    if export.status_code == 200:
        rows = csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode()))
        result["csv_ids"] = {int(row["id"]) for row in rows}
    if api.status_code == 200:
        result["api_ids"] = _api_ids(api_client, api.json())
    return result


def _api_ids(api_client, body: dict) -> set[int]:
    """Every entry id of the API's listing, following its pages."""
    ids = {row["id"] for row in body["results"]}
    while body.get("next"):
        body = api_client.get(body["next"]).json()
        ids |= {row["id"] for row in body["results"]}
    return ids


def _sees(reads: dict, incident) -> tuple[bool, bool, bool]:
    ids = _ids(incident)
    page = any(marker in reads["page_text"] for marker in _markers(incident))
    return page, bool(ids & reads["csv_ids"]), bool(ids & reads["api_ids"])


def test_every_change_of_an_incident_is_scoped_to_it_and_its_team(story, team_a):
    secret = story["secret"]
    entries = AuditEntry.objects.filter(scope_incident_id=secret.pk)
    assert set(entries.values_list("object_type", flat=True)) >= INCIDENT_TABLES
    assert set(entries.values_list("scope_team_id", flat=True)) == {team_a.pk}
    grant = AuditEntry.objects.filter(object_type="guardian_userobjectpermission").latest("id")
    assert grant.scope_incident_id == secret.pk
    # An entry about the incident's restricted asset is also about the asset.
    link = entries.get(object_type="incidents_incidentasset")
    assert link.scope_asset_id == secret.asset_links.get().asset_id


def test_each_persona_reads_incident_entries_only_as_far_as_they_see_the_incident(
    client, api_client, story, owner, teammate, outsider, auditor, lead
):
    for member in (owner, teammate, outsider):  # the log is for security leads and auditors
        reads = _reads(client, api_client, member)
        assert (reads["page"], reads["csv"]) == (403, 403), member.username
        assert reads["api"] == 403 or reads.get("api_ids") == set(), member.username

    reads = _reads(client, api_client, auditor)
    assert _sees(reads, story["secret"]) == (False, False, False)
    assert _sees(reads, story["seen"]) == (True, True, True)
    assert _sees(reads, story["other"]) == (True, True, True)
    assert "about restricted assets or incidents are not shown" in reads["page_text"]
    assert "Patients leaked" not in reads["page_text"]

    reads = _reads(client, api_client, lead)
    assert _sees(reads, story["secret"]) == (True, True, True)
    assert "not shown" not in reads["page_text"]


def test_api_filtered_to_incident_tables_leaks_nothing_of_the_restricted_incident(api_client, story, auditor):
    api_client.force_authenticate(auditor)
    hidden = _ids(story["secret"])
    for object_type in sorted(INCIDENT_TABLES):
        rows = api_client.get("/api/v1/audit-log/", {"object_type": object_type, "page_size": 500}).json()
        assert not {row["id"] for row in rows["results"]} & hidden, object_type
        assert "Patients leaked" not in json.dumps(rows), object_type


def test_auditor_inside_an_engagement_that_opens_restricted_data_reads_its_incident_entries(
    client, api_client, story, auditor, lead, team_a
):
    engagement = EngagementFactory(auditor=auditor, opened_by=lead, teams=[team_a], restricted_in_scope=True)
    client_for(client, auditor)
    assert client.get(f"/audits/{engagement.pk}/").status_code == 200  # enters the engagement
    page = client.get("/audit-log/", {"per_page": 200}).content.decode()
    assert any(marker in page for marker in _markers(story["secret"]))
    assert not any(marker in page for marker in _markers(story["other"]))  # team B: outside its teams

    closed = EngagementFactory(auditor=auditor, opened_by=lead, teams=[team_a])
    client.get(f"/audits/{closed.pk}/")
    page = client.get("/audit-log/", {"per_page": 200}).content.decode()
    assert not any(marker in page for marker in _markers(story["secret"]))
    assert any(marker in page for marker in _markers(story["seen"]))


def test_auditor_granted_the_restricted_incident_by_name_reads_its_entries(
    client, api_client, story, auditor
):
    assign_perm("incidents.view_incident", auditor, story["secret"])
    assert _sees(_reads(client, api_client, auditor), story["secret"]) == (True, True, True)


def test_team_token_of_another_team_reads_none_of_the_incident_s_entries(api_client, story, lead, team_b):
    from tests.factories import ApiTokenFactory

    token = ApiTokenFactory(user=lead, team=team_b, actions=["read"])
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.clear}")
    ids = _api_ids(api_client, api_client.get("/api/v1/audit-log/", {"page_size": 1000}).json())
    assert not ids & (_ids(story["secret"]) | _ids(story["seen"]))
    assert ids & _ids(story["other"])


def test_entries_written_before_the_incident_became_restricted_are_hidden_once_it_is(
    client, api_client, story, owner, auditor
):
    from assets.services.assets import asset_update

    seen = story["seen"]
    before = _sees(_reads(client, api_client, auditor), seen)
    assert before == (True, True, True)
    asset = seen.asset_links.get().asset
    asset_update(actor=owner, asset=asset, classification=level("restricted"))
    seen.refresh_from_db()
    assert seen.is_restricted  # the trigger on assets keeps incidents' flag
    assert _sees(_reads(client, api_client, auditor), seen) == (False, False, False)
