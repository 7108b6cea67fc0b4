"""Factories for the inventory. Assets built here skip the services: call a service (or
``classification_recompute_downstream``) when a test needs effective levels or violations."""

import factory

from assets.models import Asset, AssetKind, ClassificationLevel, DatasetProvenance, Environment, LineageEdge
from tests.factories.hygiene import TeamFactory


def level(slug: str) -> ClassificationLevel:
    """One of the default levels seeded by the migration: public, internal, confidential, restricted."""
    return ClassificationLevel.objects.get(slug=slug)


class AssetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Asset

    team = factory.SubFactory(TeamFactory)
    name = factory.Sequence(lambda n: f"asset-{n}")
    kind = AssetKind.DATASET
    environment = Environment.DEVELOPMENT
    classification = None
    effective_classification = factory.LazyAttribute(lambda o: o.classification)
    is_restricted = factory.LazyAttribute(lambda o: bool(o.classification and o.classification.is_restricted))


class LineageEdgeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LineageEdge

    source = factory.SubFactory(AssetFactory)
    target = factory.SubFactory(AssetFactory)
    kind = "derived_from"


class DatasetProvenanceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DatasetProvenance

    dataset = factory.SubFactory(AssetFactory)
    source = "Customer support exports"
