"""Exporting the filtered inventory as CSV and JSON: permissions, filters, formulas, audit, round trip."""

import csv
import datetime as dt
import io
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from assets.csv_io import EXPORT_COLUMNS
from assets.models import AssetKind
from assets.services.imports import csv_import
from hygiene.models import AuditEntry
from tests.conftest import client_for
from tests.factories import ApiTokenFactory
from tests.factories.assets import AssetFactory, level

pytestmark = pytest.mark.django_db


@pytest.fixture
def inventory(team_a, team_b):
    return {
        "secret": AssetFactory(team=team_a, name="customer-chats", classification=level("restricted")),
        "model": AssetFactory(
            team=team_a, name="support-llm", kind=AssetKind.MODEL, classification=level("internal")
        ),
        "platform": AssetFactory(team=team_b, name="gpu-cluster", kind=AssetKind.INFRASTRUCTURE),
    }


def _csv_names(response):
    body = b"".join(response.streaming_content).decode()
    return {row["name"] for row in csv.DictReader(io.StringIO(body))}


def _json_names(response):
    return {item["name"] for item in json.loads(b"".join(response.streaming_content))}


def test_team_member_exports_the_team_assets_including_restricted_ones(client, teammate, inventory):
    response = client_for(client, teammate).get(reverse("assets:export-csv"))

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="inventory.csv"'
    assert _csv_names(response) == {"customer-chats", "support-llm"}


@pytest.mark.parametrize("url_name", ["assets:export-csv", "assets:export-json"])
def test_outsider_never_sees_another_team_restricted_asset(client, outsider, inventory, url_name):
    response = client_for(client, outsider).get(reverse(url_name))

    body = b"".join(response.streaming_content).decode()
    assert "customer-chats" not in body
    assert "gpu-cluster" in body


def test_auditor_exports_everything_but_restricted_assets(client, auditor, inventory):
    response = client_for(client, auditor).get(reverse("assets:export-json"))

    assert _json_names(response) == {"support-llm", "gpu-cluster"}


def test_export_applies_the_list_page_filters(client, lead, inventory):
    response = client_for(client, lead).get(reverse("assets:export-csv"), {"kind": "model"})

    assert _csv_names(response) == {"support-llm"}


def test_json_export_carries_lists_and_levels(client, owner, inventory):
    inventory["model"].identifiers = ["registry.example.org/support-llm:3"]
    inventory["model"].save(update_fields=["identifiers"])

    response = client_for(client, owner).get(reverse("assets:export-json"), {"q": "support"})

    [item] = json.loads(b"".join(response.streaming_content))
    assert item["identifiers"] == ["registry.example.org/support-llm:3"]
    assert item["classification"] == "internal"
    assert item["team"] == "research"
    assert item["id"] == inventory["model"].pk


def test_spreadsheet_formulas_in_asset_text_are_neutralized(client, owner, team_a):
    AssetFactory(team=team_a, name='=HYPERLINK("http://evil")', description="+cmd|' /C calc'!A0")

    response = client_for(client, owner).get(reverse("assets:export-csv"))

    [row] = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert row["name"] == '\'=HYPERLINK("http://evil")'
    assert row["description"].startswith("'+cmd")


def test_each_export_is_recorded_in_the_audit_log(client, auditor, inventory):
    client_for(client, auditor).get(reverse("assets:export-csv"), {"kind": "model"})

    entry = AuditEntry.objects.get(action="export", object_type="assets_asset")
    assert entry.actor_label == "auditor"
    assert entry.after == {"format": "csv", "filters": {"kind": "model"}, "rows": 1}


def test_export_then_import_changes_nothing(client, owner, team_a):
    AssetFactory(
        team=team_a,
        name="=risky name",
        kind=AssetKind.MODEL,
        classification=level("confidential"),
        technical_owner=owner,
        identifiers=["pkg:pypi/risky@1.0", "https://git.example.org/risky"],
        tags=["llm", "beta"],
        description="-- starts with dashes",
    )
    AssetFactory(team=team_a, name="plain dataset", lifecycle="retired")
    exported = b"".join(
        client_for(client, owner).get(reverse("assets:export-csv"), {"lifecycle": "all"}).streaming_content
    )
    assert exported.decode().splitlines()[0] == ",".join(EXPORT_COLUMNS)

    result = csv_import(actor=owner, data=exported, max_rows=100)

    assert (result.assets_created, result.assets_updated, result.assets_unchanged) == (0, 0, 2)


def test_api_export_with_a_read_token_is_narrowed_to_its_team(api_client, lead, inventory, team_a):
    token = ApiTokenFactory(
        user=lead, team=team_a, actions=["read"], expires_at=timezone.now() + dt.timedelta(days=1)
    )
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.clear}")

    response = api_client.get("/api/v1/asset-export/json/")

    assert response.status_code == 200
    assert _json_names(response) == {"customer-chats", "support-llm"}


def test_api_export_is_refused_without_sign_in(api_client, inventory):
    response = api_client.get("/api/v1/asset-export/csv/")

    assert response.status_code == 401
    assert not AuditEntry.objects.filter(action="export").exists()
