"""Who owns each control in each team."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from controls.models import Control, ControlOwnership
from hygiene.models import Membership, Team
from hygiene.permissions import can_change, token_allows


def may_assign(user: Any, team: Team) -> bool:
    """Security leads and the team's champion or lead assign control owners."""
    return can_change(user, team, team_id=team.pk) and token_allows(user, "write")


def _check_member(person: Any, team: Team, role: str) -> None:
    if person is not None and not Membership.objects.filter(team=team, user=person).exists():
        raise ValidationError({role: f"{person.get_username()} is not a member of {team.name}."})


@transaction.atomic
def ownership_set(
    *, actor: Any, control: Control, team: Team, owner: Any, champion: Any = None
) -> ControlOwnership:
    """Name the owner (and champion) of a control in a team; both must be people of that team."""
    if not may_assign(actor, team):
        raise PermissionDenied(
            f"Only a security lead or the champion or lead of {team.name} can assign owners."
        )
    if not control.is_active:
        raise ValidationError(f"{control.code} is retired.")
    if owner is None:
        raise ValidationError({"owner": "Choose the owner."})
    _check_member(owner, team, "owner")
    _check_member(champion, team, "champion")
    ownership, _ = ControlOwnership.objects.select_for_update().get_or_create(control=control, team=team)
    ownership.owner = owner
    if champion is not None or ownership.champion_id is None:
        ownership.champion = champion or _team_champion(team)
    ownership.updated_at = timezone.now()
    ownership.save(update_fields=["owner", "champion", "updated_at"])
    return ownership


def _team_champion(team: Team) -> Any:
    membership = (
        Membership.objects.filter(team=team, role="champion").select_related("user").order_by("id").first()
    )
    return membership.user if membership else None
