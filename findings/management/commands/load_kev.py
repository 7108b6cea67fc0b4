import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from findings.errors import EnrichmentFileInvalid
from findings.services.enrichment import enrichment_load_path


class Command(BaseCommand):
    help = (
        "Load CISA's Known Exploited Vulnerabilities catalogue (known_exploited_vulnerabilities.json) and "
        "flag the findings of those CVEs: each is due by the later of CISA's due date and "
        "HYGIENE_KEV_WINDOW_DAYS after its SLA clock started, never later than its severity's SLA."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("path", type=Path, help="The catalogue JSON (plain or gzipped).")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        try:
            result = enrichment_load_path(kind="kev", path=path)
        except EnrichmentFileInvalid as exc:
            raise CommandError(str(exc)) from None
        summary = {"entries": result.entries, "findings_updated": result.findings_updated}
        self.stdout.write(json.dumps(summary))
