"""Benchmark of the inventory import and export: BOM import, CSV import at its row limit, exports.

Run as ``.venv/bin/python bench/asset_import.py``. It creates its own database
(``hygiene_bench_asset_import``) on the configured server (the embedded one unless DATABASE_URL is
set) and drops it at the end. It measures:

- importing each real CycloneDX sample of ``../shared/scans/cyclonedx`` (first import and re-import);
- a generated CycloneDX 1.6 SBOM of a container image with 5,000 libraries, 40 models and their
  model-card datasets (schema check, then the import);
- a CSV of HYGIENE_ASSET_CSV_MAX_ROWS rows (the default limit, 5,000): first import and re-import;
- streaming CSV and JSON exports of 10,000 assets through the export view, signed in as a lead.

The last line is one JSON object with the figures.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._database import create_database, django_setup, drop_database  # noqa: E402

DB_NAME = "hygiene_bench_asset_import"
SAMPLES = ROOT.parent / "shared" / "scans" / "cyclonedx"
N_LIBRARIES = 5_000
N_MODELS = 40
N_EXPORT_ASSETS = 10_000


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def generated_sbom() -> bytes:
    """A container image's BOM: libraries under the image, models trained on datasets from model cards."""
    libraries = [
        {"type": "library", "bom-ref": f"lib-{i}", "name": f"lib{i}", "version": "1.0.0",
         "purl": f"pkg:pypi/lib{i}@1.0.0"}
        for i in range(N_LIBRARIES)
    ]  # fmt: skip
    models = [
        {
            "type": "machine-learning-model",
            "bom-ref": f"model-{i}",
            "group": "acme",
            "name": f"model-{i}",
            "version": "2.0",
            "purl": f"pkg:huggingface/acme/model-{i}@2.0",
            "modelCard": {"modelParameters": {"datasets": [{"type": "dataset", "name": f"corpus-{i}"}]}},
        }
        for i in range(N_MODELS)
    ]
    subject = {"type": "container", "bom-ref": "image", "name": "registry.example.org/acme/serving:1.0"}
    dependencies = [{"ref": "image", "dependsOn": [f"lib-{i}" for i in range(N_LIBRARIES)]}]
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "metadata": {"component": subject},
        "components": libraries + models,
        "dependencies": dependencies,
    }
    return json.dumps(document).encode()


def bench_boms(team: Any) -> dict[str, Any]:
    from assets.bom import parse_bom
    from assets.services.imports import bom_import

    figures: dict[str, Any] = {}
    for path in sorted(SAMPLES.glob("*.json")):
        data = path.read_bytes()
        started = time.perf_counter()
        first = bom_import(actor=None, team=team, data=data)
        first_ms = _ms(started)
        started = time.perf_counter()
        bom_import(actor=None, team=team, data=data)
        again_ms = _ms(started)
        counts = f"{first.assets_created} assets, {first.edges_created} edges"
        print(f"{path.name:34} {len(data) / 1024:7.0f} KB  first {first_ms:7.1f} ms  "
              f"re-import {again_ms:7.1f} ms  ({counts})")  # fmt: skip
        figures[path.name] = {"first_ms": first_ms, "reimport_ms": again_ms}
    data = generated_sbom()
    started = time.perf_counter()
    content = parse_bom(data)
    parse_ms = _ms(started)
    started = time.perf_counter()
    result = bom_import(actor=None, team=team, data=data)
    import_ms = _ms(started)
    started = time.perf_counter()
    bom_import(actor=None, team=team, data=data)
    reimport_ms = _ms(started)
    print(f"generated SBOM {len(data) / 2**20:.1f} MB, {N_LIBRARIES} libraries + {N_MODELS} models: "
          f"parse+schema {parse_ms} ms, import {import_ms} ms ({result.assets_created} assets, "
          f"{result.edges_created} edges, {len(content.assets[0].all_identifiers)} identifiers on the "
          f"image), re-import {reimport_ms} ms")  # fmt: skip
    figures["generated"] = {"parse_ms": parse_ms, "import_ms": import_ms, "reimport_ms": reimport_ms}
    return figures


