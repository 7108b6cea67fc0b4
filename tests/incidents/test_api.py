"""The incidents API for each persona, through the same services and selectors as the pages."""

import datetime as dt

import pytest
from django.utils import timezone

from incidents.models import Incident, Status
from tests.factories import ApiTokenFactory
from tests.factories.assets import AssetFactory, level
from tests.factories.findings import FindingFactory
from tests.factories.incidents import ExerciseFactory, IncidentFactory

pytestmark = pytest.mark.django_db


def iso(minutes_ago):
    return (timezone.now() - dt.timedelta(minutes=minutes_ago)).isoformat()


def report(api_client, team, **extra):
    body = {
        "team": team.slug,
        "title": "Prompt injection in the support bot",
        "category": "prompt_injection",
        "severity": "high",
        "occurred_at": iso(30),
        "detected_at": iso(20),
        **extra,
    }
    return api_client.post("/api/v1/incidents/", body, format="json")


def test_member_reports_through_the_api(api_client, teammate, team_a):
    api_client.force_authenticate(teammate)
    response = report(api_client, team_a)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "reported" and body["timeline"][0]["kind"] == "reported"


def test_api_refuses_times_out_of_order_with_the_reason(api_client, teammate, team_a):
    api_client.force_authenticate(teammate)
    response = report(api_client, team_a, occurred_at=iso(5), detected_at=iso(50))
    assert response.status_code == 400
    assert "cannot be before when it happened" in str(response.json())
    assert not Incident.objects.exists()


def test_outsider_cannot_report_for_another_team(api_client, outsider, team_a):
    api_client.force_authenticate(outsider)
    assert report(api_client, team_a).status_code == 400  # the team is not even visible


def test_full_lifecycle_through_the_api(api_client, owner, team_a):
    api_client.force_authenticate(owner)
    incident = report(api_client, team_a).json()
    base = f"/api/v1/incidents/{incident['id']}"
    acknowledged = api_client.post(f"{base}/transition/", {"status": "acknowledged"}, format="json")
    assert acknowledged.status_code == 200 and acknowledged.json()["commander"] == "owner"
    started = api_client.post(f"{base}/playbook/", {"playbook": "prompt-injection"}, format="json")
    assert started.json()["playbook_version"] == "prompt-injection@1"
    item = started.json()["checklist"][0]["id"]
    assert api_client.post(f"{base}/steps/{item}/done/", {}, format="json").json()["done_by"] == "owner"
    for status in ("contained", "resolved"):
        assert api_client.post(f"{base}/transition/", {"status": status}, format="json").status_code == 200
    review = api_client.post(
        f"{base}/review/", {"root_cause": "No input isolation", "summary": "owner saw it"}, format="json"
    )
    assert review.status_code == 200
    published = api_client.post(f"{base}/publish/", {}, format="json").json()
    assert published["published_summary"] == "[person] saw it"
    learnings = api_client.get("/api/v1/learnings/").json()["results"]
    assert learnings[0]["summary"] == "[person] saw it"
    detail = api_client.get(f"{base}/").json()
    assert [e["kind"] for e in detail["timeline"]][:4] == ["reported", "status", "playbook", "step"]


def test_skipping_a_state_through_the_api_is_refused(api_client, owner, team_a):
    incident = IncidentFactory(team=team_a)
    api_client.force_authenticate(owner)
    response = api_client.post(
        f"/api/v1/incidents/{incident.pk}/transition/", {"status": "closed"}, format="json"
    )
    assert response.status_code == 400
    assert "no step skipped" in str(response.json())


def test_member_changing_an_incident_is_forbidden_and_another_team_is_not_found(
    api_client, teammate, outsider, team_a
):
    incident = IncidentFactory(team=team_a)
    api_client.force_authenticate(teammate)
    response = api_client.post(
        f"/api/v1/incidents/{incident.pk}/transition/", {"status": "acknowledged"}, format="json"
    )
    assert response.status_code == 403
    api_client.force_authenticate(outsider)
    assert api_client.get(f"/api/v1/incidents/{incident.pk}/").status_code == 404
    response = api_client.post(f"/api/v1/incidents/{incident.pk}/notes/", {"text": "x"}, format="json")
    assert response.status_code == 404


def test_commander_from_another_team_is_refused(api_client, owner, outsider, team_a):
    incident = IncidentFactory(team=team_a)
    api_client.force_authenticate(owner)
    response = api_client.post(
        f"/api/v1/incidents/{incident.pk}/transition/",
        {"status": "acknowledged", "commander": "outsider"},
        format="json",
    )
    assert response.status_code == 400 and "is not in Research" in str(response.json())
    incident.refresh_from_db()
    assert incident.status == Status.REPORTED


def test_auditor_reads_but_never_writes_and_misses_restricted_incidents(api_client, auditor, team_a):
    plain = IncidentFactory(team=team_a, title="Plain")
    secret = IncidentFactory(team=team_a, title="Secret")
    secret.asset_links.create(asset=AssetFactory(team=team_a, classification=level("restricted")))
    api_client.force_authenticate(auditor)
    titles = [row["title"] for row in api_client.get("/api/v1/incidents/").json()["results"]]
    assert titles == ["Plain"]
    assert api_client.get(f"/api/v1/incidents/{secret.pk}/").status_code == 404
    response = api_client.post(f"/api/v1/incidents/{plain.pk}/notes/", {"text": "x"}, format="json")
    assert response.status_code == 403


