"""Importing assets from CSV: the template, per-row errors with nothing written, upserts, permissions."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from assets.csv_io import COLUMNS, CsvRejected
from assets.models import Asset, AssetKind, Lifecycle
from assets.services.imports import csv_import
from tests.conftest import client_for
from tests.factories.assets import AssetFactory, LineageEdgeFactory, level

pytestmark = pytest.mark.django_db

HEADER = ",".join(COLUMNS)


def _csv(*rows: str, header: str = HEADER) -> bytes:
    return "\n".join([header, *rows]).encode()


def _import(actor, data, max_rows=100):
    return csv_import(actor=actor, data=data, max_rows=max_rows)


def test_template_downloads_with_every_column_and_example_rows(client, teammate):
    response = client_for(client, teammate).get(reverse("assets:import-template"))

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="inventory-template.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == COLUMNS
    assert len(rows) == 3


def test_valid_rows_create_assets_with_every_field(owner, team_a):
    data = _csv(
        "churn-features,dataset,production,research,confidential,high,active,owner,"
        "s3://lake/churn;pkg:pypi/churn@1.0,pii;features,Features for the churn model",
        "churn-model,Model,staging,research,,critical,,,,,",
    )

    result = _import(owner, data)

    assert (result.assets_created, result.assets_updated) == (2, 0)
    features = Asset.objects.get(name="churn-features")
    assert features.kind == AssetKind.DATASET
    assert features.environment == "production"
    assert features.classification.slug == "confidential"
    assert features.technical_owner == owner
    assert features.identifiers == ["s3://lake/churn", "pkg:pypi/churn@1.0"]
    assert features.tags == ["pii", "features"]
    assert features.effective_classification.slug == "confidential"
    model = Asset.objects.get(name="churn-model")
    assert model.kind == AssetKind.MODEL
    assert list(model.violations.values_list("rule", flat=True)) == ["unclassified"]


def test_a_restricted_row_makes_a_restricted_asset_hidden_from_other_teams(owner, team_a):
    _import(owner, _csv("chats,dataset,production,research,restricted,,,,,,"))

    chats = Asset.objects.get(name="chats")
    assert chats.is_restricted
    assert chats.effective_classification.slug == "restricted"


def test_one_bad_row_writes_nothing_and_reports_row_column_and_message(owner, team_a):
    data = _csv(
        "good-one,dataset,production,research,,,,,,,",
        "bad-one,spaceship,production,research,,,,,,,",
        "bad-two,model,production,research,top-secret,,,nobody-by-that-name,,,",
    )

    with pytest.raises(CsvRejected) as rejected:
        _import(owner, data)

    problems = {(error.row, error.column) for error in rejected.value.errors}
    assert problems == {(3, "kind"), (4, "classification"), (4, "technical_owner")}
    assert "spaceship" in rejected.value.errors[0].message
    assert Asset.objects.count() == 0


def test_page_lists_the_row_errors_and_writes_nothing(client, owner, team_a):
    upload = SimpleUploadedFile(
        "assets.csv", _csv("x,model,production,research,,,,,,,", "y,model,mars,research,,,,,,,")
    )

    response = client_for(client, owner).post(reverse("assets:import-csv"), {"file": upload})

    assert response.status_code == 400
    page = response.content.decode()
    assert "Problems in the CSV: nothing was imported" in page
    assert "“mars” is not a valid environment" in page
    assert Asset.objects.count() == 0


def test_api_returns_the_row_errors(api_client, owner, team_a):
    api_client.force_authenticate(owner)
    upload = SimpleUploadedFile("assets.csv", _csv(",model,production,research,,,,,,,"))

    response = api_client.post("/api/v1/asset-import/csv/", {"file": upload}, format="multipart")

    assert response.status_code == 400
    assert response.json()["errors"] == [{"row": 2, "column": "name", "message": "Name is required."}]


def test_existing_assets_are_updated_by_team_kind_and_name(owner, team_a):
    existing = AssetFactory(team=team_a, name="Churn-Model", kind=AssetKind.MODEL, environment="development")

    result = _import(owner, _csv("churn-model,model,production,research,internal,low,retired,,,,"))

    existing.refresh_from_db()
    assert (result.assets_created, result.assets_updated) == (0, 1)
    assert existing.environment == "production"
    assert existing.classification == level("internal")
    assert existing.lifecycle == Lifecycle.RETIRED


def test_rows_for_a_team_you_do_not_belong_to_are_refused(owner, team_a, team_b):
    with pytest.raises(CsvRejected) as rejected:
        _import(owner, _csv("x,model,production,platform,,,,,,,"))

    assert rejected.value.errors[0].column == "team"
    assert "No team “platform” that you can add assets to" in rejected.value.errors[0].message


def test_teammate_may_add_and_change_the_team_assets(teammate, team_a):
    AssetFactory(team=team_a, name="churn-model", kind=AssetKind.MODEL)

    result = _import(
        teammate, _csv("new-one,dataset,,research,,,,,,,", "churn-model,model,production,research,,,,,,,")
    )

    assert (result.assets_created, result.assets_updated) == (1, 1)
    assert Asset.objects.get(name="churn-model").environment == "production"


def test_outsider_may_not_change_another_team_assets(outsider, team_a):
    AssetFactory(team=team_a, name="churn-model", kind=AssetKind.MODEL)

    with pytest.raises(CsvRejected):
        _import(outsider, _csv("churn-model,model,production,research,,,,,,,"))

    assert Asset.objects.get(name="churn-model").environment != "production"


def test_the_same_asset_twice_in_one_file_is_an_error(owner, team_a):
    with pytest.raises(CsvRejected) as rejected:
        _import(owner, _csv("x,model,,research,,,,,,,", "X,model,,research,,,,,,,"))

    assert "Same team, kind and name as row 2" in rejected.value.errors[0].message


def test_unknown_columns_and_missing_required_ones_are_reported_on_the_header(owner, team_a):
    with pytest.raises(CsvRejected) as rejected:
        _import(owner, _csv("x,model,nope", header="name,kind,colour"))

    messages = [error.message for error in rejected.value.errors]
    assert all(error.row == 1 for error in rejected.value.errors)
    assert "The column “colour” is not a column of the template." in messages
    assert "Required column(s) missing: team." in messages


def test_row_count_is_bounded(owner, team_a):
    rows = [f"a{i},model,,research,,,,,,," for i in range(4)]

    with pytest.raises(CsvRejected) as rejected:
        _import(owner, _csv(*rows), max_rows=3)

    assert "more than 3 rows" in rejected.value.errors[0].message


def test_file_size_is_bounded_on_the_page(client, owner, team_a, settings):
    settings.HYGIENE_ASSET_CSV_MAX_BYTES = 1024 * 1024
    upload = SimpleUploadedFile("big.csv", _csv("x,model,,research,,,,,,," + " " * (1024 * 1024)))

    response = client_for(client, owner).post(reverse("assets:import-csv"), {"file": upload})

    assert response.status_code == 413
    assert "larger than the 1 MB allowed" in response.content.decode()
    assert Asset.objects.count() == 0


def test_a_file_that_is_not_utf8_is_refused_with_advice(owner, team_a):
    with pytest.raises(CsvRejected) as rejected:
        _import(owner, _csv("caf\xe9,model,,research,,,,,,,").decode().encode("latin-1"))

    assert "CSV UTF-8" in rejected.value.errors[0].message


def test_auditor_cannot_import(auditor, team_a):
    with pytest.raises(CsvRejected) as rejected:
        _import(auditor, _csv("x,model,,research,,,,,,,"))

    assert rejected.value.errors[0].column == "team"
    assert Asset.objects.count() == 0


def test_reclassifying_a_dataset_by_csv_reaches_the_models_trained_on_it(owner, team_a):
    dataset = AssetFactory(team=team_a, name="chats", classification=level("internal"))
    model = AssetFactory(team=team_a, name="bot", kind=AssetKind.MODEL, classification=level("internal"))
    LineageEdgeFactory(source=dataset, target=model, kind="trained_on")

    result = _import(owner, _csv("chats,dataset,,research,restricted,,,,,,"))

    model.refresh_from_db()
    assert result.assets_updated == 1
    assert model.effective_classification.slug == "restricted"
    assert model.effective_source == dataset
    assert model.is_restricted


def test_a_teammate_import_cannot_lower_a_declared_classification(teammate, team_a):
    AssetFactory(team=team_a, name="churn-model", kind=AssetKind.MODEL, classification=level("confidential"))

    with pytest.raises(CsvRejected) as rejected:
        _import(teammate, _csv("churn-model,model,,research,public,,,,,,"))

    assert [(error.row, error.column) for error in rejected.value.errors] == [(2, "classification")]
    assert "champion or lead" in rejected.value.errors[0].message
    assert Asset.objects.get(name="churn-model").classification.slug == "confidential"


def test_a_nul_character_in_a_cell_is_refused_naming_the_row_and_column_on_page_and_api(
    client, api_client, owner, team_a
):
    data = _csv("fine,model,production,research,,,,,,,", "bad,model,production,research,,,,,,,line\x00two")

    page = client_for(client, owner).post(
        reverse("assets:import-csv"), {"file": SimpleUploadedFile("a.csv", data)}
    )
    api_client.force_authenticate(owner)
    api = api_client.post(
        "/api/v1/asset-import/csv/", {"file": SimpleUploadedFile("a.csv", data)}, format="multipart"
    )

    assert page.status_code == 400
    assert "NUL character" in page.content.decode()
    assert api.status_code == 400
    assert api.json()["errors"] == [
        {"row": 3, "column": "description", "message": "The cell contains a NUL character (\\0); remove it."}
    ]
    assert Asset.objects.count() == 0
