"""Importing CycloneDX SBOMs and ML-BOMs: what becomes an asset, lineage, re-import, broken files."""

import datetime as dt
import json
import os
import subprocess
import sys

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from assets.bom import BomRejected
from assets.models import Asset, AssetKind, EdgeKind, LineageEdge
from assets.services.imports import bom_import
from hygiene.models import AuditEntry, Team
from tests.conftest import REPO_ROOT, client_for
from tests.factories import ApiTokenFactory, TeamFactory

pytestmark = pytest.mark.django_db


def _read(scans_dir, name):
    return (scans_dir / "cyclonedx" / name).read_bytes()


def _import(scans_dir, name, team, actor=None):
    return bom_import(actor=actor, team=team, data=_read(scans_dir, name), source=name)


# Expected counts, read off each file:
# - aibom.json: subject "NaveenBhav" (application) + 4 machine-learning-model components = 5 assets.
#   Its dependencies say the NaveenBhav model is an adapter on DeepSeek-V3.1-Base and on
#   Llama-3.1-8B-Instruct (2 derived_from edges; the third entry names Meta-Llama-3.1-8B, which is
#   not in the BOM); the NaveenBhav model and Llama-3.1-8B, which no asset depends on, make up the
#   subject (2 depends_on edges). 4 edges.
# - bom.1.4.json: a Composer application with 62 libraries: 1 asset carrying their purls, no edges.
# - issue_9277.json: the ubuntu:latest container with 101 libraries and its OS: 1 asset.
# - log4j.json: a scanned directory (type "file") holding log4j-core: 1 asset.
# - valid-machine-learning-1.6.json: the stable-diffusion model and the "Training Data" dataset of
#   its model card (no subject): 2 assets, 1 trained_on edge.
EXPECTED = [
    ("aibom.json", 5, 4, 4),
    ("bom.1.4.json", 1, 0, 62),
    ("issue_9277.json", 1, 0, 102),
    ("log4j.json", 1, 0, 1),
    ("valid-machine-learning-1.6.json", 2, 1, 1),
]


@pytest.mark.parametrize(("name", "assets", "edges", "components"), EXPECTED)
def test_each_real_bom_creates_the_assets_and_edges_it_describes(
    scans_dir, team_a, owner, name, assets, edges, components
):
    result = _import(scans_dir, name, team_a, actor=owner)

    assert (result.assets_created, result.edges_created, result.components) == (assets, edges, components)
    assert Asset.objects.filter(team=team_a).count() == assets
    assert LineageEdge.objects.count() == edges


def test_ml_bom_models_become_model_assets_linked_to_their_base_models(scans_dir, team_a):
    _import(scans_dir, "aibom.json", team_a)

    adapter = Asset.objects.get(team=team_a, name="aeevnn/NaveenBhav")
    assert adapter.kind == AssetKind.MODEL
    assert "pkg:huggingface/aeevnn/NaveenBhav@1.0" in adapter.identifiers
    bases = LineageEdge.objects.filter(target=adapter, kind=EdgeKind.DERIVED_FROM)
    assert {edge.source.name for edge in bases} == {
        "deepseek-ai/DeepSeek-V3.1-Base",
        "meta-llama/Llama-3.1-8B-Instruct",
    }
    subject = Asset.objects.get(team=team_a, name="NaveenBhav", kind=AssetKind.REPOSITORY)
    assert LineageEdge.objects.filter(source=adapter, target=subject, kind=EdgeKind.DEPENDS_ON).exists()


def test_aibom_schema_slips_and_dangling_reference_are_reported_as_warnings(scans_dir, team_a):
    result = _import(scans_dir, "aibom.json", team_a)

    assert any("components[0].licenses" in warning for warning in result.warnings)
    assert any("Meta-Llama-3.1-8B" in warning for warning in result.warnings)


