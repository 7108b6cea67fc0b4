"""Import a scan file now, from the shell: the same job a worker runs, run synchronously.

Prints one line of JSON with the job's counts; on failure prints the job's error and exits non-zero.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from assets.models import Asset, AssetKind
from assets.services.assets import asset_create
from findings.errors import ImportFailed
from findings.importers.base import SNIFF_BYTES
from findings.models import JobStatus
from findings.services.jobs import job_counts, job_create_from_path, job_run
from hygiene.models import Team
from hygiene.services.audit import actor_context
from hygiene.services.teams import team_get_or_create_unassigned


class Command(BaseCommand):
    help = "Import a scan file for an asset (created when missing) and print the counts as JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="The scanner's report.")
        parser.add_argument(
            "--asset", default="", help="Asset name (created when missing); omit to match by identifiers."
        )
        parser.add_argument("--team", default="", help="Team slug (default: the asset's, or 'unassigned').")
        parser.add_argument("--format", default="", help="Importer to use (default: detect).")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["path"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        context = {"command": "import_scan", "path": str(path)}
        with actor_context(actor_id=None, actor_label="import_scan", context=context):
            try:
                with transaction.atomic():
                    team, asset = _destination(path, options["asset"].strip(), options["team"].strip())
                    job = job_create_from_path(
                        actor=None,
                        team=team,
                        asset=asset,
                        path=path,
                        requested_format=options["format"].strip(),
                        enqueue=False,
                    )
            except ImportFailed as exc:
                raise CommandError(str(exc)) from exc
            job = job_run(job_id=job.pk)
        assert job is not None
        if job.status != JobStatus.DONE:
            raise CommandError(f"Import #{job.pk} failed: {job.error}")
        self.stdout.write(json.dumps({"format": job.format, **job_counts(job)}))


def _destination(path: Path, asset_name: str, team_slug: str) -> tuple[Team, Asset | None]:
    team = _team(team_slug) if team_slug else None
    if not asset_name:
        if team is None:
            raise CommandError(
                "Give --asset, or --team to match the asset by the identifiers the scan reports."
            )
        return team, None
    assets = Asset.objects.filter(name=asset_name).select_related("team")
    if team is not None:
        assets = assets.filter(team=team)
    found = list(assets[:2])
    if len(found) > 1:
        raise CommandError(f"Several assets are named “{asset_name}”: give --team.")
    if found:
        return found[0].team, found[0]
    team = team or team_get_or_create_unassigned()
    asset = asset_create(actor=None, team=team, name=asset_name, kind=_guess_kind(path))
    return team, asset


def _team(slug: str) -> Team:
    team = Team.objects.filter(slug=slug).first()
    if team is None:
        raise CommandError(f"No team with the slug “{slug}”.")
    return team


def _guess_kind(path: Path) -> str:
    """An image scan's asset is a container image; code, dependency and secret scans are of a repository."""
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    image_markers = (b'"container_image"', b'"type": "image"', b'"type":"image"', b'"RepoDigests"')
    return (
        AssetKind.CONTAINER_IMAGE if any(marker in head for marker in image_markers) else AssetKind.REPOSITORY
    )
