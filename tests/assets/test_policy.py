"""Policy checks on the lineage graph: found on every change, gone once fixed, and run periodically."""

import datetime as dt

import pytest
from django.utils import timezone

from assets.models import PolicyRule, PolicyViolation
from assets.services import asset_create, asset_retire, asset_update, edge_add, edge_remove, provenance_set
from assets.tasks import run_policy_checks
from tests.factories.assets import AssetFactory, DatasetProvenanceFactory, level

pytestmark = pytest.mark.django_db


def make(team, name, slug="internal", kind="dataset", environment="development"):
    return asset_create(
        actor=None,
        team=team,
        name=name,
        kind=kind,
        environment=environment,
        classification=level(slug) if slug else None,
    )


def rules_of(asset):
    return set(PolicyViolation.objects.filter(asset=asset).values_list("rule", flat=True))


def test_production_asset_fed_by_a_development_asset_breaks_segregation(team_a):
    notebook = make(team_a, "scratch", kind="notebook", environment="development")
    endpoint = make(team_a, "api", kind="endpoint", environment="production")

    edge_add(actor=None, source=notebook, target=endpoint, kind="depends_on")

    violation = PolicyViolation.objects.get(asset=endpoint, rule=PolicyRule.ENVIRONMENT_SEGREGATION)
    assert violation.related_asset == notebook


def test_segregation_violation_goes_away_when_the_edge_is_removed(team_a):
    notebook = make(team_a, "scratch", kind="notebook")
    endpoint = make(team_a, "api", kind="endpoint", environment="production")
    edge = edge_add(actor=None, source=notebook, target=endpoint, kind="depends_on")

    edge_remove(actor=None, edge=edge)

    assert rules_of(endpoint) == set()


def test_promoting_the_upstream_to_production_resolves_segregation(team_a):
    pipeline = make(team_a, "etl", kind="pipeline")
    endpoint = make(team_a, "api", kind="endpoint", environment="production")
    edge_add(actor=None, source=pipeline, target=endpoint, kind="depends_on")

    asset_update(actor=None, asset=pipeline, environment="production")

    assert rules_of(endpoint) == set()


def test_restricted_data_flowing_into_an_internal_asset_is_weaker_handling(team_a):
    customers = make(team_a, "customers", "restricted")
    model = make(team_a, "model", "internal", kind="model")

    edge_add(actor=None, source=customers, target=model, kind="trained_on")

    violation = PolicyViolation.objects.get(asset=model, rule=PolicyRule.WEAKER_HANDLING)
    assert violation.related_asset == customers
    assert "Declared Internal but receives Restricted data" in violation.detail
    assert "MFA for access" in violation.detail
    assert "anonymization" in violation.detail


def test_declaring_the_inherited_level_resolves_weaker_handling(team_a):
    customers = make(team_a, "customers", "restricted")
    model = make(team_a, "model", "internal", kind="model")
    edge_add(actor=None, source=customers, target=model, kind="trained_on")

    asset_update(actor=None, asset=model, classification=level("restricted"))

    assert PolicyRule.WEAKER_HANDLING not in rules_of(model)


def test_dataset_past_its_retention_date_is_reported(team_a):
    dataset = make(team_a, "old-logs", "confidential")

    provenance_set(
        actor=None,
        dataset=dataset,
        source="Web server logs",
        retention_until=timezone.localdate() - dt.timedelta(days=1),
    )

    violation = PolicyViolation.objects.get(asset=dataset, rule=PolicyRule.RETENTION_EXPIRED)
    assert "Retention ended on" in violation.detail


def test_unclassified_active_asset_is_reported_until_classified(team_a):
    asset = make(team_a, "mystery", None)
    assert rules_of(asset) == {PolicyRule.UNCLASSIFIED}

    asset_update(actor=None, asset=asset, classification=level("internal"))

    assert rules_of(asset) == set()


def test_retired_assets_leave_the_checks(team_a):
    asset = make(team_a, "mystery", None)

    asset_retire(actor=None, asset=asset)

    assert rules_of(asset) == set()


def test_periodic_task_finds_retention_that_expired_since_the_last_change(team_a):
    dataset = AssetFactory(team=team_a, classification=level("internal"))
    DatasetProvenanceFactory(dataset=dataset, retention_until=timezone.localdate() - dt.timedelta(days=3))
    unclassified = AssetFactory(team=team_a)

    run_policy_checks.delay()

    assert rules_of(dataset) == {PolicyRule.RETENTION_EXPIRED}
    assert rules_of(unclassified) == {PolicyRule.UNCLASSIFIED}


def test_rerunning_the_checks_keeps_the_first_detection_time(team_a):
    asset = make(team_a, "mystery", None)
    first = PolicyViolation.objects.get(asset=asset).detected_at

    run_policy_checks.delay()

    assert PolicyViolation.objects.get(asset=asset).detected_at == first