def test_model_card_dataset_becomes_a_dataset_the_model_was_trained_on(scans_dir, team_a):
    _import(scans_dir, "valid-machine-learning-1.6.json", team_a)

    model = Asset.objects.get(team=team_a, kind=AssetKind.MODEL)
    dataset = Asset.objects.get(team=team_a, kind=AssetKind.DATASET)
    assert model.name == "CompVis/stable-diffusion"
    assert {"component-a", "CompVis/stable-diffusion@1.4"} <= set(model.identifiers)
    assert dataset.name == "Training Data"
    assert dataset.classification.slug == "public"
    assert "https://example.com/path/to/dataset" in dataset.identifiers
    assert LineageEdge.objects.filter(source=dataset, target=model, kind=EdgeKind.TRAINED_ON).exists()
    model.refresh_from_db()
    assert model.effective_classification.slug == "public"
    assert model.effective_source == dataset


def test_libraries_are_recorded_as_package_urls_on_the_image_not_as_assets(scans_dir, team_a):
    _import(scans_dir, "issue_9277.json", team_a)

    image = Asset.objects.get(team=team_a)
    assert image.kind == AssetKind.CONTAINER_IMAGE
    assert image.name == "ubuntu:latest"
    assert "ubuntu:latest" in image.identifiers
    document = json.loads(_read(scans_dir, "issue_9277.json"))
    package_urls = {component["purl"] for component in document["components"] if "purl" in component}
    assert "pkg:deb/ubuntu/adduser@3.118ubuntu5?arch=all&distro=ubuntu-22.04" in package_urls
    assert package_urls <= set(image.identifiers)
    assert "ubuntu@22.04" in image.identifiers  # the OS component has no purl


def test_composer_sbom_subject_is_a_repository_holding_every_library_purl(scans_dir, team_a):
    _import(scans_dir, "bom.1.4.json", team_a)

    project = Asset.objects.get(team=team_a)
    document = json.loads(_read(scans_dir, "bom.1.4.json"))
    library_purls = {component["purl"] for component in document["components"]}
    assert project.kind == AssetKind.REPOSITORY
    assert project.name == "cyclonedx/cyclonedx-php-composer-demo"
    assert library_purls <= set(project.identifiers)
    assert "cyclonedx" in project.tags


def test_reimporting_the_same_bom_creates_nothing_and_reports_updates(scans_dir, team_a):
    _import(scans_dir, "aibom.json", team_a)
    audit_before = AuditEntry.objects.filter(object_type="assets_asset", action="update").count()

    again = _import(scans_dir, "aibom.json", team_a)

    assert (again.assets_created, again.edges_created) == (0, 0)
    assert (again.assets_updated, again.edges_updated) == (5, 4)
    assert Asset.objects.filter(team=team_a).count() == 5
    assert LineageEdge.objects.count() == 4
    assert AuditEntry.objects.filter(object_type="assets_asset", action="update").count() == audit_before


def test_reimport_keeps_identifiers_people_added_and_matches_renamed_assets_by_purl(scans_dir, team_a):
    _import(scans_dir, "issue_9277.json", team_a)
    image = Asset.objects.get(team=team_a)
    image.name = "ubuntu base image"
    image.identifiers = [*image.identifiers, "https://git.example.org/platform/base-images"]
    image.save(update_fields=["name", "identifiers"])

    result = _import(scans_dir, "issue_9277.json", team_a)

    image.refresh_from_db()
    assert (result.assets_created, result.assets_updated) == (0, 1)
    assert image.name == "ubuntu base image"
    assert "https://git.example.org/platform/base-images" in image.identifiers


def test_same_bom_in_another_team_makes_that_team_its_own_assets(scans_dir, team_a, team_b):
    _import(scans_dir, "log4j.json", team_a)

    result = _import(scans_dir, "log4j.json", team_b)

    assert result.assets_created == 1
    assert Asset.objects.count() == 2


