"""Permission-aware reads of teams, memberships, tokens and the audit log."""

from __future__ import annotations

from typing import Any, cast

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from hygiene.models import ApiToken, AuditEntry, Membership, Notification, Team
from hygiene.permissions import (
    is_security_lead,
    scope_queryset,
    sees_all_teams,
    token_team_id,
    visible_team_ids,
)
from hygiene.services.audit import Checkpoint, audit_checkpoint_latest


def team_list_for_user(*, user: Any) -> QuerySet[Team]:
    return _teams(Team.objects.annotate(member_count=Count("memberships")).order_by("name"), user)


def _teams(queryset: QuerySet[Team], user: Any) -> QuerySet[Team]:
    # A team is its own scope; a guest granted view_team by name sees the team, not its objects.
    return scope_queryset(queryset, user, team_field="pk", grant_perm="hygiene.view_team")


def team_guest_list(*, team: Team) -> list[Any]:
    """People outside the team who were granted to see it by name."""
    from guardian.shortcuts import get_users_with_perms

    members = set(Membership.objects.filter(team=team).values_list("user_id", flat=True))
    # A queryset unless attach_perms is asked for; the stubs cannot tell the two apart.
    granted = cast(
        "QuerySet[Any]", get_users_with_perms(team, only_with_perms_in=["view_team"], with_superusers=False)
    )
    return [user for user in granted.order_by("username") if user.pk not in members]


def team_get_for_user(*, user: Any, slug: str) -> Team:
    """The team, or 404 when the user may not see it (so its existence is not revealed)."""
    team = _teams(Team.objects.all(), user).filter(slug=slug).first()
    if team is None:
        raise Http404("No such team.")
    return team


def membership_list_for_team(*, user: Any, team: Team) -> QuerySet[Membership]:
    team_get_for_user(user=user, slug=team.slug)
    return Membership.objects.filter(team=team).select_related("user").order_by("user__username")


def membership_list_for_user(*, user: Any) -> QuerySet[Membership]:
    """The person's memberships; through a team's token, only that team's."""
    memberships = Membership.objects.filter(user_id=user.pk).select_related("team")
    narrowed = token_team_id(user)
    return memberships if narrowed is None else memberships.filter(team_id=narrowed)


def token_list_for_user(*, user: Any) -> QuerySet[ApiToken]:
    """A person's own tokens; security leads see everybody's, to revoke a leaked one."""
    tokens = ApiToken.objects.select_related("team", "user")
    if is_security_lead(user) and token_team_id(user) is None:
        return tokens
    return tokens.filter(user_id=user.pk)


def token_get_for_user(*, user: Any, pk: int) -> ApiToken:
    token = token_list_for_user(user=user).filter(pk=pk).first()
    if token is None:
        raise Http404("No such token.")
    return token


def audit_entry_list_for_user(*, user: Any, filters: dict[str, str] | None = None) -> QuerySet[AuditEntry]:
    """The entries ``user`` may read: security leads and auditors, each entry scoped like its objects.

    An entry about an asset (its findings, jobs, lineage, grants) is visible only to those who may see
    the asset now, one about an incident (its timeline, affected assets, review, follow-ups) to those who
    may see the incident now; one about a team's object only within the teams the user sees (a team's
    token: that team alone, and nothing global). An asset since deleted shows to unrestricted security
    leads only.
    """
    if not sees_all_teams(user):
        return AuditEntry.objects.none()
    entries = _scoped_entries(user)
    filters = filters or {}
    if filters.get("actor"):
        entries = entries.filter(actor_label__icontains=filters["actor"])
    if filters.get("action"):
        entries = entries.filter(action=filters["action"])
    if filters.get("object_type"):
        entries = entries.filter(object_type=filters["object_type"])
    if filters.get("object_id"):
        entries = entries.filter(object_id=filters["object_id"])
    if filters.get("since"):
        entries = entries.filter(occurred_at__date__gte=filters["since"])
    if filters.get("until"):
        entries = entries.filter(occurred_at__date__lte=filters["until"])
    return entries.order_by("-id")


