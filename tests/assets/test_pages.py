"""The inventory pages through the personas: who sees what, who may change what, and what they are told."""

import datetime as dt
from urllib.parse import parse_qsl

import pytest
from django.urls import reverse
from django.utils import timezone

from assets.models import Asset, LineageEdge, TransformationLogEntry
from assets.services import asset_create, edge_add
from tests.conftest import client_for
from tests.factories.assets import AssetFactory, level

pytestmark = pytest.mark.django_db


@pytest.fixture
def restricted_dataset(team_a):
    return asset_create(
        actor=None,
        team=team_a,
        name="customer-conversations",
        kind="dataset",
        classification=level("restricted"),
        identifiers=["s3://research-data/customer-conversations/"],
        description="Support chats with customers",
    )


@pytest.fixture
def internal_model(team_a):
    return asset_create(
        actor=None, team=team_a, name="intent-classifier", kind="model", classification=level("internal")
    )


def test_team_member_lists_and_finds_their_restricted_dataset(client, teammate, restricted_dataset):
    response = client_for(client, teammate).get(reverse("assets:list"), {"q": "research-data"})

    assert response.status_code == 200
    assert "customer-conversations" in response.content.decode()
    assert response.context["counts"]["restricted"] == 1


@pytest.mark.parametrize("persona", ["outsider", "auditor"])
def test_restricted_asset_is_invisible_to_other_teams_and_auditors(
    client, request, persona, restricted_dataset, internal_model
):
    user = request.getfixturevalue(persona)
    client = client_for(client, user)

    listing = client.get(reverse("assets:list"))
    search = client.get(reverse("assets:list"), {"q": "customer"})
    detail = client.get(restricted_dataset.get_absolute_url())

    assert "customer-conversations" not in listing.content.decode()
    assert listing.context["counts"]["restricted"] == 0
    assert "customer-conversations" not in search.content.decode()
    assert search.context["page"].paginator.count == 0
    assert detail.status_code == 404


def test_auditor_sees_other_teams_unrestricted_assets(client, auditor, internal_model):
    response = client_for(client, auditor).get(internal_model.get_absolute_url())

    assert response.status_code == 200
    assert response.context["may_change"] is False


def test_model_inheriting_restricted_is_hidden_from_outsiders_too(
    client, outsider, owner, restricted_dataset, internal_model
):
    edge_add(actor=None, source=restricted_dataset, target=internal_model, kind="trained_on")

    response = client_for(client, outsider).get(internal_model.get_absolute_url())

    assert response.status_code == 404


def test_asset_page_says_where_the_level_was_inherited_from(
    client, teammate, restricted_dataset, internal_model
):
    edge_add(actor=None, source=restricted_dataset, target=internal_model, kind="trained_on")

    page = client_for(client, teammate).get(internal_model.get_absolute_url()).content.decode()

    assert "inherited from" in page
    assert restricted_dataset.get_absolute_url() in page
    assert "intent-classifier was trained on" in page


def test_lineage_graph_leaves_out_what_the_viewer_cannot_see(client, lead, team_a, team_b, outsider):
    secret = asset_create(actor=None, team=team_a, name="secret-data", kind="dataset",
                          classification=level("restricted"))  # fmt: skip
    public = asset_create(actor=None, team=team_b, name="public-data", kind="dataset",
                          classification=level("public"))  # fmt: skip
    pipeline = asset_create(actor=None, team=team_b, name="etl", kind="pipeline",
                            classification=level("internal"))  # fmt: skip
    edge_add(actor=None, source=public, target=pipeline, kind="derived_from")
    edge_add(actor=None, source=pipeline, target=secret, kind="derived_from")

    graph = client_for(client, outsider).get(public.get_absolute_url()).context["graph"]

    names = {node["name"] for node in graph["nodes"]}
    assert names == {"public-data", "etl"}
    assert graph["downstream_count"] == 1
    assert all(secret.pk not in (edge["source"], edge["target"]) for edge in graph["edges"])


