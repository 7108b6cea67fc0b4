"""Engagements change what an auditor sees, in the one permission path; ending one stops access at once."""

import datetime as dt

import pytest
from django.utils import timezone

from audits.middleware import SESSION_KEY
from hygiene.models import AuditEntry
from tests.conftest import client_for
from tests.factories.audits import EngagementFactory

pytestmark = pytest.mark.django_db


def _text(response) -> str:
    """The page's text with runs of whitespace made one space (templates wrap sentences)."""
    return " ".join(response.content.decode().split())


def _enter(client, auditor, engagement):
    client_for(client, auditor)
    response = client.get(f"/audits/{engagement.pk}/")
    assert response.status_code == 200
    assert client.session[SESSION_KEY] == engagement.pk
    return response


def test_auditor_without_engagement_does_not_see_restricted_assets_and_is_told_how_many_and_how_to_ask(
    client, auditor, estate, lead
):
    client_for(client, auditor)
    page = _text(client.get("/assets/"))
    assert "churn-model" in page and "platform-api" in page
    assert "patients" not in page
    assert "1 restricted asset is hidden from you" in page
    assert "ask a security lead" in page and "lead" in page
    assert client.get(f"/assets/{estate['secret'].pk}/").status_code == 404
    findings = _text(client.get("/findings/"))
    assert "1 finding on restricted assets is hidden from you" in findings


def test_many_hidden_findings_are_said_to_be_more_than_the_cap_without_counting_them_all(
    client, auditor, estate, monkeypatch
):
    # At a million findings an exact count of the restricted ones took two seconds of every auditor page.
    from audits import selectors
    from tests.factories.findings import FindingFactory

    FindingFactory.create_batch(3, asset=estate["secret"])  # four hidden in all
    monkeypatch.setattr(selectors, "HIDDEN_FINDINGS_CAP", 3)
    client_for(client, auditor)
    findings = _text(client.get("/findings/"))
    assert "More than 3 findings on restricted assets are hidden from you" in findings
    assert "Issue on patients" not in findings
    monkeypatch.setattr(selectors, "HIDDEN_FINDINGS_CAP", 4)
    assert "4 findings on restricted assets are hidden from you" in _text(client.get("/findings/"))


def test_the_hidden_count_stops_reading_past_the_cap(auditor, estate):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from audits.selectors import HIDDEN_FINDINGS_CAP, hidden_restricted_for_user

    with CaptureQueriesContext(connection) as captured:
        hidden = hidden_restricted_for_user(user=auditor)
    assert hidden is not None and (hidden.findings, hidden.findings_capped) == (1, False)
    counts = [q["sql"] for q in captured if "findings_finding" in q["sql"]]
    assert len(counts) == 1 and f"LIMIT {HIDDEN_FINDINGS_CAP + 1}" in counts[0]


def test_auditor_sees_restricted_data_only_inside_an_engagement_that_grants_it(
    client, auditor, estate, restricted_engagement
):
    _enter(client, auditor, restricted_engagement)
    page = _text(client.get("/assets/"))
    assert "patients" in page and "churn-model" in page
    assert "platform-api" not in page  # team B is outside the engagement's scope
    assert "hidden from you" not in page
    assert client.get(f"/assets/{estate['secret'].pk}/").status_code == 200
    assert client.get(f"/assets/{estate['other'].pk}/").status_code == 404
    assert "Issue on patients" in _text(client.get("/findings/"))


def test_every_read_of_restricted_data_in_an_engagement_is_audited(
    client, auditor, estate, restricted_engagement
):
    _enter(client, auditor, restricted_engagement)
    client.get(f"/assets/{estate['secret'].pk}/")
    reads = AuditEntry.objects.filter(action="restricted_read", actor_id=auditor.pk)
    paths = [entry.after["path"] for entry in reads]
    assert f"/assets/{estate['secret'].pk}/" in paths
    assert all(entry.object_id == str(restricted_engagement.pk) for entry in reads)


def test_engagement_without_restricted_scope_keeps_restricted_hidden(client, auditor, estate, engagement):
    _enter(client, auditor, engagement)
    page = _text(client.get("/assets/"))
    assert "churn-model" in page and "patients" not in page and "platform-api" not in page
    assert "1 restricted asset is hidden from you" in page
    assert not AuditEntry.objects.filter(action="restricted_read").exists()