def audit_hidden_count_for_user(*, user: Any) -> int:
    """How many entries about restricted assets or incidents ``user`` may not see (pages say so rather than
    hide it)."""
    from assets.models import Asset
    from assets.selectors import visible_assets
    from incidents.models import Incident
    from incidents.selectors import visible_incidents

    if not sees_all_teams(user) or (is_security_lead(user) and token_team_id(user) is None):
        return 0
    hidden = Asset.objects.filter(is_restricted=True).exclude(pk__in=visible_assets(user).values("pk"))
    ids = hidden.values("pk")
    hidden_incidents = Incident.objects.filter(is_restricted=True).exclude(
        pk__in=visible_incidents(user).values("pk")
    )
    return AuditEntry.objects.filter(
        Q(scope_asset_id__in=ids)
        | Q(scope_other_asset_id__in=ids)
        | Q(scope_incident_id__in=hidden_incidents.values("pk"))
    ).count()


CHECKPOINT_HEADER = "X-Audit-Checkpoint"


def signed_checkpoint() -> Checkpoint | None:
    """The latest anchor of the chain, if one was written and its signature holds."""
    try:
        return audit_checkpoint_latest()
    except ValueError:
        return None  # forged: verify_audit_log says so; an export must not carry it


def _scoped_entries(user: Any) -> QuerySet[AuditEntry]:
    from assets.selectors import visible_assets

    entries = AuditEntry.objects.all()
    teams = visible_team_ids(user)
    if is_security_lead(user) and teams is None:
        return entries
    from incidents.selectors import visible_incidents

    visible = visible_assets(user).values("pk")
    entries = entries.filter(Q(scope_asset_id__isnull=True) | Q(scope_asset_id__in=visible)).filter(
        Q(scope_other_asset_id__isnull=True) | Q(scope_other_asset_id__in=visible)
    )
    # An entry about an incident (its timeline, affected assets, review...) as visible as the incident.
    entries = entries.filter(
        Q(scope_incident_id__isnull=True) | Q(scope_incident_id__in=visible_incidents(user).values("pk"))
    )
    if teams is not None:
        # The assets' and incidents' own team was checked through their visibility.
        entries = entries.filter(
            Q(scope_asset_id__isnull=False) | Q(scope_incident_id__isnull=False) | Q(scope_team_id__in=teams)
        )
    return entries


def people_list_for_user(*, user: Any, search: str = "") -> QuerySet[Any]:
    """Everyone, with their global roles and teams; for security leads and auditors only."""
    from django.contrib.auth import get_user_model
    from django.db.models import Prefetch

    if not sees_all_teams(user):
        return get_user_model().objects.none()
    people = (
        get_user_model()
        .objects.select_related("profile")
        .prefetch_related(
            "groups", Prefetch("memberships", queryset=Membership.objects.select_related("team"))
        )
    )
    if search:
        people = people.filter(username__icontains=search)
    return people.order_by("username")


def notification_list_for_user(*, user: Any) -> QuerySet[Notification]:
    """A person's own notifications, newest first (nobody reads another's)."""
    return Notification.objects.filter(recipient_id=user.pk).order_by("-created_at", "-id")


def notification_unread_count(*, user: Any) -> int:
    return Notification.objects.filter(recipient_id=user.pk, read_at__isnull=True).count()


def person_global_role(person: Any) -> str:
    """The global role a person holds (their groups, prefetched or not); none means member."""
    from hygiene.roles import GLOBAL_ROLES, MEMBER, SECURITY_LEAD

    names = {group.name for group in person.groups.all()}
    if person.is_superuser or SECURITY_LEAD in names:
        return SECURITY_LEAD
    return next((role for role in GLOBAL_ROLES if role in names and role != SECURITY_LEAD), MEMBER)
