"""Factories for audit engagements."""

import datetime as dt

import factory
from django.utils import timezone

from audits.models import Engagement


class EngagementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Engagement
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Audit {n}")
    period_start = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=90))
    period_end = factory.LazyFunction(timezone.localdate)
    ends_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=14))
    frameworks = factory.LazyFunction(lambda: ["ai-hygiene-baseline"])
    restricted_in_scope = False

    @factory.post_generation
    def teams(self, create, extracted, **kwargs):
        if create and extracted:
            self.teams.set(extracted)
