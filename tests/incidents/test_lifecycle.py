"""Reporting and the lifecycle: who and when is recorded, times stay in order, nothing skips a state."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from hygiene.models import AuditEntry, Notification
from incidents.models import EntryKind, Incident, Status, TimelineEntry
from incidents.services import (
    incident_add_note,
    incident_correct_time,
    incident_report,
    incident_set_commander,
    incident_transition,
)
from tests.factories.assets import AssetFactory, level
from tests.factories.incidents import IncidentFactory

pytestmark = pytest.mark.django_db


def ago(minutes):
    return timezone.now() - dt.timedelta(minutes=minutes)


def report(actor, team, **kwargs):
    values = {
        "title": "API key in a public notebook",
        "category": "credential_leak",
        "severity": "high",
        "occurred_at": ago(60),
        "detected_at": ago(30),
    }
    values.update(kwargs)
    return incident_report(actor=actor, team=team, **values)


def test_member_reports_and_the_champion_is_told(teammate, owner, team_a):
    incident = report(teammate, team_a, description="Found by gitleaks")
    assert incident.status == Status.REPORTED
    assert incident.reporter == teammate
    assert incident.reported_at >= incident.detected_at
    entry = TimelineEntry.objects.get(incident=incident)
    assert entry.kind == EntryKind.REPORTED and "teammate" in entry.text
    assert Notification.objects.filter(recipient=owner, kind="incident_reported").exists()
    assert AuditEntry.objects.filter(
        object_type="incidents_incident", object_id=str(incident.pk), action="insert"
    ).exists()


def test_report_refuses_detection_before_occurrence_and_writes_nothing(teammate, team_a):
    with pytest.raises(ValidationError) as error:
        report(teammate, team_a, occurred_at=ago(10), detected_at=ago(20))
    assert "cannot be before when it happened" in str(error.value)
    assert not Incident.objects.exists()


def test_report_refuses_times_in_the_future(teammate, team_a):
    with pytest.raises(ValidationError, match="future"):
        report(teammate, team_a, occurred_at=ago(10), detected_at=timezone.now() + dt.timedelta(hours=1))


def test_outsider_cannot_report_for_another_team(outsider, team_a):
    with pytest.raises(PermissionDenied, match="only for your own teams"):
        report(outsider, team_a)
    assert not Incident.objects.exists()


def test_auditor_cannot_report(auditor, team_a):
    with pytest.raises(PermissionDenied):
        report(auditor, team_a)


def test_report_refuses_an_asset_the_reporter_cannot_see(teammate, team_a, team_b):
    hidden = AssetFactory(team=team_b, classification=level("restricted"))
    with pytest.raises(ValidationError, match="cannot see"):
        report(teammate, team_a, asset_ids=[hidden.pk])
    assert not Incident.objects.exists()


def test_incident_on_a_restricted_asset_is_restricted(teammate, team_a):
    asset = AssetFactory(team=team_a, classification=level("restricted"))
    incident = report(teammate, team_a, asset_ids=[asset.pk])
    assert incident.is_restricted


def test_incident_becomes_restricted_when_its_asset_does_later(teammate, team_a):
    asset = AssetFactory(team=team_a, classification=level("internal"))
    incident = report(teammate, team_a, asset_ids=[asset.pk])
    assert not incident.is_restricted
    type(asset).objects.filter(pk=asset.pk).update(is_restricted=True)
    incident.refresh_from_db()
    assert incident.is_restricted


def test_lifecycle_records_who_and_when_at_each_step(owner, teammate, team_a):
    incident = report(teammate, team_a)
    incident = incident_transition(actor=owner, incident=incident, status=Status.ACKNOWLEDGED)
    assert incident.commander == owner and incident.acknowledged_at is not None
    for status in (Status.CONTAINED, Status.RESOLVED, Status.CLOSED):
        incident = incident_transition(actor=owner, incident=incident, status=status, note="ok")
    incident.refresh_from_db()
    assert incident.status == Status.CLOSED
    assert incident.acknowledged_at <= incident.contained_at <= incident.resolved_at <= incident.closed_at
    changes = TimelineEntry.objects.filter(incident=incident, kind=EntryKind.STATUS).order_by("at", "id")
    assert [entry.data["to"] for entry in changes] == ["acknowledged", "contained", "resolved", "closed"]
    assert all(entry.actor == owner for entry in changes)


def test_a_transition_that_skips_a_state_is_refused(owner, team_a):
    incident = IncidentFactory(team=team_a)
    with pytest.raises(ValidationError, match="can only become acknowledged next"):
        incident_transition(actor=owner, incident=incident, status=Status.RESOLVED)
    incident.refresh_from_db()
    assert incident.status == Status.REPORTED and incident.resolved_at is None


def test_plain_member_cannot_manage_the_incident(teammate, team_a):
    incident = IncidentFactory(team=team_a)
    with pytest.raises(PermissionDenied, match="champion or lead"):
        incident_transition(actor=teammate, incident=incident, status=Status.ACKNOWLEDGED)


def test_champion_of_another_team_gets_not_found(team_b, team_a):
    from django.http import Http404

    from hygiene.models import TeamRole
    from tests.factories import MembershipFactory, UserFactory

    other_champion = UserFactory(username="other-champion")
    MembershipFactory(team=team_b, user=other_champion, role=TeamRole.CHAMPION)
    incident = IncidentFactory(team=team_a)
    with pytest.raises(Http404):
        incident_transition(actor=other_champion, incident=incident, status=Status.ACKNOWLEDGED)


def test_commander_from_outside_the_team_is_refused(owner, outsider, team_a):
    incident = IncidentFactory(team=team_a)
    with pytest.raises(ValidationError, match="is not in Research"):
        incident_transition(actor=owner, incident=incident, status=Status.ACKNOWLEDGED, commander=outsider)
    incident.refresh_from_db()
    assert incident.status == Status.REPORTED and incident.commander is None


def test_acknowledging_before_the_report_time_is_refused(owner, team_a):
    incident = IncidentFactory(team=team_a)
    with pytest.raises(ValidationError, match="cannot be before"):
        incident_transition(actor=owner, incident=incident, status=Status.ACKNOWLEDGED, at=ago(600))


def test_the_commander_manages_the_incident_even_as_a_plain_member(owner, teammate, team_a):
    incident = IncidentFactory(team=team_a)
    incident_transition(actor=owner, incident=incident, status=Status.ACKNOWLEDGED, commander=teammate)
    incident = incident_transition(actor=teammate, incident=incident, status=Status.CONTAINED)
    assert incident.status == Status.CONTAINED


def test_command_is_handed_over_within_the_team(owner, teammate, outsider, team_a):
    incident = IncidentFactory(team=team_a)
    incident_transition(actor=owner, incident=incident, status=Status.ACKNOWLEDGED)
    incident = incident_set_commander(actor=owner, incident=incident, commander=teammate)
    assert incident.commander == teammate
    with pytest.raises(ValidationError):
        incident_set_commander(actor=owner, incident=incident, commander=outsider)


def test_database_refuses_times_out_of_order_whatever_the_path(team_a):
    incident = IncidentFactory(team=team_a)
    with pytest.raises(IntegrityError), transaction.atomic():
        Incident.objects.filter(pk=incident.pk).update(
            detected_at=incident.occurred_at - dt.timedelta(minutes=1)
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Incident.objects.filter(pk=incident.pk).update(status=Status.CONTAINED)
    with pytest.raises(IntegrityError), transaction.atomic():
        Incident.objects.filter(pk=incident.pk).update(
            status=Status.ACKNOWLEDGED, acknowledged_at=incident.reported_at - dt.timedelta(minutes=1)
        )


def test_time_correction_keeps_both_values_and_the_reason(owner, team_a):
    incident = IncidentFactory(team=team_a)
    old = incident.occurred_at
    new = old - dt.timedelta(hours=3)
    incident = incident_correct_time(
        actor=owner,
        incident=incident,
        field="occurred_at",
        value=new,
        reason="Logs show the key leaked earlier",
    )
    assert incident.occurred_at == new
    entry = TimelineEntry.objects.get(incident=incident, kind=EntryKind.TIME_CORRECTION)
    assert entry.data["old"] == old.isoformat() and entry.data["new"] == new.isoformat()
    assert entry.data["reason"] == "Logs show the key leaked earlier"


def test_time_correction_out_of_order_is_refused_and_nothing_changes(owner, team_a):
    incident = IncidentFactory(team=team_a)
    with pytest.raises(ValidationError, match="cannot be before"):
        incident_correct_time(
            actor=owner,
            incident=incident,
            field="detected_at",
            value=incident.occurred_at - dt.timedelta(hours=1),
            reason="typo",
        )
    assert not TimelineEntry.objects.filter(incident=incident).exists()


def test_time_correction_needs_a_reason(owner, team_a):
    incident = IncidentFactory(team=team_a)
    with pytest.raises(ValidationError, match="reason"):
        incident_correct_time(actor=owner, incident=incident, field="occurred_at", value=ago(500), reason=" ")


def test_timeline_is_append_only(teammate, team_a):
    incident = IncidentFactory(team=team_a)
    entry = incident_add_note(actor=teammate, incident=incident, text="Rotated the key")
    with pytest.raises(Exception, match="Cannot"), transaction.atomic():
        TimelineEntry.objects.filter(pk=entry.pk).update(text="nothing happened")
    with pytest.raises(Exception, match="Cannot"), transaction.atomic():
        TimelineEntry.objects.filter(pk=entry.pk).delete()


def test_outsider_cannot_add_a_note(outsider, team_a):
    from django.http import Http404

    incident = IncidentFactory(team=team_a)
    with pytest.raises(Http404):
        incident_add_note(actor=outsider, incident=incident, text="hello")


def test_linking_a_finding_on_a_restricted_asset_restricts_the_incident(teammate, team_a):
    from incidents.services import incident_link_finding
    from tests.factories.findings import FindingFactory

    incident = IncidentFactory(team=team_a)
    finding = FindingFactory(asset=AssetFactory(team=team_a, classification=level("restricted")))
    incident_link_finding(actor=teammate, incident=incident, finding_id=finding.pk)
    incident.refresh_from_db()
    assert incident.is_restricted
    assert list(incident.affected_assets.all()) == [finding.asset]
