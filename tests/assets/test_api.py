"""The inventory API behaves like the pages: same visibility, same rules, clear 400s."""

import pytest

from assets.models import Asset, LineageEdge
from assets.services import asset_create, edge_add
from tests.factories import ApiTokenFactory
from tests.factories.assets import level

pytestmark = pytest.mark.django_db


@pytest.fixture
def restricted_dataset(team_a):
    return asset_create(
        actor=None,
        team=team_a,
        name="customer-conversations",
        kind="dataset",
        classification=level("restricted"),
    )


@pytest.fixture
def model(team_a):
    return asset_create(
        actor=None, team=team_a, name="support-llm", kind="model", classification=level("internal")
    )


def names(response):
    return {row["name"] for row in response.json()["results"]}


def test_member_lists_team_assets_with_filters(api_client, teammate, restricted_dataset, model):
    api_client.force_authenticate(teammate)

    everything = api_client.get("/api/v1/assets/")
    datasets = api_client.get("/api/v1/assets/", {"kind": "dataset"})
    searched = api_client.get("/api/v1/assets/", {"q": "support"})

    assert names(everything) == {"customer-conversations", "support-llm"}
    assert names(datasets) == {"customer-conversations"}
    assert names(searched) == {"support-llm"}


@pytest.mark.parametrize("persona", ["outsider", "auditor"])
def test_restricted_asset_is_absent_from_the_api_for_others(
    api_client, request, persona, restricted_dataset, model
):
    api_client.force_authenticate(request.getfixturevalue(persona))

    listing = api_client.get("/api/v1/assets/", {"q": "customer"})
    detail = api_client.get(f"/api/v1/assets/{restricted_dataset.pk}/")
    graph = api_client.get(f"/api/v1/assets/{restricted_dataset.pk}/lineage/")

    assert listing.json()["count"] == 0
    assert detail.status_code == 404
    assert graph.status_code == 404


def test_lineage_json_omits_restricted_upstream_for_the_auditor(
    api_client, auditor, team_a, restricted_dataset
):
    dashboard = asset_create(actor=None, team=team_a, name="kpi-dashboard", kind="endpoint",
                             classification=level("restricted"))  # fmt: skip
    public = asset_create(actor=None, team=team_a, name="open-data", kind="dataset",
                          classification=level("public"))  # fmt: skip
    report = asset_create(actor=None, team=team_a, name="report", kind="dataset",
                          classification=level("internal"))  # fmt: skip
    edge_add(actor=None, source=public, target=report, kind="derived_from")
    edge_add(actor=None, source=report, target=dashboard, kind="depends_on")
    api_client.force_authenticate(auditor)

    graph = api_client.get(f"/api/v1/assets/{report.pk}/lineage/").json()

    assert {node["name"] for node in graph["nodes"]} == {"open-data", "report"}
    assert graph["downstream_count"] == 0


def test_detail_names_the_source_of_an_inherited_level(api_client, owner, restricted_dataset, model):
    edge_add(actor=None, source=restricted_dataset, target=model, kind="trained_on")
    api_client.force_authenticate(owner)

    data = api_client.get(f"/api/v1/assets/{model.pk}/").json()

    assert data["effective_classification"] == "restricted"
    assert data["inherited"] is True
    assert data["effective_source"] == {"id": restricted_dataset.pk, "name": "customer-conversations"}


def test_teammate_creates_an_asset_in_their_team(api_client, teammate, team_a):
    api_client.force_authenticate(teammate)

    response = api_client.post(
        "/api/v1/assets/",
        {"name": "llm-serving", "team": team_a.slug, "kind": "container_image", "environment": "production",
         "classification": "internal", "identifiers": ["registry.example.org/research/llm-serving:1.4.2"]},
        format="json",
    )  # fmt: skip

    assert response.status_code == 201
    assert response.json()["effective_classification"] == "internal"
    assert Asset.objects.filter(
        identifiers__overlap=["registry.example.org/research/llm-serving:1.4.2"]
    ).exists()


def test_teammate_changes_a_team_asset_but_cannot_lower_its_classification(api_client, teammate, model):
    api_client.force_authenticate(teammate)

    changed = api_client.patch(f"/api/v1/assets/{model.pk}/", {"environment": "production"}, format="json")
    lowered = api_client.patch(f"/api/v1/assets/{model.pk}/", {"classification": "public"}, format="json")

    assert changed.status_code == 200
    assert lowered.status_code == 403
    assert "champion or lead" in lowered.json()["detail"]
    model.refresh_from_db()
    assert (model.environment, model.classification.slug) == ("production", "internal")