def test_teammate_adds_an_asset_to_their_team(client, teammate, team_a):
    response = client_for(client, teammate).post(
        reverse("assets:create"),
        {
            "name": "churn-features",
            "team": team_a.slug,
            "kind": "dataset",
            "environment": "staging",
            "classification": level("confidential").pk,
            "criticality": "high",
            "identifiers": "s3://features/churn\n\ns3://features/churn",
            "tags": "features, churn",
        },
        follow=True,
    )

    asset = Asset.objects.get(name="churn-features")
    assert asset.identifiers == ["s3://features/churn"]
    assert asset.tags == ["features", "churn"]
    assert asset.effective_classification.slug == "confidential"
    assert "added to Research" in response.content.decode()


def test_duplicate_name_is_explained_on_the_form(client, owner, team_a, internal_model):
    response = client_for(client, owner).post(
        reverse("assets:create"),
        {"name": "Intent-Classifier", "team": team_a.slug, "kind": "model", "environment": "development",
         "criticality": "medium"},
    )  # fmt: skip

    assert response.status_code == 400
    assert "already has a model named" in response.content.decode()


def test_teammate_edits_and_retires_a_team_asset(client, teammate, internal_model):
    client = client_for(client, teammate)

    assert client.get(reverse("assets:edit", args=[internal_model.pk])).status_code == 200
    assert client.post(reverse("assets:retire", args=[internal_model.pk])).status_code == 302
    internal_model.refresh_from_db()
    assert internal_model.lifecycle == "retired"


def test_outsider_cannot_edit_or_retire_another_team_asset(client, outsider, internal_model):
    client = client_for(client, outsider)

    assert client.get(reverse("assets:edit", args=[internal_model.pk])).status_code == 404
    assert client.post(reverse("assets:retire", args=[internal_model.pk])).status_code == 404


def test_teammate_cannot_lower_the_declared_classification_and_is_told_who_can(
    client, teammate, owner, internal_model
):
    data = {
        "name": internal_model.name,
        "team": "research",
        "kind": "model",
        "environment": "development",
        "classification": level("public").pk,
        "criticality": "medium",
    }

    refused = client_for(client, teammate).post(reverse("assets:edit", args=[internal_model.pk]), data)
    internal_model.refresh_from_db()
    assert refused.status_code == 400
    assert "champion or lead" in refused.content.decode()
    assert internal_model.classification.slug == "internal"
    raised = client.post(
        reverse("assets:edit", args=[internal_model.pk]), {**data, "classification": level("confidential").pk}
    )
    assert raised.status_code == 302
    client_for(client, owner).post(reverse("assets:edit", args=[internal_model.pk]), data)
    internal_model.refresh_from_db()
    assert internal_model.classification.slug == "public"


def test_outsider_cannot_add_assets_to_another_team(client, outsider, team_a, team_b):
    response = client_for(client, outsider).get(reverse("assets:create"))

    teams = [value for value, _ in response.context["form"].fields["team"].choices]
    assert teams == [team_b.slug]


@pytest.mark.parametrize("url_name", ["assets:edit", "assets:retire", "assets:provenance"])
def test_auditor_writes_are_refused(client, auditor, internal_model, url_name):
    response = client_for(client, auditor).post(reverse(url_name, args=[internal_model.pk]), {})

    assert response.status_code == 403


def test_owner_edits_and_retires(client, owner, internal_model):
    client = client_for(client, owner)
    client.post(
        reverse("assets:edit", args=[internal_model.pk]),
        {"name": "intent-classifier", "team": internal_model.team.slug, "kind": "model",
         "environment": "production", "criticality": "high", "classification": level("internal").pk},
    )  # fmt: skip
    response = client.post(reverse("assets:retire", args=[internal_model.pk]), follow=True)

    internal_model.refresh_from_db()
    assert internal_model.environment == "production"
    assert internal_model.lifecycle == "retired"
    assert "retired" in response.content.decode()
    assert client.get(reverse("assets:list")).context["counts"]["total"] == 0


