"""Playbook versions, checklists and escalation at frozen times: each level once, acknowledgement stops it."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from hygiene.models import Notification
from incidents.models import (
    AI_CATEGORIES,
    ChecklistItem,
    EntryKind,
    Escalation,
    Playbook,
    PlaybookVersion,
    Status,
    TimelineEntry,
)
from incidents.services import (
    LevelSpec,
    StepSpec,
    checklist_item_complete,
    escalation_run,
    incident_transition,
    playbook_create,
    playbook_revise,
    playbook_start,
)
from tests.factories.incidents import IncidentFactory, playbook

pytestmark = pytest.mark.django_db


def test_six_playbooks_are_seeded_for_the_ai_categories():
    covered = {category for p in Playbook.objects.all() for category in p.categories}
    assert set(AI_CATEGORIES) <= covered
    assert Playbook.objects.filter(current_version__isnull=False).count() >= 6
    for seeded in Playbook.objects.all():
        assert seeded.current_version.steps.count() >= 4
        assert seeded.current_version.escalation_levels.count() == 3


def test_starting_a_playbook_pins_the_version_and_creates_the_checklist(owner, team_a):
    incident = IncidentFactory(team=team_a)
    run = playbook_start(actor=owner, incident=incident, playbook=playbook())
    steps = list(run.version.steps.order_by("position"))
    items = list(ChecklistItem.objects.filter(run=run).order_by("position"))
    assert [item.title for item in items] == [step.title for step in steps]
    assert items[0].due_at == run.started_at + dt.timedelta(minutes=steps[0].target_minutes)
    assert TimelineEntry.objects.filter(incident=incident, kind=EntryKind.PLAYBOOK).exists()


def test_a_running_checklist_keeps_its_version_when_the_playbook_is_edited(owner, lead, team_a):
    incident = IncidentFactory(team=team_a)
    book = playbook()
    run = playbook_start(actor=owner, incident=incident, playbook=book)
    before = list(ChecklistItem.objects.filter(run=run).values_list("title", flat=True))
    new = playbook_revise(
        actor=lead,
        playbook=book,
        summary="Shorter",
        change_note="Merged steps",
        steps=[StepSpec(title="Revoke and rotate everywhere", role="commander", target_minutes=20)],
        levels=[LevelSpec(target="security_leads", after_minutes=5)],
    )
    book.refresh_from_db()
    assert book.current_version == new and new.number == 2
    run.refresh_from_db()
    assert run.version.number == 1
    assert list(ChecklistItem.objects.filter(run=run).values_list("title", flat=True)) == before
    later = playbook_start(actor=owner, incident=IncidentFactory(team=team_a), playbook=book)
    assert [i.title for i in later.items.all()] == ["Revoke and rotate everywhere"]


def test_playbook_versions_cannot_be_edited_in_place(lead):
    version = playbook().current_version
    with pytest.raises(Exception, match="Cannot"), transaction.atomic():
        PlaybookVersion.objects.filter(pk=version.pk).update(summary="changed")


def test_only_security_leads_write_playbooks(owner):
    with pytest.raises(PermissionDenied):
        playbook_create(
            actor=owner,
            title="Mine",
            categories=["availability"],
            summary="",
            steps=[StepSpec("Do it", "commander", 10)],
            levels=[LevelSpec("champions", 5)],
        )


def test_playbook_needs_increasing_escalation_minutes(lead):
    with pytest.raises(ValidationError, match="later than the level before"):
        playbook_create(
            actor=lead,
            title="Outage",
            categories=["availability"],
            summary="",
            steps=[StepSpec("Fail over", "commander", 10)],
            levels=[LevelSpec("champions", 30), LevelSpec("leads", 10)],
        )
    assert not Playbook.objects.filter(title="Outage").exists()


def test_ticking_a_step_is_recorded_and_cannot_happen_twice(owner, team_a):
    incident = IncidentFactory(team=team_a)
    run = playbook_start(actor=owner, incident=incident, playbook=playbook())
    item = run.items.order_by("position").first()
    checklist_item_complete(actor=owner, item=item)
    item.refresh_from_db()
    assert item.done_by == owner and item.done_at is not None
    assert TimelineEntry.objects.filter(incident=incident, kind=EntryKind.STEP, actor=owner).exists()
    with pytest.raises(ValidationError, match="already done"):
        checklist_item_complete(actor=owner, item=item)


def test_plain_member_cannot_tick_a_step(owner, teammate, team_a):
    incident = IncidentFactory(team=team_a)
    run = playbook_start(actor=owner, incident=incident, playbook=playbook())
    with pytest.raises(PermissionDenied):
        checklist_item_complete(actor=teammate, item=run.items.first())


def escalations(incident, reason="unacknowledged"):
    return list(
        Escalation.objects.filter(incident=incident, reason=reason)
        .order_by("level")
        .values_list("level", flat=True)
    )


def test_unacknowledged_incident_escalates_each_level_once(owner, lead, team_a):
    reported = timezone.now()
    incident = IncidentFactory(
        team=team_a,
        category="credential_leak",
        reported_at=reported,
        detected_at=reported,
        occurred_at=reported,
    )
    # credential-leak path: champions after 10 min, security leads after 30, team leads after 60
    assert escalation_run(now=reported + dt.timedelta(minutes=5)).fired == 0
    escalation_run(now=reported + dt.timedelta(minutes=11))
    assert escalations(incident) == [1]
    assert Notification.objects.filter(recipient=owner, kind="incident_escalated").count() == 1
    escalation_run(now=reported + dt.timedelta(minutes=12))
    escalation_run(now=reported + dt.timedelta(minutes=13))
    assert escalations(incident) == [1]
    assert Notification.objects.filter(recipient=owner, kind="incident_escalated").count() == 1
    escalation_run(now=reported + dt.timedelta(minutes=31))
    assert escalations(incident) == [1, 2]
    assert Notification.objects.filter(recipient=lead, kind="incident_escalated").count() == 1
    incident.refresh_from_db()
    assert incident.escalation_level == 2
    entries = TimelineEntry.objects.filter(incident=incident, kind=EntryKind.ESCALATION)
    assert entries.count() == 2 and "Escalation level 2" in entries.last().text


def test_acknowledgement_stops_escalation(owner, team_a):
    reported = timezone.now() - dt.timedelta(minutes=1)
    incident = IncidentFactory(team=team_a, reported_at=reported, detected_at=reported, occurred_at=reported)
    escalation_run(now=reported + dt.timedelta(minutes=11))
    incident_transition(actor=owner, incident=incident, status=Status.ACKNOWLEDGED)
    escalation_run(now=reported + dt.timedelta(minutes=500))
    assert escalations(incident) == [1]


def test_overdue_steps_escalate_once_per_level_and_stop_when_done(owner, team_a):
    incident = IncidentFactory(team=team_a)
    incident_transition(actor=owner, incident=incident, status=Status.ACKNOWLEDGED)
    run = playbook_start(actor=owner, incident=incident, playbook=playbook())
    first = run.items.order_by("position").first()
    due = first.due_at
    escalation_run(now=due + dt.timedelta(minutes=11))
    escalation_run(now=due + dt.timedelta(minutes=12))
    assert escalations(incident, "step_overdue") == [1]
    checklist_item_complete(actor=owner, item=first)
    escalation_run(now=due + dt.timedelta(minutes=31))
    assert list(Escalation.objects.filter(incident=incident, item=first).values_list("level", flat=True)) == [
        1
    ]


def test_escalation_falls_back_to_the_default_path_without_a_playbook(owner, team_a):
    reported = timezone.now()
    incident = IncidentFactory(
        team=team_a, category="availability", reported_at=reported, detected_at=reported, occurred_at=reported
    )
    escalation_run(now=reported + dt.timedelta(minutes=16))
    assert escalations(incident) == [1]
    assert Notification.objects.filter(recipient=owner, kind="incident_escalated").exists()


def test_the_beat_task_runs_the_escalation(team_a):
    from incidents.tasks import escalate_incidents

    reported = timezone.now() - dt.timedelta(hours=10)
    IncidentFactory(team=team_a, reported_at=reported, detected_at=reported, occurred_at=reported)
    assert escalate_incidents() == 3
    assert escalate_incidents() == 0


def test_escalation_tells_nobody_who_may_not_see_the_incident(owner, lead, outsider, team_a):
    book = playbook_create(
        actor=lead,
        title="Outage",
        categories=["availability"],
        summary="",
        steps=[StepSpec("Fail over", "commander", 10)],
        levels=[LevelSpec("person", 5, person="outsider")],
    )
    reported = timezone.now()
    incident = IncidentFactory(
        team=team_a, category="availability", reported_at=reported, detected_at=reported, occurred_at=reported
    )
    escalation_run(now=reported + dt.timedelta(minutes=6))
    assert book.current_version.escalation_levels.get().person == outsider
    assert not Notification.objects.filter(recipient=outsider).exists()
    assert Notification.objects.filter(recipient=owner, title__contains=incident.reference).exists()


def test_a_playbook_start_or_step_written_down_afterwards_keeps_its_times_in_order(owner, team_a):
    incident = IncidentFactory(team=team_a)
    with pytest.raises(ValidationError, match="before the incident was reported"):
        playbook_start(
            actor=owner,
            incident=incident,
            playbook=playbook(),
            at=incident.reported_at - dt.timedelta(minutes=1),
        )
    run = playbook_start(actor=owner, incident=incident, playbook=playbook(), at=incident.reported_at)
    item = run.items.order_by("position").first()
    with pytest.raises(ValidationError, match="before its playbook started"):
        checklist_item_complete(actor=owner, item=item, at=run.started_at - dt.timedelta(minutes=1))
    done = checklist_item_complete(actor=owner, item=item, at=run.started_at + dt.timedelta(minutes=5))
    assert done.done_at == run.started_at + dt.timedelta(minutes=5)
