"""Importing SPDX 3 JSON-LD AI BOMs: AI and Dataset profiles to assets and lineage, software packages
to identifiers, Security-profile vulnerabilities to findings; broken documents write nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.urls import reverse

from assets.bom import BomRejected
from assets.models import Asset, AssetKind, EdgeKind, LineageEdge
from assets.services.imports import bom_import
from findings.models import Finding, ImportJob
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

SAMPLE = Path(__file__).resolve().parent / "data" / "support-bot-ai-bom.spdx3.json"


def edges() -> set[tuple[str, str, str]]:
    return set(LineageEdge.objects.values_list("source__name", "target__name", "kind"))


def test_the_ai_profile_example_becomes_a_model_trained_on_its_dataset(scans_dir, owner, team_a):
    data = (scans_dir / "spdx" / "ai-example02.spdx3.json").read_bytes()

    result = bom_import(actor=owner, team=team_a, data=data, source="ai-example02.spdx3.json")

    assert (result.assets_created, result.edges_created) == (2, 1)
    model = Asset.objects.get(kind=AssetKind.MODEL)
    dataset = Asset.objects.get(kind=AssetKind.DATASET)
    assert model.name == "Sentiment Demo: A Simple AI Application and its AI BOM Example"
    assert dataset.name == "Data after preprocessing"
    # model.bin trainedOn train.txt: the files of the AI package and of the dataset package.
    assert edges() == {(dataset.name, model.name, EdgeKind.TRAINED_ON)}
    assert model.tags == ["spdx"]


def test_the_dataset_profile_example_becomes_a_public_dataset(scans_dir, owner, team_a):
    data = (scans_dir / "spdx" / "dataset-example01.spdx3.json").read_bytes()

    bom_import(actor=owner, team=team_a, data=data)

    dataset = Asset.objects.get()
    assert dataset.kind == AssetKind.DATASET
    assert dataset.classification is not None and dataset.classification.slug == "public"


def test_a_software_sbom_records_its_packages_on_the_root_package(scans_dir, owner, team_a):
    data = (scans_dir / "spdx" / "software-example11.spdx3.json").read_bytes()

    result = bom_import(actor=owner, team=team_a, data=data)

    assert result.components == 3
    source = Asset.objects.get(name="hello-server-src")
    assert {"pkg:cargo/hyper@0.14", "pkg:cargo/tokio@1.19.2", "pkg:cargo/pretty_env_logger@0.4.0"} <= set(
        source.identifiers
    )


def test_an_ai_bom_written_with_the_spdx3_library_gives_models_datasets_lineage_packages_and_findings(
    owner, team_a
):
    result = bom_import(actor=owner, team=team_a, data=SAMPLE.read_bytes(), source=SAMPLE.name)

    assert result.assets_created == 4
    assert result.findings == 1
    assert edges() == {
        ("tiny-llama-base", "support-bot", EdgeKind.DERIVED_FROM),  # fine-tuned from
        ("support-tickets-2025", "support-bot", EdgeKind.TRAINED_ON),
        ("crm-raw-export", "support-tickets-2025", EdgeKind.DERIVED_FROM),
    }
    bot = Asset.objects.get(name="support-bot")
    assert bot.kind == AssetKind.MODEL
    assert {"pkg:pypi/torch@2.3.0", "pkg:pypi/transformers@4.40.0", "pkg:pypi/tokenizers@0.19.1"} <= set(
        bot.identifiers
    )
    tickets = Asset.objects.get(name="support-tickets-2025")
    assert tickets.classification is not None and tickets.classification.slug == "restricted"
    bot.refresh_from_db()
    assert bot.effective_classification_id == tickets.classification_id  # inherited through lineage
    finding = Finding.objects.get()
    assert (finding.asset_id, finding.rule_id, finding.package, finding.severity, finding.cvss) == (
        bot.pk,
        "CVE-2024-3568",
        "pkg:pypi/transformers@4.40.0",
        "high",
        8.8,
    )
    assert ImportJob.objects.get().format == "spdx"


def test_importing_the_same_spdx3_document_again_changes_nothing(owner, team_a):
    bom_import(actor=owner, team=team_a, data=SAMPLE.read_bytes())
    before = (Asset.objects.count(), LineageEdge.objects.count(), Finding.objects.count())

    again = bom_import(actor=owner, team=team_a, data=SAMPLE.read_bytes())

    assert (again.assets_created, again.edges_created, again.assets_updated) == (0, 0, 4)
    assert (Asset.objects.count(), LineageEdge.objects.count(), Finding.objects.count()) == before


def _graph() -> dict:
    return json.loads(SAMPLE.read_bytes())


def test_an_spdx3_document_with_a_dangling_reference_is_refused_and_writes_nothing(owner, team_a):
    document = _graph()
    for element in document["@graph"]:
        if element.get("relationshipType") == "trainedOn":
            element["to"] = ["https://example.org/spdx3/support-bot/not-in-the-document"]

    with pytest.raises(BomRejected, match="dangling reference"):
        bom_import(actor=owner, team=team_a, data=json.dumps(document).encode())

    assert not Asset.objects.exists() and not Finding.objects.exists()


def test_an_spdx3_document_with_a_cycle_in_its_lineage_is_refused_and_writes_nothing(owner, team_a):
    document = _graph()
    document["@graph"].append(
        {
            "type": "Relationship",
            "spdxId": "https://example.org/spdx3/support-bot/rel/loop",
            "from": "https://example.org/spdx3/support-bot/raw-export",
            "relationshipType": "trainedOn",
            "to": ["https://example.org/spdx3/support-bot/support-bot"],
            "creationInfo": "_:CreationInfo0",
        }
    )

    with pytest.raises(BomRejected, match="cycle in its lineage") as info:
        bom_import(actor=owner, team=team_a, data=json.dumps(document).encode())

    assert "support-bot" in str(info.value)
    assert not Asset.objects.exists() and not Finding.objects.exists()


def test_the_import_page_takes_an_spdx3_ai_bom(client, owner, team_a):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("ai-bom.spdx3.json", SAMPLE.read_bytes())
    response = client_for(client, owner).post(
        reverse("assets:import-bom"), {"file": upload, "team": team_a.slug, "environment": "production"}
    )

    assert response.status_code == 200
    assert "support-bot" in response.content.decode()
    assert Asset.objects.filter(team=team_a, environment="production").count() == 4


def test_the_import_bom_command_reads_spdx3(team_a, capsys):
    from django.core.management import call_command

    call_command("import_bom", str(SAMPLE), "--team", team_a.slug)

    counts = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (counts["assets_created"], counts["edges_created"], counts["findings"]) == (4, 3, 1)