def test_owner_links_assets_by_picking_from_the_list(client, owner, restricted_dataset, internal_model):
    response = client_for(client, owner).post(
        reverse("assets:edge-add", args=[internal_model.pk]),
        {"relation": "up:trained_on", "other": f"customer-conversations (#{restricted_dataset.pk})"},
        follow=True,
    )

    edge = LineageEdge.objects.get()
    assert (edge.source, edge.target, edge.kind) == (restricted_dataset, internal_model, "trained_on")
    assert "Recorded: intent-classifier was trained on customer-conversations." in response.content.decode()


def test_cycle_refusal_is_shown_on_the_page(client, owner, restricted_dataset, internal_model):
    edge_add(actor=None, source=restricted_dataset, target=internal_model, kind="trained_on")

    response = client_for(client, owner).post(
        reverse("assets:edge-add", args=[internal_model.pk]),
        {"relation": "down:derived_from", "other": "customer-conversations"},
    )

    assert response.status_code == 400
    assert (
        "Adding intent-classifier → customer-conversations would close the cycle "
        "customer-conversations → intent-classifier." in response.content.decode()
    )


def test_outsider_cannot_link_to_an_asset_they_cannot_see(client, team_b, outsider, restricted_dataset):
    theirs = AssetFactory(team=team_b, name="their-model", kind="model")

    response = client_for(client, outsider).post(
        reverse("assets:edge-add", args=[theirs.pk]),
        {"relation": "up:trained_on", "other": f"customer-conversations (#{restricted_dataset.pk})"},
    )

    assert response.status_code == 404
    assert not LineageEdge.objects.exists()


def test_owner_removes_a_link_and_the_level_drops(client, owner, restricted_dataset, internal_model):
    edge = edge_add(actor=None, source=restricted_dataset, target=internal_model, kind="trained_on")

    client_for(client, owner).post(reverse("assets:edge-remove", args=[edge.pk]), {"back": "target"})

    internal_model.refresh_from_db()
    assert internal_model.effective_classification.slug == "internal"


def test_provenance_and_transformation_log_of_a_dataset(client, owner, teammate, restricted_dataset):
    client_for(client, owner).post(
        reverse("assets:provenance", args=[restricted_dataset.pk]),
        {"source": "Zendesk export", "legal_basis": "Contract", "contains_personal_data": "on",
         "retention_until": (timezone.localdate() - dt.timedelta(days=2)).isoformat()},
    )  # fmt: skip
    client.force_login(teammate)
    client.post(
        reverse("assets:transformation-add", args=[restricted_dataset.pk]),
        {"description": "Removed e-mail addresses and phone numbers"},
    )

    page = client.get(restricted_dataset.get_absolute_url()).content.decode()
    assert "Zendesk export" in page
    assert "Removed e-mail addresses and phone numbers" in page
    assert "Retention expired" in page
    assert TransformationLogEntry.objects.get().actor_label == "teammate"


def test_violations_page_hides_related_assets_the_viewer_cannot_see(client, team_a, team_b, outsider):
    dev = asset_create(actor=None, team=team_a, name="dev-notebook", kind="notebook",
                       classification=level("internal"))  # fmt: skip
    prod = asset_create(actor=None, team=team_b, name="prod-api", kind="endpoint", environment="production",
                        classification=level("internal"))  # fmt: skip
    edge_add(actor=None, source=dev, target=prod, kind="depends_on")
    Asset.objects.filter(pk=dev.pk).update(is_restricted=True)

    page = client_for(client, outsider).get(reverse("assets:violations")).content.decode()

    assert "prod-api" in page
    assert "dev-notebook" not in page
    assert "an asset you cannot see" in page


