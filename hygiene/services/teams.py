"""Writes on teams, memberships, global roles and time-boxed access."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from hygiene.models import Membership, Profile, Team, TeamFunction, TeamRole
from hygiene.permissions import can_act_globally, can_change
from hygiene.roles import AUDITOR, GLOBAL_ROLES

UNASSIGNED_SLUG = "unassigned"


def team_get_or_create_unassigned() -> Team:
    """The team operators' imports land in when they name none (import_bom, import_scan)."""
    team, _ = Team.objects.get_or_create(
        slug=UNASSIGNED_SLUG,
        defaults={
            "name": "Unassigned",
            "function": TeamFunction.OTHER,
            "description": "Assets imported without a team; move them to the team that runs them.",
        },
    )
    return team


@transaction.atomic
def team_create(*, actor: Any, name: str, function: str, description: str = "", slug: str = "") -> Team:
    if not can_act_globally(actor):
        raise PermissionDenied("Only security leads create teams.")
    slug = slug or slugify(name)[:60]
    if Team.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": f"A team with the address “{slug}” exists already."})
    team = Team(name=name, slug=slug, function=function, description=description)
    team.full_clean()
    team.save()
    return team


@transaction.atomic
def team_update(*, actor: Any, team: Team, name: str, function: str, description: str) -> Team:
    if not can_change(actor, team, team_id=team.pk):
        raise PermissionDenied("Only the team's lead or champion, or a security lead, can edit it.")
    team.name, team.function, team.description = name, function, description
    team.full_clean()
    team.save(update_fields=["name", "function", "description"])
    return team


@transaction.atomic
def membership_set(*, actor: Any, team: Team, user: Any, role: str) -> Membership:
    """Add ``user`` to ``team`` with ``role``, or change the role they have there."""
    if not can_change(actor, team, team_id=team.pk):
        raise PermissionDenied("Only the team's lead or champion, or a security lead, manage its members.")
    if role not in TeamRole.values:
        raise ValidationError({"role": "Choose member, champion or lead."})
    membership, created = Membership.objects.get_or_create(team=team, user=user, defaults={"role": role})
    if not created and membership.role != role:
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def membership_remove(*, actor: Any, membership: Membership) -> None:
    if not can_change(actor, membership.team, team_id=membership.team_id):
        raise PermissionDenied("Only the team's lead or champion, or a security lead, manage its members.")
    membership.delete()


@transaction.atomic
def user_set_global_role(
    *, actor: Any, user: Any, role: str, access_expires_at: dt.datetime | None = None
) -> list[str]:
    """Make ``user`` a security lead, an auditor (until a date) or a member; return what changed.

    Only what differs is written: saving a row with the same role and day leaves the groups and the
    exact end of access as they were.
    """
    from hygiene.selectors import person_global_role

    if not can_act_globally(actor):
        raise PermissionDenied("Only security leads grant global roles.")
    if role not in GLOBAL_ROLES:
        raise ValidationError({"role": f"Unknown role {role!r}."})
    if role == AUDITOR and access_expires_at is None:
        raise ValidationError({"access_until": "Auditors' access must end at a date."})
    changed: list[str] = []
    if person_global_role(user) != role:
        user.groups.remove(*Group.objects.filter(name__in=GLOBAL_ROLES))
        user.groups.add(Group.objects.get_or_create(name=role)[0])
        changed.append("role")
    profile, _ = Profile.objects.get_or_create(user=user)
    if _day(profile.access_expires_at) != _day(access_expires_at):
        profile.access_expires_at = access_expires_at
        profile.save(update_fields=["access_expires_at"])
        changed.append("access_expires_at")
    return changed


def _day(moment: dt.datetime | None) -> dt.date | None:
    return timezone.localdate(moment) if moment is not None else None


@transaction.atomic
def user_create(
    *, username: str, email: str, password: str, role: str, access_expires_at: dt.datetime | None = None
) -> Any:
    """Create a person with a global role (used by the demo data and operators' commands)."""
    user = get_user_model().objects.create_user(username=username, email=email, password=password)
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    Profile.objects.create(user=user, access_expires_at=access_expires_at)
    return user


@transaction.atomic
def team_guest_grant(*, actor: Any, team: Team, user: Any) -> None:
    """Let one person outside the team see the team by name (not its assets or findings)."""
    from guardian.shortcuts import assign_perm

    if not can_change(actor, team, team_id=team.pk):
        raise PermissionDenied("Only the team's lead or champion, or a security lead, grant access to it.")
    assign_perm("hygiene.view_team", user, team)


@transaction.atomic
def team_guest_revoke(*, actor: Any, team: Team, user: Any) -> None:
    from guardian.shortcuts import remove_perm

    if not can_change(actor, team, team_id=team.pk):
        raise PermissionDenied("Only the team's lead or champion, or a security lead, grant access to it.")
    remove_perm("hygiene.view_team", user, team)
