"""Incidents in the auditors' app: the workspace, the evidence bundle (round trip), the PDF report's incident
metrics, OSCAL observations (validated by compliance-trestle) and the incidents list in the exports; each
read in the engagement's scope, restricted incidents only when the engagement opens restricted data."""

import csv
import datetime as dt
import io
import json
import zipfile

import pytest
from django.utils import timezone

from audits.services.bundles import bundle_write
from audits.services.oscal import engagement_oscal
from audits.services.report import engagement_report_pdf
from audits.services.verify import bundle_verify
from hygiene.models import AuditEntry
from incidents.models import ExerciseKind
from incidents.services import exercise_record, followup_add
from tests.audits.test_sections import _pdf_text
from tests.conftest import client_for
from tests.factories.audits import EngagementFactory
from tests.factories.incidents import IncidentFactory, incident_with_history, playbook

pytestmark = pytest.mark.django_db


@pytest.fixture
def incidents(estate, owner, lead, outsider, teammate, team_a, team_b):
    """Team A: an incident on the open model and one on the restricted dataset (so restricted); team B: one;
    team A held an exercise in the period and one long before it; an incident closed before the period."""
    seen = incident_with_history(
        actor=owner, team=team_a, title="Token in notebook", assets=[estate["model"]]
    )
    secret = incident_with_history(
        actor=owner, team=team_a, title="Patients leaked", assets=[estate["secret"]], severity="critical"
    )
    other = incident_with_history(
        actor=lead, team=team_b, title="Platform outage", assets=[estate["other"]], commander=outsider
    )
    old = IncidentFactory(
        team=team_a,
        title="Long closed",
        status="closed",
        occurred_at=timezone.now() - dt.timedelta(days=400),
        detected_at=timezone.now() - dt.timedelta(days=400),
        reported_at=timezone.now() - dt.timedelta(days=400),
        acknowledged_at=timezone.now() - dt.timedelta(days=399),
        contained_at=timezone.now() - dt.timedelta(days=399),
        resolved_at=timezone.now() - dt.timedelta(days=398),
        closed_at=timezone.now() - dt.timedelta(days=398),
    )
    drill = exercise_record(
        actor=owner,
        team=team_a,
        playbook=playbook(),
        kind=ExerciseKind.TABLETOP,
        held_on=timezone.localdate() - dt.timedelta(days=10),
        scenario="A key is pasted in a public notebook.",
        participant_ids=[teammate.pk],
        gaps_found="Nobody knew who rotates keys.",
    )
    followup_add(
        actor=owner, title="Name a key owner", owner=owner, due_on=timezone.localdate(), exercise=drill
    )
    ancient = exercise_record(
        actor=owner,
        team=team_a,
        playbook=playbook(),
        kind=ExerciseKind.DR_DRILL,
        held_on=timezone.localdate() - dt.timedelta(days=300),
        scenario="Restore the feature store.",
    )
    return {"seen": seen, "secret": secret, "other": other, "old": old, "drill": drill, "ancient": ancient}


def _bundle(engagement) -> bytes:
    out = io.BytesIO()
    bundle_write(engagement=engagement, out=out)
    return out.getvalue()