def test_levels_page_is_read_by_all_and_edited_by_leads(client, teammate, lead):
    confidential = level("confidential")
    assert client_for(client, teammate).get(reverse("assets:levels")).status_code == 200
    assert client.get(reverse("assets:level-edit", args=[confidential.pk])).status_code == 403

    client.force_login(lead)
    response = client.post(
        reverse("assets:level-edit", args=[confidential.pk]),
        {"name": "Confidential", "rank": 30, "encryption_at_rest": "on", "encryption_in_transit": "on",
         "mfa_required": "on", "max_retention_days": 365, "access_granted_by": "Team lead"},
        follow=True,
    )  # fmt: skip

    confidential.refresh_from_db()
    assert confidential.max_retention_days == 365
    assert "re-evaluated" in response.content.decode()


def test_list_filters_survive_paging_and_sorting(client, owner, team_a):
    for index in range(30):
        AssetFactory(team=team_a, name=f"model-{index:02}", kind="model", tags=["llm"])
    AssetFactory(team=team_a, name="other", kind="dataset")

    response = client_for(client, owner).get(
        reverse("assets:list"), {"kind": "model", "tag": "llm", "per_page": 25, "sort": "-name"}
    )

    page = response.context["page"]
    assert page.paginator.count == 30
    assert page.object_list[0].name == "model-29"
    assert "kind=model" in response.context["query"]
    assert "page" not in dict(parse_qsl(response.context["query"]))


def test_empty_inventory_invites_the_first_asset(client, owner):
    page = client_for(client, owner).get(reverse("assets:list")).content.decode()

    assert "No assets in the inventory yet." in page
    assert "Add the first asset" in page


def test_list_page_queries_do_not_grow_with_rows(client, owner, team_a, django_assert_max_num_queries):
    source = AssetFactory(team=team_a, classification=level("restricted"))
    for index in range(60):
        AssetFactory(team=team_a, name=f"a-{index}", tags=["x"], effective_source=source,
                     effective_classification=level("restricted"))  # fmt: skip
    client = client_for(client, owner)
    client.get(reverse("assets:list"))  # warms the content-type cache, as in a running server

    # 14 for the list itself and 2 for the header (the person's team role, unread notifications).
    with django_assert_max_num_queries(16):
        client.get(reverse("assets:list"), {"per_page": 25})
    with django_assert_max_num_queries(16):
        client.get(reverse("assets:list"), {"per_page": 100})


def test_the_chart_library_loads_only_on_asset_pages_with_a_lineage_graph(client, teammate, team_a):
    lonely = AssetFactory(team=team_a, name="lonely")
    linked = AssetFactory(team=team_a, name="linked")
    edge_add(actor=None, source=AssetFactory(team=team_a, name="upstream"), target=linked, kind="trained_on")
    client = client_for(client, teammate)

    assert "plotly.min" not in client.get(reverse("assets:detail", args=[lonely.pk])).content.decode()
    assert "plotly.min" in client.get(reverse("assets:detail", args=[linked.pk])).content.decode()
    assert "plotly.min" not in client.get(reverse("assets:list")).content.decode()


def test_the_asset_page_shows_when_each_kind_of_check_last_ran(client, teammate, team_a):
    from tests.factories.findings import ImportJobFactory

    image = AssetFactory(team=team_a, name="served-image", kind="container_image")
    ran = timezone.now() - dt.timedelta(days=3)
    # One Trivy file held dependency and secret scanning (and infrastructure as code, from its findings).
    job = ImportJobFactory(
        asset=image, format="trivy", check_types=["dependency", "iac", "secret"], scanned_at=ran
    )
    client = client_for(client, teammate)

    rows = {
        check.check_type: check
        for check in client.get(reverse("assets:detail", args=[image.pk])).context["scans"].by_check
    }

    assert (rows["secret"].last_at, rows["secret"].last_job_id, rows["secret"].imports) == (ran, job.pk, 1)
    assert rows["iac"].last_at == ran
    assert (rows["model_file"].last_at, rows["model_file"].imports) == (None, 0)  # shown as "never"
