"""Which server folders a team's folder sources may read: its own drop folder, or one granted to it.

Every team has its own folder under each configured drop root, ``<root>/<team slug>``; a folder source
may name that folder or one inside it, or a folder a security lead granted to the team. Locations are
compared with symbolic links resolved, both when a source is saved and at every pull, so a link in a
drop folder never leads to another team's files. Refusals name no server path and do not tell whether
a folder outside the team's own exists.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from findings.models import ScanFolderGrant
from hygiene.models import Team
from hygiene.permissions import is_security_lead, token_allows

OUTSIDE = (
    "Choose the team's own drop folder or a folder inside it, or a folder a security lead granted to "
    "the team."
)
NOT_A_FOLDER = "There is no such folder in the team's drop folder."


def _roots() -> list[Path]:
    return [Path(os.path.realpath(root)) for root in settings.HYGIENE_SCAN_FOLDER_ROOTS]


def _within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def team_drop_folders(team: Team) -> list[Path]:
    """The team's own folder under each configured root (which may not exist yet)."""
    return [Path(os.path.realpath(root / team.slug)) for root in _roots()]


def team_allowed_folders(team: Team) -> list[Path]:
    """The folders a folder source of ``team`` may read: its own drop folders and its grants."""
    granted = ScanFolderGrant.objects.filter(team=team).values_list("path", flat=True)
    roots = _roots()
    own = [folder for folder in team_drop_folders(team) if any(folder.parent == root for root in roots)]
    # A grant counts only while it still lies under a configured root.
    grants = [Path(os.path.realpath(path)) for path in granted]
    return own + [path for path in grants if any(_within(path, root) for root in roots)]


def folder_for_team(team: Team, location: str) -> Path:
    """The real path of ``location`` if a folder source of ``team`` may read it; refuse anything else."""
    location = location.strip()
    if not location or not os.path.isabs(location) or "\x00" in location:
        raise ValidationError({"location": "Give the folder's absolute path."})
    real = Path(os.path.realpath(location))
    if not any(_within(real, folder) for folder in team_allowed_folders(team)):
        raise ValidationError({"location": OUTSIDE})
    if real in team_drop_folders(team) and not real.exists():
        try:
            real.mkdir(mode=0o770)  # the team's own folder is made on first use
        except OSError:
            raise ValidationError({"location": NOT_A_FOLDER}) from None
    if not real.is_dir():
        raise ValidationError({"location": NOT_A_FOLDER})
    return real


def _check_security_lead(actor: Any) -> None:
    if not (is_security_lead(actor) and token_allows(actor, "write")):
        raise PermissionDenied("Only a security lead grants drop folders to teams.")


@transaction.atomic
def folder_grant_add(*, actor: Any, team: Team, path: str) -> ScanFolderGrant:
    """Let ``team``'s folder sources read ``path`` (a folder under a configured drop root)."""
    _check_security_lead(actor)
    path = path.strip()
    if not path or not os.path.isabs(path) or "\x00" in path:
        raise ValidationError({"path": "Give the folder's absolute path."})
    real = Path(os.path.realpath(path))
    if not any(_within(real, root) for root in _roots()) or real in _roots():
        raise ValidationError({"path": "The folder must lie inside a drop root (HYGIENE_SCAN_FOLDER_ROOTS)."})
    if not real.is_dir():
        raise ValidationError({"path": "There is no such folder under the drop roots."})
    grant, _ = ScanFolderGrant.objects.get_or_create(
        team=team, path=str(real), defaults={"granted_by": actor if actor.is_authenticated else None}
    )
    return grant


@transaction.atomic
def folder_grant_remove(*, actor: Any, grant: ScanFolderGrant) -> None:
    """Withdraw a grant; sources on the folder fail their next pull with the reason."""
    _check_security_lead(actor)
    grant.delete()
