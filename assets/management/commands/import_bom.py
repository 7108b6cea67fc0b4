"""``manage.py import_bom PATH [--team SLUG] [--asset NAME]``: load a CycloneDX SBOM, ML-BOM or SPDX 3
AI BOM into the inventory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from assets.models import Asset, Environment
from assets.services.imports import bom_import
from hygiene.models import Team
from hygiene.services.audit import actor_context
from hygiene.services.teams import team_get_or_create_unassigned


class Command(BaseCommand):
    help = (
        "Import a CycloneDX JSON SBOM or ML-BOM (spec 1.2-1.7) or an SPDX 3 JSON-LD document into a team's "
        "inventory; print the counts as one line of JSON. Without --team the assets go to the 'unassigned' "
        "team. --asset names the team's asset the BOM describes (needed when the BOM names no subject)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="The CycloneDX JSON file.")
        parser.add_argument("--team", help="Slug of the team the assets belong to.")
        parser.add_argument(
            "--environment",
            choices=Environment.values,
            default=Environment.DEVELOPMENT,
            help="Environment of the assets this import creates (default: development).",
        )
        parser.add_argument(
            "--asset",
            help="Name of the team's asset the BOM was made from; its packages are recorded on it. "
            "Needed when the BOM names no subject (metadata.component).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["path"])
        data = self._read(path)
        context = {"command": "import_bom", "path": str(path)}
        # The Unassigned team is created in the same transaction, so a refused file leaves nothing.
        with actor_context(actor_id=None, actor_label="import_bom", context=context), transaction.atomic():
            team = self._team(options["team"])
            subject = self._asset(team, options["asset"]) if options["asset"] else None
            try:
                result = bom_import(
                    actor=None,
                    team=team,
                    data=data,
                    environment=options["environment"],
                    source=str(path),
                    asset=subject,
                )
            except (ValidationError, PermissionDenied) as exc:
                message = " ".join(getattr(exc, "messages", [str(exc)]))
                raise CommandError(f"{path}: {message}") from exc
        for warning in result.warnings:
            self.stderr.write(f"warning: {warning}")
        self.stdout.write(json.dumps(result.counts()))

    @staticmethod
    def _read(path: Path) -> bytes:
        limit = settings.HYGIENE_BOM_MAX_BYTES
        try:
            if path.stat().st_size > limit:
                raise CommandError(f"{path}: larger than the {limit} bytes allowed (HYGIENE_BOM_MAX_BYTES).")
            return path.read_bytes()
        except OSError as exc:
            raise CommandError(f"{path}: cannot be read ({exc.strerror or exc}).") from exc

    @staticmethod
    def _asset(team: Team, name: str) -> Asset:
        matches = list(Asset.objects.filter(team=team, name__iexact=name.strip()).order_by("kind")[:2])
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise CommandError(f"Several assets of {team.slug} are named {name!r}; rename one first.")
        names = Asset.objects.filter(team=team).order_by("name").values_list("name", flat=True)
        known = ", ".join(names[:20])
        raise CommandError(f"No asset of {team.slug} is named {name!r}. Its assets: {known or 'none yet'}.")

    @staticmethod
    def _team(slug: str | None) -> Team:
        if not slug:
            return team_get_or_create_unassigned()
        team = Team.objects.filter(slug=slug).first()
        if team is None:
            known = ", ".join(Team.objects.order_by("slug").values_list("slug", flat=True)[:20])
            raise CommandError(f"No team with the slug {slug!r}. Teams: {known or 'none yet'}.")
        return team