def _truncated(scans_dir):
    data = _read(scans_dir, "bom.1.4.json")
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_truncated, "truncated"),
        (lambda scans: (scans / "trivy" / "scheme_2_many_vulns.json").read_bytes(), "not a CycloneDX BOM"),
        (lambda scans: (scans / "spdx" / "spdx_no_vuln.json").read_bytes(), "SPDX"),
        (lambda scans: (scans / "sarif" / "no_runs.sarif").read_bytes(), "not a CycloneDX BOM"),
        (lambda scans: b"", "empty"),
    ],
    ids=["truncated", "trivy-json", "spdx", "sarif", "empty"],
)
def test_a_broken_or_foreign_file_is_refused_with_a_clear_message_and_writes_nothing(
    scans_dir, team_a, make, message
):
    with pytest.raises(BomRejected) as refused:
        bom_import(actor=None, team=team_a, data=make(scans_dir))

    assert message in refused.value.messages[0]
    assert Asset.objects.count() == 0


def test_a_schema_error_in_what_the_import_reads_refuses_the_whole_file(scans_dir, team_a):
    document = json.loads(_read(scans_dir, "valid-machine-learning-1.6.json"))
    document["components"].append({"type": "spaceship", "name": "odd"})

    with pytest.raises(BomRejected) as refused:
        bom_import(actor=None, team=team_a, data=json.dumps(document).encode())

    assert "components[1].type" in refused.value.messages[0]
    assert Asset.objects.count() == 0


def test_a_team_outsider_cannot_import_into_the_team(scans_dir, team_a, outsider):
    with pytest.raises(PermissionDenied):
        _import(scans_dir, "log4j.json", team_a, actor=outsider)

    assert Asset.objects.count() == 0


# The import_bom command --------------------------------------------------------------------------


def test_command_prints_one_json_line_of_counts(scans_dir, team_a, capsys):
    call_command("import_bom", str(scans_dir / "cyclonedx" / "aibom.json"), "--team", team_a.slug)

    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0]) == {
        "assets_created": 5,
        "assets_updated": 0,
        "edges_created": 4,
        "edges_updated": 0,
        "components": 4,
        "findings": 0,  # an SPDX 3 document's vulnerabilities; CycloneDX ones are a scan import
    }


def test_command_without_team_imports_into_the_unassigned_team(scans_dir, capsys):
    call_command("import_bom", str(scans_dir / "cyclonedx" / "log4j.json"))

    unassigned = Team.objects.get(slug="unassigned")
    assert Asset.objects.get().team == unassigned
    assert json.loads(capsys.readouterr().out)["assets_created"] == 1


def test_command_changes_are_in_the_audit_log_under_the_command(scans_dir, team_a):
    call_command("import_bom", str(scans_dir / "cyclonedx" / "log4j.json"), "--team", team_a.slug)

    inserted = AuditEntry.objects.get(object_type="assets_asset", action="insert")
    assert inserted.actor_label == "import_bom"
    assert inserted.context["command"] == "import_bom"
    assert AuditEntry.objects.filter(action="import", actor_label="import_bom").exists()


