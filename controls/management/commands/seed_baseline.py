"""``manage.py seed_baseline``: the frameworks we ship or have catalogs for, then the hygiene baseline.

Idempotent: run by ``make run`` every time; controls leads edited keep their edits.
"""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from controls.catalogs import CatalogError
from controls.models import Framework
from controls.services.catalogs import builtin_catalogs_load, catalog_load
from controls.services.controls import baseline_seed
from hygiene.services.audit import actor_context

CATALOGS = [
    ("nist-sp-800-53-rev5", "oscal/NIST_SP-800-53_rev5_catalog-min.json"),
    ("nist-csf-2", "oscal/NIST_CSF_v2.0_catalog.xml"),
    ("mitre-atlas", "atlas/ATLAS.yaml"),
]


def frameworks_dir() -> Path:
    return Path(settings.HYGIENE_FRAMEWORKS_DIR)


class Command(BaseCommand):
    help = "Load the built-in frameworks and available catalogs once, then seed the hygiene baseline."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--reload", action="store_true", help="Re-read catalogs already loaded.")

    def handle(self, *args: Any, reload: bool = False, **options: Any) -> None:
        with actor_context(actor_id=None, actor_label="seed_baseline", context={"command": "seed_baseline"}):
            builtin_catalogs_load()
            root = frameworks_dir()
            for slug, relative in CATALOGS:
                if Framework.objects.filter(slug=slug).exists() and not reload:
                    continue
                path = root / relative
                if not path.exists():
                    self.stdout.write(f"No {relative} under {root}: load it later with load_catalog.")
                    continue
                try:
                    catalog_load(path=path, slug=slug)
                except CatalogError as exc:
                    self.stderr.write(f"{relative}: {exc}")
            result = baseline_seed()
        self.stdout.write(
            self.style.SUCCESS(
                f"Baseline: {result['controls']} controls ({result['created']} new),"
                f" {result['mappings']} mappings added."
            )
        )
