"""Effective classification: the highest level of an asset and everything upstream, and where it came from."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from assets.errors import LineageCycle
from assets.models import Asset
from assets.services import (
    asset_create,
    asset_update,
    classification_recompute_all,
    edge_add,
    edge_remove,
    level_update,
)
from tests.factories.assets import AssetFactory, level

pytestmark = pytest.mark.django_db


def make(team_a, name, slug=None, kind="dataset"):
    return asset_create(
        actor=None, team=team_a, name=name, kind=kind, classification=level(slug) if slug else None
    )


def refreshed(asset):
    return Asset.objects.select_related("effective_classification", "effective_source").get(pk=asset.pk)


def test_model_trained_on_restricted_dataset_is_restricted_and_says_where_from(team_a):
    customers = make(team_a, "customer-chats", "restricted")
    model = make(team_a, "support-llm", "internal", kind="model")

    edge_add(actor=None, source=customers, target=model, kind="trained_on")

    model = refreshed(model)
    assert model.effective_classification.slug == "restricted"
    assert model.effective_source == customers
    assert model.is_restricted is True


def test_inheritance_follows_a_chain_to_the_end(team_a):
    raw = make(team_a, "raw", "confidential")
    clean = make(team_a, "clean", "internal")
    model = make(team_a, "model", "public", kind="model")
    endpoint = make(team_a, "endpoint", None, kind="endpoint")
    edge_add(actor=None, source=raw, target=clean, kind="derived_from")
    edge_add(actor=None, source=clean, target=model, kind="trained_on")
    edge_add(actor=None, source=model, target=endpoint, kind="deployed_as")

    endpoint = refreshed(endpoint)
    assert endpoint.effective_classification.slug == "confidential"
    assert endpoint.effective_source == raw


def test_diamond_takes_the_higher_branch(team_a):
    public = make(team_a, "open-corpus", "public")
    secret = make(team_a, "customer-corpus", "restricted")
    merged = make(team_a, "merged", "internal")
    model = make(team_a, "model", "internal", kind="model")
    edge_add(actor=None, source=public, target=merged, kind="derived_from")
    edge_add(actor=None, source=secret, target=merged, kind="derived_from")
    edge_add(actor=None, source=public, target=model, kind="trained_on")
    edge_add(actor=None, source=merged, target=model, kind="trained_on")

    model = refreshed(model)
    assert model.effective_classification.slug == "restricted"
    assert model.effective_source == secret


def test_own_level_wins_when_it_is_at_least_as_high(team_a):
    source = make(team_a, "source", "confidential")
    model = make(team_a, "model", "confidential", kind="model")

    edge_add(actor=None, source=source, target=model, kind="trained_on")

    model = refreshed(model)
    assert model.effective_classification.slug == "confidential"
    assert model.effective_source is None


def test_raising_an_upstream_level_reaches_every_downstream_asset(team_a):
    data = make(team_a, "data", "internal")
    model = make(team_a, "model", "internal", kind="model")
    endpoint = make(team_a, "endpoint", "internal", kind="endpoint")
    edge_add(actor=None, source=data, target=model, kind="trained_on")
    edge_add(actor=None, source=model, target=endpoint, kind="deployed_as")

    asset_update(actor=None, asset=data, classification=level("restricted"))

    assert refreshed(model).effective_classification.slug == "restricted"
    endpoint = refreshed(endpoint)
    assert endpoint.effective_classification.slug == "restricted"
    assert endpoint.effective_source == data
    assert endpoint.is_restricted


def test_removing_the_edge_lowers_the_level_again(team_a):
    customers = make(team_a, "customers", "restricted")
    model = make(team_a, "model", "internal", kind="model")
    endpoint = make(team_a, "endpoint", "internal", kind="endpoint")
    edge = edge_add(actor=None, source=customers, target=model, kind="trained_on")
    edge_add(actor=None, source=model, target=endpoint, kind="deployed_as")

    edge_remove(actor=None, edge=edge)

    for asset in (model, endpoint):
        asset = refreshed(asset)
        assert asset.effective_classification.slug == "internal"
        assert asset.effective_source is None
        assert asset.is_restricted is False


def test_unclassified_asset_inherits_from_upstream(team_a):
    data = make(team_a, "data", "confidential")
    notebook = make(team_a, "notebook", None, kind="notebook")

    edge_add(actor=None, source=data, target=notebook, kind="derived_from")

    assert refreshed(notebook).effective_classification.slug == "confidential"


def test_adding_an_edge_that_closes_a_cycle_is_refused_naming_the_path(team_a):
    a = make(team_a, "A", "internal")
    b = make(team_a, "B", "internal")
    c = make(team_a, "C", "internal")
    edge_add(actor=None, source=b, target=c, kind="derived_from")
    edge_add(actor=None, source=c, target=a, kind="derived_from")

    with pytest.raises(LineageCycle) as refused:
        edge_add(actor=None, source=a, target=b, kind="derived_from")

    assert refused.value.messages == ["Adding A → B would close the cycle B → C → A."]
    assert not b.upstream_edges.exists()


def test_linking_an_asset_to_itself_is_refused(team_a):
    a = make(team_a, "A", "internal")

    with pytest.raises(ValidationError, match="itself"):
        edge_add(actor=None, source=a, target=a, kind="derived_from")


def test_the_same_edge_twice_is_refused(team_a):
    a, b = make(team_a, "A", "internal"), make(team_a, "B", "internal")
    edge_add(actor=None, source=a, target=b, kind="derived_from")

    with pytest.raises(ValidationError, match="already recorded"):
        edge_add(actor=None, source=a, target=b, kind="derived_from")


def test_lowering_a_level_rank_below_another_changes_effective_levels(team_a, lead):
    confidential = make(team_a, "conf", "confidential")
    internal_model = make(team_a, "model", "internal", kind="model")
    edge_add(actor=None, source=confidential, target=internal_model, kind="trained_on")

    level_update(actor=lead, level=level("confidential"), rank=15)

    assert refreshed(internal_model).effective_classification.slug == "internal"


def test_only_security_leads_edit_levels(owner):
    with pytest.raises(PermissionDenied):
        level_update(actor=owner, level=level("public"), mfa_required=True)


def test_full_recompute_repairs_levels_written_without_the_service(team_a):
    source = AssetFactory(team=team_a, classification=level("restricted"))
    target = AssetFactory(team=team_a, classification=level("public"))
    target.upstream_edges.create(source=source, kind="derived_from")

    classification_recompute_all()

    assert refreshed(target).effective_classification.slug == "restricted"
