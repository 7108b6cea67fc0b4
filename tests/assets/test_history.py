"""Assets and violations keep their dates instead of disappearing, so past days can be recomputed."""

import pytest

from assets.models import Asset, PolicyRule, PolicyViolation
from assets.services import asset_create, asset_retire, asset_update, edge_add, edge_remove
from tests.factories.assets import level

pytestmark = pytest.mark.django_db


def test_retiring_an_asset_records_when_and_reactivating_clears_it(team_a):
    asset = asset_create(actor=None, team=team_a, name="old", kind="model", classification=level("internal"))
    assert asset.retired_at is None
    asset_retire(actor=None, asset=asset)
    asset.refresh_from_db()
    assert asset.retired_at is not None
    asset_update(actor=None, asset=asset, lifecycle="active")
    asset.refresh_from_db()
    assert asset.retired_at is None
    # Whatever path changes the lifecycle (here plain SQL through the ORM), the trigger keeps the date.
    Asset.objects.filter(pk=asset.pk).update(lifecycle="retired")
    asset.refresh_from_db()
    assert asset.retired_at is not None


def test_a_fixed_violation_is_kept_resolved_and_a_new_one_is_a_new_row(team_a):
    notebook = asset_create(
        actor=None, team=team_a, name="nb", kind="notebook", classification=level("internal")
    )
    endpoint = asset_create(
        actor=None,
        team=team_a,
        name="api",
        kind="endpoint",
        environment="production",
        classification=level("internal"),
    )
    edge = edge_add(actor=None, source=notebook, target=endpoint, kind="depends_on")
    edge_remove(actor=None, edge=edge)

    assert not PolicyViolation.objects.filter(asset=endpoint).exists()
    resolved = PolicyViolation.history.get(asset=endpoint, rule=PolicyRule.ENVIRONMENT_SEGREGATION)
    assert resolved.resolved_at is not None

    edge_add(actor=None, source=notebook, target=endpoint, kind="depends_on")
    assert PolicyViolation.objects.filter(asset=endpoint).count() == 1
    assert PolicyViolation.history.filter(asset=endpoint).count() == 2
