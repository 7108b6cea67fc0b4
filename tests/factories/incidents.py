"""Factories for incidents. They write rows directly (no timeline, no notifications): call the services
(``incident_report``, ``incident_transition``...) when a test is about what those do."""

import datetime as dt

import factory
from django.utils import timezone

from incidents.models import Category, Exercise, ExerciseKind, Incident, Playbook, Severity, Status
from tests.factories.hygiene import TeamFactory


def _ago(minutes: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(minutes=minutes)


class IncidentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Incident

    team = factory.SubFactory(TeamFactory)
    title = factory.Sequence(lambda n: f"Incident {n}")
    category = Category.CREDENTIAL_LEAK
    severity = Severity.HIGH
    status = Status.REPORTED
    occurred_at = factory.LazyFunction(lambda: _ago(120))
    detected_at = factory.LazyFunction(lambda: _ago(90))
    reported_at = factory.LazyFunction(lambda: _ago(60))


def playbook(slug: str = "credential-leak") -> Playbook:
    """One of the six playbooks seeded by the migration."""
    return Playbook.objects.select_related("current_version").get(slug=slug)


class ExerciseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Exercise

    team = factory.SubFactory(TeamFactory)
    playbook = factory.LazyFunction(playbook)
    version = factory.LazyAttribute(lambda o: o.playbook.current_version)
    kind = ExerciseKind.TABLETOP
    held_on = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=30))
    scenario = "A token is found in a public notebook."


def incident_with_history(
    *, actor, team, title, assets=(), severity="high", hours_ago: int = 10, commander=None, **extra
):
    """An incident reported, acknowledged, contained and resolved through the services, with a note, a
    playbook run, a review and a follow-up: detected 60 min after it occurred, acknowledged 20 min after
    its report, contained 2 h and resolved 4 h after detection."""
    from incidents.services import (
        followup_add,
        incident_add_note,
        incident_report,
        incident_transition,
        playbook_start,
        review_save,
    )

    t0 = timezone.now() - dt.timedelta(hours=hours_ago)
    minutes = lambda n: t0 + dt.timedelta(minutes=n)  # noqa: E731
    incident = incident_report(
        actor=actor,
        team=team,
        title=title,
        category=extra.get("category", Category.CREDENTIAL_LEAK),
        severity=severity,
        description=f"What happened to {title}.",
        occurred_at=t0,
        detected_at=minutes(60),
        reported_at=minutes(70),
        asset_ids=[asset.pk for asset in assets],
    )
    playbook_start(actor=actor, incident=incident, playbook=playbook(), at=minutes(75))
    incident_transition(
        actor=actor, incident=incident, status=Status.ACKNOWLEDGED, at=minutes(90), commander=commander
    )
    incident_add_note(actor=actor, incident=incident, text=f"Note on {title}: token rotated", at=minutes(100))
    incident_transition(actor=actor, incident=incident, status=Status.CONTAINED, at=minutes(180))
    incident_transition(actor=actor, incident=incident, status=Status.RESOLVED, at=minutes(300))
    review_save(
        actor=actor, incident=incident, root_cause=f"Root cause of {title}", lessons="Scan notebooks."
    )
    followup_add(
        actor=actor,
        title=f"Follow-up of {title}",
        owner=actor,
        due_on=timezone.localdate() + dt.timedelta(days=7),
        incident=incident,
    )
    incident.refresh_from_db()
    return incident
