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
