"""The one path that decides who sees and changes what.

Every selector of every app filters through ``scope_queryset`` and every write checks
``can_change``; views, the API, exports and dashboards never filter by team themselves.

- Security leads see and change everything.
- Auditors with unexpired access see everything that is not restricted, and change nothing.
  Inside an audit engagement (``EngagementScope``, attached to the user for the request) an auditor
  sees exactly the engagement's scope: its teams and environments, restricted objects included when
  the engagement grants them, and nothing outside it.
- Everybody else sees their teams' objects; the team's champion and lead change them.
- django-guardian grants add single objects (``view_<model>``/``change_<model>``) to a person or to a
  group of theirs, alike for seeing (``scope_queryset``) and changing (``can_change``).
- Restricted objects are visible to their team, security leads and people granted them by name.
- An API token narrows all of this to its team and its actions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar, cast

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Model, Q, QuerySet
from guardian.shortcuts import get_objects_for_user

from hygiene.models import Membership, TeamRole
from hygiene.roles import AUDITOR, SECURITY_LEAD

M = TypeVar("M", bound=Model)
AnyUser = AbstractBaseUser | AnonymousUser

MANAGING_ROLES = (TeamRole.CHAMPION, TeamRole.LEAD)


@dataclass(frozen=True)
class EngagementScope:
    """What an auditor may read inside one audit engagement (``audits.Engagement``)."""

    engagement_id: int
    team_ids: tuple[int, ...]  # empty: every team
    environments: tuple[str, ...]  # empty: every environment
    restricted: bool


ENGAGEMENT_ATTR = "hygiene_engagement"
RESTRICTED_READ_ATTR = "_hygiene_restricted_read"


def engagement_scope(user: Any) -> EngagementScope | None:
    """The engagement an active auditor works in for this request, if any."""
    scope: EngagementScope | None = getattr(user, ENGAGEMENT_ATTR, None)
    return scope if scope is not None and is_auditor(user) else None


def engagement_enter(user: Any, scope: EngagementScope | None) -> None:
    """Make ``user`` (an auditor) read within ``scope`` for the rest of the request."""
    setattr(user, ENGAGEMENT_ATTR, scope)
    for cached in [
        key for key in vars(user) if key.startswith("_hygiene_visible") or key == RESTRICTED_READ_ATTR
    ]:
        delattr(user, cached)


def restricted_read(user: Any) -> bool:
    """Whether this request read within an engagement that opens restricted data (to audit it)."""
    return bool(getattr(user, RESTRICTED_READ_ATTR, False))


def _engagement_condition(
    scope: EngagementScope, team_lookup: str, environment_field: str | None, restricted_field: str | None
) -> Q:
    condition = Q(pk__isnull=False)
    if scope.team_ids:
        condition &= Q(**{team_lookup: list(scope.team_ids)})
    if scope.environments and environment_field:
        condition &= Q(**{f"{environment_field}__in": list(scope.environments)}) | Q(
            **{f"{environment_field}__isnull": True}
        )
    if restricted_field and not scope.restricted:
        condition &= Q(**{restricted_field: False})
    return condition


def _group_names(user: Any) -> set[str]:
    cached: set[str] | None = getattr(user, "_hygiene_groups", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True)) if user.is_authenticated else set()
        user._hygiene_groups = cached
    return cached


def access_expired(user: Any) -> bool:
    """Whether the person's time-boxed access (an auditor's) has ended; no profile means no end."""
    # hasattr is False when the reverse one-to-one has no row (RelatedObjectDoesNotExist).
    profile = user.profile if hasattr(user, "profile") else None
    return bool(profile is not None and profile.access_expired)


def is_active_user(user: Any) -> bool:
    return bool(user.is_authenticated and user.is_active and not access_expired(user))


def is_security_lead(user: Any) -> bool:
    return is_active_user(user) and (user.is_superuser or SECURITY_LEAD in _group_names(user))


def is_auditor(user: Any) -> bool:
    return is_active_user(user) and AUDITOR in _group_names(user) and not is_security_lead(user)


def token_team_id(user: Any) -> int | None:
    """The team an API token narrows this request to, if the request came with one."""
    return getattr(user, "token_team_id", None)


def token_allows(user: Any, action: str) -> bool:
    actions: set[str] | None = getattr(user, "token_actions", None)
    return actions is None or action in actions


def token_actions(user: Any) -> set[str] | None:
    """The actions the request's API token allows; None when the request came without a token."""
    actions: set[str] | None = getattr(user, "token_actions", None)
    return actions


