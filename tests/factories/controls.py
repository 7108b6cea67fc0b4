"""Factories for controls and exceptions. Controls built here are assessed only when a test runs the
assessment service (``assessment_run``)."""

import datetime as dt

import factory
from django.utils import timezone

from controls.models import Control, RiskException
from tests.factories.assets import AssetFactory


class ControlFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Control
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"TST-{n:03d}")
    title = factory.LazyAttribute(lambda o: f"Control {o.code}")
    objective = "Keep things tidy."
    domain = "vulnerability"
    mode = factory.LazyAttribute(lambda o: "attested" if o.rule == "evidence" else "automated")
    rule = "evidence"
    scope = "asset"
    cadence_days = 30


class ExceptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RiskException

    asset = factory.SubFactory(AssetFactory)
    team = factory.LazyAttribute(lambda o: o.asset.team)
    title = "Accepted for now"
    justification = "Not reachable from outside."
    risk_rating = "medium"
    severity = "medium"
    expires_on = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=30))