def test_list_filters_and_export_through_the_api(api_client, lead, team_a):
    IncidentFactory(team=team_a, title="Low one", severity="low")
    IncidentFactory(team=team_a, title="Critical one", severity="critical")
    api_client.force_authenticate(lead)
    rows = api_client.get("/api/v1/incidents/?severity=critical").json()["results"]
    assert [row["title"] for row in rows] == ["Critical one"]
    exported = api_client.get("/api/v1/incidents/export/?as=json&severity=low")
    assert exported.status_code == 200
    assert b"Low one" in exported.getvalue() and b"Critical one" not in exported.getvalue()


def test_linking_a_finding_the_member_can_see(api_client, teammate, team_a, team_b):
    incident = IncidentFactory(team=team_a)
    mine = FindingFactory(asset=AssetFactory(team=team_a))
    theirs = FindingFactory(asset=AssetFactory(team=team_b))
    api_client.force_authenticate(teammate)
    base = f"/api/v1/incidents/{incident.pk}/findings/"
    assert api_client.post(base, {"finding": mine.pk}, format="json").json()["findings"] == [mine.pk]
    response = api_client.post(base, {"finding": theirs.pk}, format="json")
    assert response.status_code == 400 and "No finding you can see" in str(response.json())


def test_playbooks_read_by_all_and_versioned_by_security_leads(api_client, owner, lead):
    api_client.force_authenticate(owner)
    slugs = [row["slug"] for row in api_client.get("/api/v1/playbooks/").json()]
    assert "credential-leak" in slugs
    body = {
        "title": "Leaked credential or secret",
        "categories": ["credential_leak"],
        "summary": "v2",
        "steps": [{"title": "Revoke", "role": "commander", "target_minutes": 15}],
        "escalation": [{"target": "champions", "after_minutes": 5}],
        "change_note": "Shorter",
    }
    assert (
        api_client.post("/api/v1/playbooks/credential-leak/versions/", body, format="json").status_code == 403
    )
    api_client.force_authenticate(lead)
    response = api_client.post("/api/v1/playbooks/credential-leak/versions/", body, format="json")
    assert response.status_code == 201 and response.json()["number"] == 2
    old = api_client.get("/api/v1/playbooks/credential-leak/?version=1").json()
    assert len(old["steps"]) == 5


def test_exercises_through_the_api(api_client, owner, outsider, team_a):
    api_client.force_authenticate(owner)
    response = api_client.post(
        "/api/v1/exercises/",
        {
            "team": team_a.slug,
            "playbook": "poisoning",
            "kind": "dr_drill",
            "held_on": timezone.localdate().isoformat(),
            "scenario": "Restore the model registry",
            "participants": ["owner"],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    api_client.force_authenticate(outsider)
    assert api_client.get("/api/v1/exercises/").json()["results"] == []


def test_read_only_token_cannot_write(api_client, owner, team_a):
    incident = IncidentFactory(team=team_a)
    ExerciseFactory(team=team_a)
    token = ApiTokenFactory(user=owner, team=team_a, actions=["read"])
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.clear}")
    assert api_client.get(f"/api/v1/incidents/{incident.pk}/").status_code == 200
    response = api_client.post(
        f"/api/v1/incidents/{incident.pk}/transition/", {"status": "acknowledged"}, format="json"
    )
    assert response.status_code == 403


def test_the_schema_documents_the_incident_endpoints(api_client, teammate):
    api_client.force_authenticate(teammate)
    schema = api_client.get("/api/v1/schema/").content.decode()
    for path in (
        "/api/v1/incidents/{id}/transition/",
        "/api/v1/playbooks/",
        "/api/v1/exercises/",
        "/api/v1/learnings/",
    ):
        assert path in schema


def test_exercise_follow_ups_through_the_api(api_client, owner, teammate, team_a):
    exercise = ExerciseFactory(team=team_a)
    body = {
        "title": "Write the restore runbook",
        "owner": "teammate",
        "due_on": timezone.localdate().isoformat(),
    }
    api_client.force_authenticate(teammate)
    assert (
        api_client.post(f"/api/v1/exercises/{exercise.pk}/followups/", body, format="json").status_code == 403
    )
    api_client.force_authenticate(owner)
    response = api_client.post(f"/api/v1/exercises/{exercise.pk}/followups/", body, format="json")
    assert response.status_code == 201 and response.json()["owner"] == "teammate"


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/incidents/?q=bot%00",
        "/api/v1/incidents/?team=research%00&status=open%00",
        "/api/v1/exercises/?team=%00",
        "/incidents/?q=bot%00",
        "/incidents/exercises/?team=%00",
    ],
)
def test_a_nul_character_in_a_list_filter_is_ignored_not_a_server_error(
    url, client, api_client, lead, team_a
):
    """Found by the schemathesis run (issue 13): psycopg2 refuses a NUL in a query parameter."""
    IncidentFactory(team=team_a, title="Prompt injection in the support bot")
    ExerciseFactory(team=team_a)
    api_client.force_authenticate(lead)
    client.force_login(lead)

    response = (api_client if url.startswith("/api/") else client).get(url)

    assert response.status_code == 200