def token_expires_at(user: Any) -> Any:
    """When the request's API token expires; None when the request came without a token."""
    return getattr(user, "token_expires_at", None)


def can_act_globally(user: Any) -> bool:
    """Whether ``user`` may change what belongs to no team (teams, roles, classification levels).

    Security leads may, but not through a token narrowed to one team or one that cannot write:
    such a token sees and does only its team's things.
    """
    return is_security_lead(user) and token_team_id(user) is None and token_allows(user, "write")


def member_team_ids(user: Any, *, roles: tuple[str, ...] | None = None) -> list[int]:
    if not is_active_user(user):
        return []
    # One read of (team, role) per request serves every role filter (seeing, then changing, on one page).
    cached: list[tuple[int, str]] | None = getattr(user, "_hygiene_memberships", None)
    if cached is None:
        rows = Membership.objects.filter(user_id=user.pk).values_list("team_id", "role")
        cached = [(team, role) for team, role in rows]
        user._hygiene_memberships = cached
    narrowed = token_team_id(user)
    return [
        team
        for team, role in cached
        if (not roles or role in roles) and (narrowed is None or team == narrowed)
    ]


def sees_all_teams(user: Any) -> bool:
    """Security leads and active auditors oversee every team: all teams, the audit log, people."""
    return is_security_lead(user) or is_auditor(user)


def visible_team_ids(user: Any) -> list[int] | None:
    """Team ids whose objects the user sees; None means every team."""
    if not is_active_user(user):
        return []
    narrowed = token_team_id(user)
    if sees_all_teams(user):
        return None if narrowed is None else [narrowed]
    return member_team_ids(user)


def scope_queryset(
    queryset: QuerySet[M],
    user: Any,
    *,
    team_field: str = "team",
    restricted_field: str | None = None,
    grant_perm: str | None = None,
    grant_field: str = "pk",
    environment_field: str | None = None,
) -> QuerySet[M]:
    """Narrow ``queryset`` to the rows ``user`` may see (the one visibility rule of the product).

    ``grant_perm`` names the django-guardian permission that shows a row to a person outside its team,
    granted to them or to one of their groups; ``grant_field`` is the row's key to the granted object
    when that is another model (a finding is visible with its asset: ``grant_field="asset"``).
    ``environment_field`` names the object's environment (``asset__environment``), which an audit
    engagement may narrow; objects without one (null) stay in a team's scope.
    """
    if not is_active_user(user):
        return queryset.none()
    narrowed = token_team_id(user)
    if team_field == "pk":  # the queryset is of teams themselves
        team_lookup = "pk__in"
    elif "__" in team_field:
        team_lookup = f"{team_field}__in"
    else:
        team_lookup = f"{team_field}_id__in"
    if is_security_lead(user) and narrowed is None:
        return queryset
    scope = engagement_scope(user)
    if scope is not None:
        if restricted_field and scope.restricted:
            setattr(user, RESTRICTED_READ_ATTR, True)
        condition = _engagement_condition(scope, team_lookup, environment_field, restricted_field)
        if narrowed is not None:
            condition &= Q(**{team_lookup: [narrowed]})
        return queryset.filter(condition)
    condition = Q(**{team_lookup: member_team_ids(user)})
    if is_auditor(user) or is_security_lead(user):
        # Not Q(): an empty Q vanishes from an OR and would hide everything.
        everything = Q(pk__isnull=False) if narrowed is None else Q(**{team_lookup: [narrowed]})
        if restricted_field and not is_security_lead(user):
            everything &= Q(**{restricted_field: False})
        condition |= everything
    if grant_perm and narrowed is None:
        granted_model = _grant_model(queryset.model, grant_field)
        if has_object_grants(user, grant_perm, granted_model):
            granted = get_objects_for_user(
                user,
                grant_perm,
                klass=granted_model,
                accept_global_perms=False,
                with_superuser=False,
                use_groups=True,
            )
            lookup = "pk__in" if grant_field == "pk" else f"{grant_field}_id__in"
            condition |= Q(**{lookup: granted.values("pk")})
    return queryset.filter(condition)