def test_engagement_scope_narrows_environments(client, auditor, lead, team_a, estate):
    from tests.factories.assets import AssetFactory

    AssetFactory(team=team_a, name="dev-notebook", kind="notebook", environment="development")
    engagement = EngagementFactory(
        auditor=auditor, opened_by=lead, teams=[team_a], environments=["production"]
    )
    _enter(client, auditor, engagement)
    page = _text(client.get("/assets/"))
    assert "churn-model" in page and "dev-notebook" not in page


def test_engagement_that_expires_mid_session_stops_access_at_the_next_request(
    client, auditor, estate, restricted_engagement
):
    _enter(client, auditor, restricted_engagement)
    assert client.get(f"/assets/{estate['secret'].pk}/").status_code == 200
    restricted_engagement.ends_at = timezone.now() - dt.timedelta(seconds=1)
    restricted_engagement.save(update_fields=["ends_at"])
    response = client.get(f"/assets/{estate['secret'].pk}/", follow=True)
    assert response.redirect_chain[0][0] == "/audits/"
    assert "has ended" in response.content.decode()
    assert client.get(f"/assets/{estate['secret'].pk}/").status_code == 404
    assert client.get(f"/audits/{restricted_engagement.pk}/").status_code == 403


def test_lead_ending_an_engagement_stops_the_auditors_access(
    client, auditor, lead, estate, restricted_engagement
):
    from django.test import Client

    _enter(client, auditor, restricted_engagement)
    lead_client = client_for(Client(), lead)
    lead_client.post(f"/audits/{restricted_engagement.pk}/end/")
    restricted_engagement.refresh_from_db()
    assert restricted_engagement.ended_at is not None
    assert client.get(f"/assets/{estate['secret'].pk}/", follow=True).status_code == 200  # redirected
    assert client.get(f"/assets/{estate['secret'].pk}/").status_code == 404


def test_another_auditors_engagement_is_404(client, estate, lead, restricted_engagement):
    from hygiene.roles import AUDITOR
    from tests.factories import UserFactory

    other = UserFactory(
        username="other-auditor", role=AUDITOR, role__until=timezone.now() + dt.timedelta(days=3)
    )
    client_for(client, other)
    assert client.get(f"/audits/{restricted_engagement.pk}/").status_code == 404


def test_members_are_refused_audit_pages_with_a_reason(client, teammate, engagement):
    client_for(client, teammate)
    response = client.get("/audits/")
    assert response.status_code == 403
    assert "security leads and auditors" in response.content.decode()
    assert client.get(f"/audits/{engagement.pk}/").status_code == 404


def test_lead_opens_an_engagement_through_the_form(client, lead, auditor, team_a):
    client_for(client, lead)
    today = timezone.localdate()
    response = client.post(
        "/audits/new/",
        {
            "name": "ISO 42001 audit",
            "auditor": auditor.pk,
            "period_start": (today - dt.timedelta(days=30)).isoformat(),
            "period_end": today.isoformat(),
            "frameworks": ["iso-42001"],
            "teams": [team_a.pk],
            "environments": ["production"],
            "restricted_in_scope": "on",
            "ends_at": (today + dt.timedelta(days=10)).isoformat(),
        },
        follow=True,
    )
    assert "ISO 42001 audit" in response.content.decode()
    entry = AuditEntry.objects.get(action="engagement_open")
    assert entry.after["teams"] == ["research"] and entry.after["restricted_in_scope"] is True


def test_member_cannot_open_an_engagement(client, owner, auditor):
    client_for(client, owner)
    assert client.get("/audits/new/").status_code == 403


def test_engagement_form_refuses_a_period_that_ends_before_it_starts(client, lead, auditor):
    client_for(client, lead)
    today = timezone.localdate()
    response = client.post(
        "/audits/new/",
        {
            "name": "Backwards",
            "auditor": auditor.pk,
            "period_start": today.isoformat(),
            "period_end": (today - dt.timedelta(days=3)).isoformat(),
            "ends_at": (today + dt.timedelta(days=3)).isoformat(),
        },
    )
    assert response.status_code == 400
    assert "The period ends before it starts." in response.content.decode()


def test_workspace_records_download_is_the_engagement_scope_and_audited(
    client, auditor, estate, restricted_engagement
):
    import json

    _enter(client, auditor, restricted_engagement)
    response = client.get(f"/audits/{restricted_engagement.pk}/records/findings.json")
    titles = {row["title"] for row in json.loads(b"".join(response.streaming_content))}
    assert titles == {"Issue on churn-model", "Issue on patients"}
    assert AuditEntry.objects.filter(action="export", after__section="findings").exists()
    assert client.get(f"/audits/{restricted_engagement.pk}/records/nothing.csv").status_code == 404