def test_outsider_cannot_change_another_team_asset(api_client, outsider, model):
    api_client.force_authenticate(outsider)

    response = api_client.patch(f"/api/v1/assets/{model.pk}/", {"environment": "production"}, format="json")

    assert response.status_code == 404


def test_outsider_cannot_create_in_another_team(api_client, outsider, team_a):
    api_client.force_authenticate(outsider)

    response = api_client.post(
        "/api/v1/assets/", {"name": "x", "team": team_a.slug, "kind": "model"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["team"] == "No such team among yours."


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/v1/assets/", {"name": "x", "team": "research", "kind": "model"}),
        ("patch", "/api/v1/assets/{model}/", {"environment": "production"}),
        ("post", "/api/v1/assets/{model}/retire/", {}),
        ("post", "/api/v1/lineage-edges/", {"source": "{model}", "target": "{model}", "kind": "calls"}),
        ("patch", "/api/v1/classification-levels/{level}/", {"mfa_required": True}),
    ],
)
def test_auditor_writes_are_refused(api_client, auditor, model, method, path, body):
    values = {"model": model.pk, "level": level("public").pk}
    api_client.force_authenticate(auditor)
    body = {key: (value.format(**values) if isinstance(value, str) else value) for key, value in body.items()}

    response = getattr(api_client, method)(path.format(**values), body, format="json")

    assert response.status_code == 403


def test_owner_links_and_unlinks_through_the_api(api_client, owner, restricted_dataset, model):
    api_client.force_authenticate(owner)

    created = api_client.post(
        "/api/v1/lineage-edges/",
        {"source": restricted_dataset.pk, "target": model.pk, "kind": "trained_on"},
        format="json",
    )
    model.refresh_from_db()
    assert created.status_code == 201
    assert created.json()["reads"] == "support-llm was trained on customer-conversations"
    assert model.is_restricted

    removed = api_client.delete(f"/api/v1/lineage-edges/{created.json()['id']}/")
    model.refresh_from_db()
    assert removed.status_code == 204
    assert not model.is_restricted


def test_cycle_is_a_clear_400(api_client, owner, restricted_dataset, model):
    edge_add(actor=None, source=restricted_dataset, target=model, kind="trained_on")
    api_client.force_authenticate(owner)

    response = api_client.post(
        "/api/v1/lineage-edges/",
        {"source": model.pk, "target": restricted_dataset.pk, "kind": "derived_from"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {
        "detail": [
            "Adding support-llm → customer-conversations would close the cycle "
            "customer-conversations → support-llm."
        ]
    }
    assert LineageEdge.objects.count() == 1


def test_read_only_token_cannot_write(api_client, owner, team_a, model):
    token = ApiTokenFactory(user=owner, team=team_a, actions=["read"])
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.clear}")

    assert api_client.get("/api/v1/assets/").status_code == 200
    response = api_client.patch(f"/api/v1/assets/{model.pk}/", {"criticality": "high"}, format="json")
    assert response.status_code == 403


def test_violations_endpoint_lists_only_visible_assets(api_client, outsider, team_a, team_b):
    asset_create(actor=None, team=team_a, name="hidden", kind="dataset")
    asset_create(actor=None, team=team_b, name="theirs", kind="dataset")
    api_client.force_authenticate(outsider)

    rows = api_client.get("/api/v1/policy-violations/", {"rule": "unclassified"}).json()["results"]

    assert [row["asset_name"] for row in rows] == ["theirs"]


def test_levels_are_listed_in_rank_order(api_client, teammate):
    api_client.force_authenticate(teammate)

    slugs = [level["slug"] for level in api_client.get("/api/v1/classification-levels/").json()]

    assert slugs == ["public", "internal", "confidential", "restricted"]


def test_schema_documents_the_inventory_endpoints(api_client, lead):
    api_client.force_authenticate(lead)

    schema = api_client.get("/api/v1/schema/", {"format": "json"}).json()

    for path in ("/api/v1/assets/", "/api/v1/assets/{id}/lineage/", "/api/v1/lineage-edges/",
                 "/api/v1/classification-levels/", "/api/v1/policy-violations/"):  # fmt: skip
        assert path in schema["paths"]
