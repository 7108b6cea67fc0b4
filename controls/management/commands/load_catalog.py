"""``manage.py load_catalog PATH``: load an OSCAL catalog (JSON or XML) or the MITRE ATLAS YAML."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from controls.catalogs import CatalogError
from controls.services.catalogs import catalog_load
from hygiene.services.audit import actor_context


class Command(BaseCommand):
    help = "Load or update a framework catalog: OSCAL JSON or XML, or MITRE ATLAS YAML."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--slug", default="", help="Store the framework under this slug.")

    def handle(self, *args: Any, path: Path, slug: str, **options: Any) -> None:
        try:
            with actor_context(
                actor_id=None, actor_label="load_catalog", context={"command": "load_catalog"}
            ):
                framework = catalog_load(path=path, slug=slug)
        except CatalogError as exc:
            raise CommandError(str(exc)) from exc
        count = framework.requirements.count()
        self.stdout.write(
            self.style.SUCCESS(f"{framework.name} {framework.version}: {count} requirements loaded.")
        )