def _grant_model(model: type[Model], grant_field: str) -> type[Model]:
    if grant_field == "pk":
        return model
    related = model._meta.get_field(grant_field).related_model
    if not isinstance(related, type):
        raise TypeError(f"{model.__name__}.{grant_field} is not a key to another model")
    return cast(type[Model], related)


def has_object_grants(user: Any, perm: str, model: type[Model]) -> bool:
    """Whether anything of ``model`` was granted ``perm`` to ``user`` or a group of theirs.

    Most people hold no grants; leaving the OR out then lets lists use the team index alone.
    The codenames granted on ``model`` are read in one query and cached for the request, so seeing
    (``view_``) and changing (``change_``) one object cost one read between them.
    """
    cache: dict[str, set[str]] = user.__dict__.setdefault("_hygiene_grants", {})
    key = model._meta.label_lower
    if key not in cache:
        from django.contrib.contenttypes.models import ContentType
        from guardian.utils import get_group_obj_perms_model, get_user_obj_perms_model

        # guardian takes a model class as well as an instance; its annotations only name instances.
        user_perms: Any = get_user_obj_perms_model(cast(Any, model))
        group_perms: Any = get_group_obj_perms_model(cast(Any, model))
        to_user = user_perms.objects.filter(user_id=user.pk)
        to_groups = group_perms.objects.filter(group__user__id=user.pk)
        if user_perms.objects.is_generic():
            to_user = to_user.filter(content_type=ContentType.objects.get_for_model(model))
        if group_perms.objects.is_generic():
            to_groups = to_groups.filter(content_type=ContentType.objects.get_for_model(model))
        # One query for both (UNION leaves each codename once): this runs on every list of a model
        # that can be granted.
        codenames = to_user.values_list("permission__codename").union(
            to_groups.values_list("permission__codename")
        )
        cache[key] = {codename for (codename,) in codenames}
    return perm.split(".")[-1] in cache[key]


def can_view_team(user: Any, team_id: int) -> bool:
    scope = engagement_scope(user)
    if scope is not None and scope.team_ids:
        return team_id in scope.team_ids
    teams = visible_team_ids(user)
    return teams is None or team_id in teams


def can_change(user: Any, obj: Model, *, team_id: int | None, grant_perm: str | None = None) -> bool:
    """Whether ``user`` may change ``obj`` owned by ``team_id`` (auditors never may)."""
    if not is_active_user(user) or not token_allows(user, "write") or is_auditor(user):
        return False
    narrowed = token_team_id(user)
    if narrowed is not None and team_id != narrowed:
        return False
    if is_security_lead(user):
        return True
    if team_id is not None and team_id in member_team_ids(user, roles=MANAGING_ROLES):
        return True
    # Most people hold no grant of the model: the cached answer spares guardian's two queries per object.
    if not grant_perm or not has_object_grants(user, grant_perm, type(obj)):
        return False
    return bool(user.has_perm(grant_perm, obj))


def can_contribute(user: Any, *, team_id: int) -> bool:
    """Whether ``user`` may add things to a team (log an incident, push a scan, create an asset)."""
    if not is_active_user(user) or is_auditor(user):
        return False
    narrowed = token_team_id(user)
    if narrowed is not None and team_id != narrowed:
        return False
    return is_security_lead(user) or team_id in member_team_ids(user)


def can_edit(user: Any, obj: Model, *, team_id: int | None, grant_perm: str | None = None) -> bool:
    """Whether ``user`` may make a member's everyday changes to ``obj`` owned by ``team_id``.

    Any member of the team may (edit its assets, their lineage and provenance, triage its findings),
    besides those ``can_change`` admits; approvals (lowering a declared classification, accepting a
    risk, managing members) stay with ``can_change``.
    """
    if can_change(user, obj, team_id=team_id, grant_perm=grant_perm):
        return True
    return team_id is not None and token_allows(user, "write") and can_contribute(user, team_id=team_id)