def bench_csv(team: Any) -> dict[str, Any]:
    from django.conf import settings

    from assets.csv_io import COLUMNS
    from assets.services.imports import csv_import

    rows = settings.HYGIENE_ASSET_CSV_MAX_ROWS
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    kinds = ["model", "dataset", "pipeline", "endpoint", "repository"]
    for i in range(rows):
        name, kind, identifier = f"csv-asset-{i}", kinds[i % 5], f"pkg:pypi/csv-{i}@1.0"
        writer.writerow([name, kind, "production", team.slug, "internal", "high", "active", "", identifier,
                         "bench;csv", f"Asset {i} from the CSV bench"])  # fmt: skip
    data = buffer.getvalue().encode()
    started = time.perf_counter()
    first = csv_import(actor=None, data=data, max_rows=rows)
    first_ms = _ms(started)
    started = time.perf_counter()
    again = csv_import(actor=None, data=data, max_rows=rows)
    again_ms = _ms(started)
    assert first.assets_created == rows and again.assets_unchanged == rows
    print(f"CSV {rows} rows ({len(data) / 1024:.0f} KB): first {first_ms} ms "
          f"({rows / first_ms * 1000:.0f} rows/s), unchanged re-import {again_ms} ms")  # fmt: skip
    return {"rows": rows, "first_ms": first_ms, "reimport_ms": again_ms}


def bench_export(team: Any) -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client

    from assets.models import Asset, AssetKind
    from hygiene.roles import SECURITY_LEAD

    existing = Asset.objects.count()
    Asset.objects.bulk_create(
        [
            Asset(team=team, name=f"export-{i}", kind=AssetKind.DATASET, identifiers=[f"s3://bucket/{i}"],
                  tags=["export"], description="An asset for the export bench")
            for i in range(max(0, N_EXPORT_ASSETS - existing))
        ],
        batch_size=2000,
    )  # fmt: skip
    total = Asset.objects.count()
    lead = get_user_model().objects.create_user(username="bench-lead", password="bench-password-123")
    lead.groups.add(Group.objects.get_or_create(name=SECURITY_LEAD)[0])
    client = Client()
    client.force_login(lead)
    figures: dict[str, Any] = {"assets": total}
    for fmt in ("csv", "json"):
        started = time.perf_counter()
        response = client.get(f"/assets/export.{fmt}", {"lifecycle": "all"}, HTTP_HOST="localhost")
        size = sum(len(chunk) for chunk in response.streaming_content)
        elapsed = _ms(started)
        print(f"export {fmt.upper()} of {total} assets: {elapsed} ms, {size / 2**20:.1f} MB")
        figures[f"{fmt}_ms"] = elapsed
    return figures


def main() -> None:
    django_setup(DB_NAME)
    began = time.perf_counter()
    create_database(DB_NAME)
    try:
        from hygiene.models import Team

        team = Team.objects.create(name="Bench", slug="bench")
        boms = bench_boms(team)
        csv_figures = bench_csv(team)
        export = bench_export(team)
    finally:
        drop_database(DB_NAME)
    print(f"total {time.perf_counter() - began:.0f} s")
    print(
        json.dumps(
            {
                "bom_issue_9277_first_ms": boms["issue_9277.json"]["first_ms"],
                "bom_aibom_first_ms": boms["aibom.json"]["first_ms"],
                "bom_generated_5000_libraries_import_ms": boms["generated"]["import_ms"],
                "bom_generated_parse_ms": boms["generated"]["parse_ms"],
                "csv_5000_rows_first_ms": csv_figures["first_ms"],
                "csv_5000_rows_reimport_ms": csv_figures["reimport_ms"],
                "export_csv_10000_ms": export["csv_ms"],
                "export_json_10000_ms": export["json_ms"],
            }
        )
    )


if __name__ == "__main__":
    main()
