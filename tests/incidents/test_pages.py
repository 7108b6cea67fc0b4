"""The incident pages for each persona: owner (champion), teammate, outsider, auditor, security lead."""

import datetime as dt

import pytest
from django.utils import timezone

from hygiene.models import AuditEntry
from incidents.models import EntryKind, FollowUp, Incident, Status, TimelineEntry
from incidents.services import incident_transition, playbook_start
from tests.conftest import client_for
from tests.factories.assets import AssetFactory, level
from tests.factories.incidents import ExerciseFactory, IncidentFactory, playbook

pytestmark = pytest.mark.django_db


def local(minutes_ago):
    return (timezone.localtime() - dt.timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M")


def test_header_offers_report_an_incident_on_every_page(client, teammate):
    client_for(client, teammate)
    for url in ("/", "/assets/", "/findings/", "/incidents/"):
        assert "Report an incident" in client.get(url).content.decode()


def test_member_reports_from_the_form_naming_assets(client, teammate, team_a):
    asset = AssetFactory(team=team_a, name="support-chat-logs", classification=level("restricted"))
    client_for(client, teammate)
    page = client.get("/incidents/report/?next=/assets/")
    assert page.status_code == 200
    assert 'data-sensitivity="restricted"' in page.content.decode()
    response = client.post(
        "/incidents/report/",
        {
            "title": "Chat logs in a public bucket",
            "category": "data_leakage",
            "severity": "critical",
            "description": "Bucket listing was public",
            "occurred_at": local(60),
            "detected_at": local(10),
            "assets": "support-chat-logs",
            "team": team_a.slug,
        },
        follow=True,
    )
    incident = Incident.objects.get()
    assert response.redirect_chain[-1][0] == f"/incidents/{incident.pk}/"
    text = response.content.decode()
    assert "restricted data" in text
    assert incident.is_restricted and list(incident.affected_assets.all()) == [asset]


def test_report_form_says_why_when_an_asset_name_is_unknown(client, teammate, team_a):
    client_for(client, teammate)
    response = client.post(
        "/incidents/report/",
        {
            "title": "x",
            "category": "data_leakage",
            "severity": "low",
            "occurred_at": local(5),
            "detected_at": local(1),
            "assets": "nope",
            "team": team_a.slug,
        },
    )
    assert response.status_code == 200
    assert "No asset you can see is named “nope”" in response.content.decode()
    assert not Incident.objects.exists()


def test_report_form_refuses_detection_before_occurrence_with_a_message(client, teammate, team_a):
    client_for(client, teammate)
    response = client.post(
        "/incidents/report/",
        {
            "title": "x",
            "category": "data_leakage",
            "severity": "low",
            "occurred_at": local(5),
            "detected_at": local(50),
            "team": team_a.slug,
        },
    )
    assert "cannot be before when it happened" in response.content.decode()
    assert not Incident.objects.exists()


def test_auditor_and_teamless_people_are_told_why_they_cannot_report(client, auditor):
    client_for(client, auditor)
    assert "Report an incident" not in client.get("/").content.decode()
    response = client.get("/incidents/report/")
    assert response.status_code == 403
    assert "Auditors read incidents" in response.content.decode()


def test_personas_on_the_list_and_the_incident_page(client, owner, teammate, outsider, auditor, lead, team_a):
    incident = IncidentFactory(team=team_a, title="Leaked token")
    for person, list_sees, detail in (
        (owner, True, 200),
        (teammate, True, 200),
        (outsider, False, 404),
        (auditor, True, 200),
        (lead, True, 200),
    ):
        client_for(client, person)
        assert ("Leaked token" in client.get("/incidents/").content.decode()) is list_sees, person
        assert client.get(f"/incidents/{incident.pk}/").status_code == detail, person


def test_restricted_incident_is_hidden_from_other_teams_and_auditors(
    client, teammate, outsider, auditor, lead, team_a
):
    asset = AssetFactory(team=team_a, classification=level("restricted"))
    incident = IncidentFactory(team=team_a, title="Training data exfiltrated")
    incident.asset_links.create(asset=asset)
    incident.refresh_from_db()
    assert incident.is_restricted
    for person, status in ((teammate, 200), (lead, 200), (outsider, 404), (auditor, 404)):
        client_for(client, person)
        assert client.get(f"/incidents/{incident.pk}/").status_code == status, person
        listed = "Training data exfiltrated" in client.get("/incidents/").content.decode()
        assert listed is (status == 200), person
        exported = client.get("/incidents/export.csv").getvalue().decode()
        assert ("Training data exfiltrated" in exported) is (status == 200), person


def test_incident_page_offers_actions_only_to_people_who_can_finish_them(client, owner, teammate, team_a):
    incident = IncidentFactory(team=team_a)
    client_for(client, teammate)
    text = client.get(f"/incidents/{incident.pk}/").content.decode()
    assert "Next: Acknowledged" not in text and "Start playbook" not in text
    assert "Add note" in text
    client_for(client, owner)
    text = client.get(f"/incidents/{incident.pk}/").content.decode()
    assert "Next: Acknowledged" in text


def test_skipping_a_state_on_the_page_shows_why(client, owner, team_a):
    incident = IncidentFactory(team=team_a)
    client_for(client, owner)
    response = client.post(f"/incidents/{incident.pk}/transition/", {"status": "resolved"}, follow=True)
    assert "can only become acknowledged next" in response.content.decode()
    incident.refresh_from_db()
    assert incident.status == Status.REPORTED


def test_plain_member_posting_an_action_is_refused_with_a_message(client, teammate, team_a):
    incident = IncidentFactory(team=team_a)
    client_for(client, teammate)
    response = client.post(f"/incidents/{incident.pk}/transition/", {"status": "acknowledged"}, follow=True)
    assert "champion or lead" in response.content.decode()
    incident.refresh_from_db()
    assert incident.status == Status.REPORTED


def test_outsider_posting_to_another_teams_incident_gets_not_found(client, outsider, team_a):
    incident = IncidentFactory(team=team_a)
    client_for(client, outsider)
    assert client.post(f"/incidents/{incident.pk}/notes/", {"text": "hi"}).status_code == 404
    assert not TimelineEntry.objects.filter(incident=incident).exists()


def test_list_filters_by_status_severity_category_team_and_period(client, lead, team_a, team_b):
    IncidentFactory(team=team_a, title="Alpha", severity="low", category="prompt_injection")
    old = IncidentFactory(team=team_b, title="Bravo", severity="critical")
    Incident.objects.filter(pk=old.pk).update(
        occurred_at=timezone.now() - dt.timedelta(days=100),
        detected_at=timezone.now() - dt.timedelta(days=99),
        reported_at=timezone.now() - dt.timedelta(days=99),
    )
    client_for(client, lead)

    def titles(query):
        text = client.get(f"/incidents/?{query}").content.decode()
        return {title for title in ("Alpha", "Bravo") if f": {title}</a>" in text}

    assert titles("") == {"Alpha", "Bravo"}
    assert titles("severity=critical") == {"Bravo"}
    assert titles("category=prompt_injection") == {"Alpha"}
    assert titles(f"team={team_b.slug}") == {"Bravo"}
    assert titles("period=30") == {"Alpha"}
    assert titles("status=closed") == set()
    assert titles("status=open") == {"Alpha", "Bravo"}


def test_list_pager_counts_the_matches_from_the_status_counts_without_a_count_query(
    client, teammate, team_a, team_b
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    now = timezone.now()
    times = {f"{step}_at": now for step in ("acknowledged", "contained", "resolved", "closed")}
    IncidentFactory.create_batch(3, team=team_a, status=Status.CLOSED, **times)
    IncidentFactory.create_batch(2, team=team_a, status=Status.REPORTED)
    IncidentFactory.create_batch(4, team=team_b, status=Status.REPORTED)  # another team's: not counted
    client_for(client, teammate)
    for url, matches in (
        ("/incidents/", 5),
        ("/incidents/?status=closed", 3),
        ("/incidents/?status=open", 2),
    ):
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.context["page"].paginator.count == matches, url
        assert len(response.context["page"].object_list) == matches
        counting = [
            q["sql"] for q in captured if 'COUNT(*) AS "__count" FROM "incidents_incident"' in q["sql"]
        ]
        assert counting == [], url


def test_incident_page_reads_the_classification_ladder_with_the_incident_not_in_a_query_of_its_own(
    client, teammate, team_a
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    bare = IncidentFactory(team=team_a)
    confidential = IncidentFactory(team=team_a)
    confidential.asset_links.create(asset=AssetFactory(team=team_a, classification=level("confidential")))
    client_for(client, teammate)

    with CaptureQueriesContext(connection) as captured:
        page = client.get(f"/incidents/{bare.pk}/").content.decode()
    assert not [q for q in captured if q["sql"].startswith('SELECT "assets_classificationlevel"')]
    assert not [q for q in captured if 'FROM "assets_asset"' in q["sql"]]
    assert "touches confidential data" not in page
    with CaptureQueriesContext(connection) as captured:
        page = client.get(f"/incidents/{confidential.pk}/").content.decode()
    assert "touches confidential data" in page
    assert not [q for q in captured if q["sql"].startswith('SELECT "assets_classificationlevel"')]


def test_exports_follow_the_filters_and_are_audited(client, lead, team_a):
    IncidentFactory(team=team_a, title="Alpha", severity="low")
    IncidentFactory(team=team_a, title="Bravo", severity="critical")
    client_for(client, lead)
    csv_text = client.get("/incidents/export.csv?severity=critical").getvalue().decode()
    assert "Bravo" in csv_text and "Alpha" not in csv_text
    rows = client.get("/incidents/export.json").getvalue()
    import json

    assert {row["title"] for row in json.loads(rows)} == {"Alpha", "Bravo"}
    assert AuditEntry.objects.filter(action="export", object_type="incidents_incident").count() == 2


def test_playbook_pages_for_everyone_and_editing_for_security_leads(client, teammate, lead):
    client_for(client, teammate)
    assert "Leaked credential or secret" in client.get("/incidents/playbooks/").content.decode()
    assert client.get("/incidents/playbooks/credential-leak/").status_code == 200
    assert client.get("/incidents/playbooks/credential-leak/edit/").status_code == 403
    client_for(client, lead)
    assert client.get("/incidents/playbooks/credential-leak/edit/").status_code == 200


def test_exercise_pages_show_the_last_exercise_per_team(client, owner, outsider, team_a):
    exercise = ExerciseFactory(team=team_a, held_on=timezone.localdate() - dt.timedelta(days=3))
    client_for(client, owner)
    text = client.get("/incidents/exercises/").content.decode()
    assert exercise.get_absolute_url() in text
    assert client.get(exercise.get_absolute_url()).status_code == 200
    client_for(client, outsider)
    assert client.get(exercise.get_absolute_url()).status_code == 404


def test_champion_records_an_exercise_with_follow_ups(client, owner, teammate, team_a):
    client_for(client, owner)
    response = client.post(
        "/incidents/exercises/new/",
        {
            "team": team_a.slug,
            "playbook": "prompt-injection",
            "kind": "tabletop",
            "held_on": timezone.localdate().isoformat(),
            "scenario": "Injected tool call",
            "participants": "owner, teammate",
            "gaps_found": "Nobody knew who disables the plugin",
            "followups": f"{timezone.localdate().isoformat()} | teammate | Write the kill-switch runbook",
        },
        follow=True,
    )
    assert "Exercise recorded." in response.content.decode()
    followup = FollowUp.objects.get()
    assert followup.owner == teammate and followup.exercise.team == team_a


def test_overdue_follow_ups_show_on_the_owners_overview(client, owner, teammate, team_a):
    incident = IncidentFactory(team=team_a, status=Status.REPORTED)
    FollowUp.objects.create(
        incident=incident,
        title="Rotate the CI secrets",
        owner=teammate,
        due_on=timezone.localdate() - dt.timedelta(days=2),
    )
    client_for(client, teammate)
    assert "Rotate the CI secrets" in client.get("/").content.decode()
    client_for(client, owner)
    assert "Rotate the CI secrets" not in client.get("/").content.decode()


def test_learnings_page_is_readable_by_everyone_signed_in(client, outsider, auditor):
    for person in (outsider, auditor):
        client_for(client, person)
        assert client.get("/incidents/learnings/").status_code == 200


def test_incident_page_shows_timeline_checklist_and_durations(client, owner, team_a):
    incident = IncidentFactory(team=team_a)
    incident_transition(actor=owner, incident=incident, status=Status.ACKNOWLEDGED)
    playbook_start(actor=owner, incident=incident, playbook=playbook())
    client_for(client, owner)
    text = client.get(f"/incidents/{incident.pk}/").content.decode()
    assert "Revoke or rotate the exposed credential" in text
    assert "Time to detect" in text and "30 min" in text
    assert TimelineEntry.objects.filter(incident=incident, kind=EntryKind.PLAYBOOK).exists()