def _manage(*args):
    """Run manage.py in a child process against this test database, as an operator would."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "hygiene.settings.test",
        "HYGIENE_DB_NAME": connection.settings_dict["NAME"],
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.django_db(transaction=True)
def test_command_exit_codes_zero_on_success_and_one_with_a_message_on_a_broken_file(scans_dir, tmp_path):
    team = TeamFactory(slug="research")
    broken = tmp_path / "cut.json"
    broken.write_bytes(_truncated(scans_dir))

    refused = _manage("import_bom", str(broken), "--team", team.slug)
    imported = _manage("import_bom", str(scans_dir / "cyclonedx" / "log4j.json"), "--team", team.slug)

    assert refused.returncode == 1
    assert "truncated" in refused.stderr
    assert refused.stdout == ""
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout)["assets_created"] == 1
    assert Asset.objects.filter(team=team).count() == 1


def test_command_writes_nothing_for_a_broken_file_not_even_the_unassigned_team(scans_dir, tmp_path):
    broken = tmp_path / "cut.json"
    broken.write_bytes(_truncated(scans_dir))

    with pytest.raises(CommandError, match="truncated"):
        call_command("import_bom", str(broken))

    assert Asset.objects.count() == 0
    assert not Team.objects.filter(slug="unassigned").exists()


def test_command_refuses_an_unknown_team_and_a_missing_file(scans_dir, tmp_path):
    with pytest.raises(CommandError, match="No team with the slug"):
        call_command("import_bom", str(scans_dir / "cyclonedx" / "log4j.json"), "--team", "nope")
    with pytest.raises(CommandError, match="cannot be read"):
        call_command("import_bom", str(tmp_path / "missing.json"))


# Page and API ------------------------------------------------------------------------------------


def _upload(scans_dir, name):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, _read(scans_dir, name), content_type="application/json")


def test_member_uploads_a_bom_on_the_page_and_sees_what_was_imported(client, scans_dir, teammate, team_a):
    response = client_for(client, teammate).post(
        reverse("assets:import-bom"),
        {
            "file": _upload(scans_dir, "valid-machine-learning-1.6.json"),
            "team": team_a.slug,
            "environment": "production",
        },
    )

    assert response.status_code == 200
    assert "2 asset(s) created" in response.content.decode()
    assert "CompVis/stable-diffusion" in response.content.decode()
    assert set(Asset.objects.values_list("environment", flat=True)) == {"production"}


def test_page_shows_why_a_broken_bom_was_refused(client, scans_dir, owner, team_a):
    from django.core.files.uploadedfile import SimpleUploadedFile

    spdx = SimpleUploadedFile("sbom.json", (scans_dir / "spdx" / "spdx_no_vuln.json").read_bytes())
    response = client_for(client, owner).post(
        reverse("assets:import-bom"), {"file": spdx, "team": team_a.slug, "environment": "development"}
    )

    assert response.status_code == 400
    assert "This is an SPDX document" in response.content.decode()
    assert Asset.objects.count() == 0


def test_auditor_gets_no_import_form(client, auditor):
    response = client_for(client, auditor).get(reverse("assets:import"))

    assert response.status_code == 200
    assert "no team to import into" in response.content.decode()
    assert "Import BOM" not in response.content.decode()


def _token(user, team, actions):
    return ApiTokenFactory(
        user=user, team=team, actions=actions, expires_at=timezone.now() + dt.timedelta(days=5)
    )


def test_api_upload_with_a_write_token_scoped_to_the_team(api_client, scans_dir, owner, team_a):
    token = _token(owner, team_a, ["read", "write"])
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.clear}")

    response = api_client.post(
        "/api/v1/asset-import/bom/",
        {"file": _upload(scans_dir, "aibom.json"), "team": team_a.slug},
        format="multipart",
    )

    assert response.status_code == 201, response.content
    assert response.json()["assets_created"] == 5
    assert response.json()["edges_created"] == 4
    assert (
        AuditEntry.objects.filter(
            object_type="assets_asset", action="insert", actor_label=owner.username
        ).count()
        == 5
    )


def test_api_upload_is_refused_for_a_team_outside_the_token_scope(
    api_client, scans_dir, owner, team_a, team_b
):
    from hygiene.models import Membership

    Membership.objects.create(team=team_b, user=owner, role="champion")
    token = _token(owner, team_a, ["read", "write"])
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.clear}")

    response = api_client.post(
        "/api/v1/asset-import/bom/",
        {"file": _upload(scans_dir, "aibom.json"), "team": team_b.slug},
        format="multipart",
    )

    assert response.status_code == 403
    assert Asset.objects.count() == 0


def test_api_upload_is_refused_for_a_read_only_token(api_client, scans_dir, owner, team_a):
    token = _token(owner, team_a, ["read"])
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.clear}")

    response = api_client.post(
        "/api/v1/asset-import/bom/",
        {"file": _upload(scans_dir, "log4j.json"), "team": team_a.slug},
        format="multipart",
    )

    assert response.status_code == 403
    assert Asset.objects.count() == 0


def test_api_reports_a_broken_bom_as_a_400_with_the_reason(api_client, scans_dir, owner, team_a):
    from django.core.files.uploadedfile import SimpleUploadedFile

    api_client.force_authenticate(owner)
    cut = SimpleUploadedFile("cut.json", _truncated(scans_dir))

    response = api_client.post(
        "/api/v1/asset-import/bom/", {"file": cut, "team": team_a.slug}, format="multipart"
    )

    assert response.status_code == 400
    assert "truncated" in response.json()["detail"]


def _with_nul(scans_dir):
    import json

    document = json.loads(_read(scans_dir, "aibom.json"))
    document["components"][1]["name"] = "model\x00name"
    return json.dumps(document).encode()


def test_a_nul_character_in_a_bom_string_is_refused_naming_the_field_on_page_and_api(
    client, api_client, scans_dir, owner, team_a
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = _with_nul(scans_dir)
    page = client_for(client, owner).post(
        reverse("assets:import-bom"),
        {"file": SimpleUploadedFile("bom.json", data), "team": team_a.slug, "environment": "development"},
    )
    api_client.force_authenticate(owner)
    api = api_client.post(
        "/api/v1/asset-import/bom/",
        {"file": SimpleUploadedFile("bom.json", data), "team": team_a.slug},
        format="multipart",
    )

    assert page.status_code == 400
    assert "NUL character (\\u0000) in components[1].name" in page.content.decode()
    assert api.status_code == 400
    assert "components[1].name" in api.json()["detail"]
    assert Asset.objects.count() == 0


# Spec versions and BOMs without a subject ---------------------------------------------------------
# cyclonedx-py 7.5.0 (see tests/assets/data/SOURCES.md): `requirements` BOMs name no subject;
# `--pyproject` BOMs name the project as their subject.

DATA = REPO_ROOT / "tests" / "assets" / "data" / "cyclonedx"
TORCH = "pkg:pypi/torch@2.5.1"


def _data(name):
    return (DATA / name).read_bytes()


@pytest.mark.parametrize("version", ["1.2", "1.7"])
def test_spec_1_2_and_1_7_boms_with_a_subject_import_it_with_its_packages(team_a, version):
    result = bom_import(actor=None, team=team_a, data=_data(f"cyclonedx-py-7.5.0-project-{version}.cdx.json"))

    project = Asset.objects.get(team=team_a)
    assert (result.assets_created, result.components) == (1, 3)
    assert (project.name, project.kind) == ("ml-platform", AssetKind.REPOSITORY)
    assert TORCH in project.identifiers


@pytest.mark.parametrize("version", ["1.2", "1.3", "1.7"])
def test_a_bom_without_a_subject_is_refused_with_a_message_saying_to_name_the_asset(team_a, version):
    with pytest.raises(BomRejected) as refused:
        bom_import(actor=None, team=team_a, data=_data(f"cyclonedx-py-7.5.0-requirements-{version}.cdx.json"))

    message = refused.value.messages[0]
    assert "names no subject" in message and "Name the asset this BOM describes" in message
    assert "3 of its components" in message
    assert Asset.objects.count() == 0


@pytest.mark.parametrize("version", ["1.2", "1.3", "1.7"])
def test_a_bom_without_a_subject_records_its_packages_on_the_named_asset(team_a, version):
    from tests.factories.assets import AssetFactory

    image = AssetFactory(team=team_a, name="ranker-train", kind=AssetKind.CONTAINER_IMAGE, identifiers=["x"])
    data = _data(f"cyclonedx-py-7.5.0-requirements-{version}.cdx.json")

    result = bom_import(actor=None, team=team_a, data=data, asset=image)

    image.refresh_from_db()
    assert (result.assets_created, result.assets_updated, result.components) == (0, 1, 3)
    assert {"x", TORCH, "pkg:pypi/numpy@2.1.3", "pkg:pypi/requests@2.32.3"} <= set(image.identifiers)
    assert Asset.objects.count() == 1


def test_a_named_asset_stands_for_the_subject_the_bom_names(team_a):
    from tests.factories.assets import AssetFactory

    image = AssetFactory(team=team_a, name="ranker-train", kind=AssetKind.CONTAINER_IMAGE)

    bom_import(actor=None, team=team_a, data=_data("cyclonedx-py-7.5.0-project-1.7.cdx.json"), asset=image)

    image.refresh_from_db()
    assert Asset.objects.count() == 1
    assert {TORCH, "ml-platform@0.3.0"} <= set(image.identifiers)


def test_an_asset_of_another_team_cannot_be_named(team_a, team_b):
    from tests.factories.assets import AssetFactory

    other = AssetFactory(team=team_b, name="theirs")

    with pytest.raises(ValidationError):
        bom_import(
            actor=None, team=team_a, data=_data("cyclonedx-py-7.5.0-requirements-1.7.cdx.json"), asset=other
        )

    assert TORCH not in Asset.objects.get(pk=other.pk).identifiers


def test_a_vex_document_listing_nothing_is_refused_rather_than_imported_as_nothing(scans_dir, team_a):
    with pytest.raises(BomRejected) as refused:
        _import(scans_dir, "no-severity.json", team_a)

    assert "nothing to import" in refused.value.messages[0]


def test_command_records_a_subjectless_bom_on_the_asset_it_names(team_a, capsys):
    from tests.factories.assets import AssetFactory

    image = AssetFactory(team=team_a, name="ranker-train", kind=AssetKind.CONTAINER_IMAGE)
    path = str(DATA / "cyclonedx-py-7.5.0-requirements-1.7.cdx.json")

    with pytest.raises(CommandError, match="--asset"):
        call_command("import_bom", path, "--team", team_a.slug)
    with pytest.raises(CommandError, match="No asset of"):
        call_command("import_bom", path, "--team", team_a.slug, "--asset", "nope")
    call_command("import_bom", path, "--team", team_a.slug, "--asset", "Ranker-Train")

    image.refresh_from_db()
    assert TORCH in image.identifiers
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["assets_updated"] == 1


def test_member_names_the_asset_on_the_page_for_a_bom_without_a_subject(client, teammate, team_a):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.factories.assets import AssetFactory

    image = AssetFactory(team=team_a, name="ranker-train", kind=AssetKind.CONTAINER_IMAGE)
    name = "cyclonedx-py-7.5.0-requirements-1.7.cdx.json"
    page = client_for(client, teammate)

    refused = page.post(
        reverse("assets:import-bom"),
        {"file": SimpleUploadedFile(name, _data(name)), "team": team_a.slug, "environment": "development"},
    )
    unknown = page.post(
        reverse("assets:import-bom"),
        {"file": SimpleUploadedFile(name, _data(name)), "team": team_a.slug, "environment": "development",
         "asset": "nope"},
    )  # fmt: skip
    done = page.post(
        reverse("assets:import-bom"),
        {"file": SimpleUploadedFile(name, _data(name)), "team": team_a.slug, "environment": "development",
         "asset": "ranker-train"},
    )  # fmt: skip

    assert refused.status_code == 400 and "Name the asset this BOM describes" in refused.content.decode()
    assert unknown.status_code == 400 and "is named “nope”" in unknown.content.decode()
    assert done.status_code == 200 and "1 updated" in done.content.decode()
    image.refresh_from_db()
    assert TORCH in image.identifiers


def test_api_names_the_asset_by_id_for_a_bom_without_a_subject(api_client, owner, team_a, team_b):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.factories.assets import AssetFactory

    image = AssetFactory(team=team_a, name="ranker-train", kind=AssetKind.CONTAINER_IMAGE)
    hidden = AssetFactory(team=team_b, name="theirs", is_restricted=True)
    name = "cyclonedx-py-7.5.0-requirements-1.7.cdx.json"
    api_client.force_authenticate(owner)

    def post(**extra):
        body = {"file": SimpleUploadedFile(name, _data(name)), "team": team_a.slug, **extra}
        return api_client.post("/api/v1/asset-import/bom/", body, format="multipart")

    refused, unseen, done = post(), post(asset=hidden.pk), post(asset=image.pk)

    assert refused.status_code == 400 and "names no subject" in refused.json()["detail"]
    assert unseen.status_code == 404
    assert done.status_code == 201 and done.json()["assets_updated"] == 1
    image.refresh_from_db()
    assert TORCH in image.identifiers
