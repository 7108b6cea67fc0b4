import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from findings.errors import EnrichmentFileInvalid
from findings.services.enrichment import enrichment_load_path


class Command(BaseCommand):
    help = (
        "Load FIRST's EPSS scores (epss_scores-YYYY-MM-DD.csv, plain or gzipped) and copy each CVE's "
        "score and percentile onto its findings."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("path", type=Path, help="The EPSS CSV, with or without its #model_version line.")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        try:
            result = enrichment_load_path(kind="epss", path=path)
        except EnrichmentFileInvalid as exc:
            raise CommandError(str(exc)) from None
        summary = {"entries": result.entries, "findings_updated": result.findings_updated}
        self.stdout.write(json.dumps(summary))