def _records(data: bytes, key: str) -> tuple[list[dict], list[dict]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        rows = list(csv.DictReader(io.StringIO(archive.read(f"records/{key}.csv").decode())))
        return rows, json.loads(archive.read(f"records/{key}.json"))


def test_bundle_holds_the_period_s_incidents_with_timelines_reviews_followups_and_exercises_and_verifies(
    incidents, engagement
):
    data = _bundle(engagement)
    rows, records = _records(data, "incidents")
    assert [row["title"] for row in rows] == ["Token in notebook"]  # not restricted, not team B, not closed
    assert [record["title"] for record in records] == ["Token in notebook"]
    row = records[0]
    assert row["reference"] == f"INC-{incidents['seen'].pk}"
    assert (row["minutes_to_detect"], row["minutes_to_acknowledge"]) == (60, 20)
    assert (row["minutes_to_contain"], row["minutes_to_resolve"]) == (120, 240)
    assert row["affected_assets"] == "churn-model" and row["reviewed"] is True
    assert (row["followups"], row["followups_open"]) == (1, 1)

    timeline, _ = _records(data, "incident-timeline")
    texts = " ".join(entry["text"] for entry in timeline)
    assert "Note on Token in notebook: token rotated" in texts
    assert "Patients" not in texts and "Platform" not in texts
    assert {entry["incident_id"] for entry in timeline} == {str(incidents["seen"].pk)}

    reviews, _ = _records(data, "incident-reviews")
    assert [review["root_cause"] for review in reviews] == ["Root cause of Token in notebook"]
    followups, _ = _records(data, "incident-followups")
    assert {f["title"] for f in followups} == {"Follow-up of Token in notebook", "Name a key owner"}
    exercises, exercise_records = _records(data, "exercises")
    assert [e["id"] for e in exercises] == [str(incidents["drill"].pk)]  # the ancient one is outside
    assert exercise_records[0]["participants"] == "teammate"
    assert exercise_records[0]["gaps_found"] == "Nobody knew who rotates keys."

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    keys = {section["key"]: section["rows"] for section in manifest["sections"]}
    assert keys["incidents"] == 1 and keys["exercises"] == 1 and keys["incident-reviews"] == 1
    report = bundle_verify(source=io.BytesIO(data))
    assert report.ok, report.problems()


def test_bundle_of_an_engagement_that_opens_restricted_data_holds_restricted_incidents(
    incidents, restricted_engagement
):
    data = _bundle(restricted_engagement)
    rows, _ = _records(data, "incidents")
    assert {row["title"] for row in rows} == {"Token in notebook", "Patients leaked"}
    assert {row["restricted"] for row in rows if row["title"] == "Patients leaked"} == {"True"}
    reviews, _ = _records(data, "incident-reviews")
    assert "Root cause of Patients leaked" in {review["root_cause"] for review in reviews}
    assert "Platform outage" not in json.dumps(rows)
    assert bundle_verify(source=io.BytesIO(data)).ok


def test_bundle_audit_extract_redacts_entries_about_restricted_incidents_and_still_verifies(
    incidents, engagement
):
    data = _bundle(engagement)
    hidden = set(
        AuditEntry.objects.filter(scope_incident_id=incidents["secret"].pk).values_list("seq", flat=True)
    )
    assert hidden
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        lines = [json.loads(line) for line in archive.read("audit-log/extract.jsonl").decode().splitlines()]
    about_secret = [line for line in lines if line.get("seq") in hidden]
    assert about_secret and all(line.get("redacted") for line in about_secret)
    assert "Patients leaked" not in archive_text(data, "audit-log/extract.jsonl")
    assert bundle_verify(source=io.BytesIO(data)).ok


def archive_text(data: bytes, name: str) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read(name).decode()


def test_oscal_results_with_incidents_and_exercises_validate_and_point_at_the_inventory(
    incidents, engagement, restricted_engagement, lead
):
    from trestle.oscal.assessment_results import AssessmentResults

    document = engagement_oscal(engagement=engagement, actor=lead)
    parsed = AssessmentResults.parse_obj(json.loads(json.dumps(document))["assessment-results"])
    titles = [observation.title for observation in parsed.results[0].observations]
    assert f"INC-{incidents['seen'].pk}: Token in notebook" in titles
    assert any(title.startswith("tabletop exercise of playbook credential-leak") for title in titles)
    text = json.dumps(document)
    assert "Patients leaked" not in text and "Platform outage" not in text and "Long closed" not in text
    result = document["assessment-results"]["results"][0]
    inventory = {item["uuid"] for item in result["local-definitions"]["inventory-items"]}
    subjects = {s["subject-uuid"] for o in result["observations"] for s in o.get("subjects", [])}
    assert subjects and subjects <= inventory

    restricted = engagement_oscal(engagement=restricted_engagement, actor=lead)
    AssessmentResults.parse_obj(json.loads(json.dumps(restricted))["assessment-results"])
    assert "Patients leaked" in json.dumps(restricted)


def test_pdf_report_has_the_incident_metrics_each_with_its_definition(incidents, engagement, lead):
    text = _pdf_text(engagement_report_pdf(engagement=engagement, actor=lead))
    for expected in (
        "Incidents during the period",
        "Mean time to detect",
        "Median time to detect",
        "Mean time to acknowledge",
        "Median time to contain",
        "Mean time to resolve",
        "minus occurred. Over the 1 of 1 incidents that reached it",
        "1h 00m",
        "0h 20m",
        "4h 00m",
        "Severity critical",
        "Category: Credential leak",
        "Exercises held during the period",
        "Follow-up actions",
    ):
        assert expected in text, expected
    assert "Incidents." not in text.split("Not covered by this installation")[-1]


def test_incident_duration_figures_are_mean_and_median_over_incidents_that_reached_each_stage(team_a):
    from incidents.audits import incident_duration_figures
    from incidents.models import Incident

    now = timezone.now()
    for detect_minutes in (10, 20, 90):
        IncidentFactory(
            team=team_a,
            occurred_at=now - dt.timedelta(hours=5),
            detected_at=now - dt.timedelta(hours=5) + dt.timedelta(minutes=detect_minutes),
            reported_at=now - dt.timedelta(hours=3),
        )
    figures = {f.label: f for f in incident_duration_figures(Incident.objects.all())}
    assert figures["Mean time to detect"].value == "0h 40m"
    assert figures["Median time to detect"].value == "0h 20m"
    assert figures["Mean time to contain"].value == "n/a"
    assert "0 of 3 incidents" in figures["Mean time to contain"].definition


def test_workspace_shows_the_incident_sections_and_figures(client, incidents, engagement, auditor):
    client_for(client, auditor)
    page = client.get(f"/audits/{engagement.pk}/").content.decode()
    for expected in (
        "Incidents during the period",
        "Mean time to resolve",
        "Exercises held during the period",
    ):
        assert expected in page, expected


def _export_titles(response) -> set[str]:
    body = b"".join(response.streaming_content).decode()
    return {row["title"] for row in csv.DictReader(io.StringIO(body))}


def test_exports_page_offers_incidents_and_each_person_exports_what_they_see(
    client, incidents, owner, outsider, auditor, lead
):
    client_for(client, lead)
    assert "/exports/incidents.csv" in client.get("/exports/").content.decode()
    expected = {
        owner: {"Token in notebook", "Patients leaked", "Long closed"},
        outsider: {"Platform outage"},
        auditor: {"Token in notebook", "Long closed", "Platform outage"},  # restricted left out
        lead: {"Token in notebook", "Patients leaked", "Long closed", "Platform outage"},
    }
    for person, titles in expected.items():
        client_for(client, person)
        assert _export_titles(client.get("/exports/incidents.csv")) == titles, person.username


def test_incident_exports_honour_the_list_filters_and_are_one_audited_path(
    client, api_client, incidents, owner
):
    client_for(client, owner)
    assert _export_titles(client.get("/exports/incidents.csv?severity=critical")) == {"Patients leaked"}
    assert _export_titles(client.get("/incidents/export.csv?severity=critical")) == {"Patients leaked"}
    assert _export_titles(client.get("/exports/incidents.csv?status=closed")) == {"Long closed"}
    assert _export_titles(client.get("/exports/incidents.csv?status=open&q=token")) == set()
    api_client.force_authenticate(owner)
    body = b"".join(api_client.get("/api/v1/incidents/export/?as=json&severity=high").streaming_content)
    assert {row["title"] for row in json.loads(body)} == {"Token in notebook", "Long closed"}
    via_registry = b"".join(api_client.get("/api/v1/exports/incidents/json/?severity=high").streaming_content)
    assert json.loads(via_registry) == json.loads(body)
    exports = AuditEntry.objects.filter(action="export", object_type="incidents_incident")
    assert exports.count() == 6


def test_incident_export_cells_are_neutralised_against_formulas(client, owner, team_a):
    IncidentFactory(team=team_a, title='=HYPERLINK("http://evil")')
    client_for(client, owner)
    body = b"".join(client.get("/incidents/export.csv").streaming_content).decode()
    assert "'=HYPERLINK" in body


def test_api_export_inside_a_restricted_engagement_holds_restricted_incidents(
    api_client, incidents, auditor, restricted_engagement
):
    api_client.force_authenticate(auditor)
    response = api_client.get(f"/api/v1/exports/incidents/csv/?engagement={restricted_engagement.pk}")
    assert response.status_code == 200
    # Team A's only (the engagement's teams), the restricted one included; lists are not cut to the period.
    assert _export_titles(response) == {"Token in notebook", "Patients leaked", "Long closed"}


def test_engagement_narrowed_to_environments_sees_incidents_that_touched_them(
    incidents, owner, auditor, lead, team_a
):
    from audits.selectors import section_context
    from incidents.audits import period_incidents
    from tests.factories.assets import AssetFactory

    notebook = AssetFactory(team=team_a, name="dev-notebook", kind="notebook", environment="development")
    both = incident_with_history(
        actor=owner,
        team=team_a,
        title="Both worlds",
        assets=[notebook, incidents["seen"].affected_assets.get()],
    )
    dev_only = incident_with_history(actor=owner, team=team_a, title="Dev only", assets=[notebook])
    nowhere = incident_with_history(actor=owner, team=team_a, title="No asset named")
    engagement = EngagementFactory(
        auditor=auditor, opened_by=lead, teams=[team_a], environments=["production"]
    )
    ctx = section_context(engagement)
    titles = list(period_incidents(ctx).values_list("title", flat=True))
    assert sorted(titles) == sorted(["Token in notebook", both.title, nowhere.title])  # each once
    assert dev_only.title not in titles
    data = _bundle(engagement)
    rows, _ = _records(data, "incidents")
    assert sorted(row["title"] for row in rows) == sorted(titles)
