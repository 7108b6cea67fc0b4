from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from hygiene.models import TeamRole
from hygiene.permissions import is_auditor, is_security_lead, sees_all_teams
from hygiene.selectors import membership_list_for_user

# (url name, label, who sees it: "all" or "privileged" for leads and auditors)
NAVIGATION = [
    ("home", "Overview", "all"),
    ("assets:list", "Inventory", "all"),
    ("findings:list", "Findings", "all"),
    ("controls:compliance", "Controls", "all"),
    ("incidents:list", "Incidents", "all"),
    ("exports:index", "Exports", "all"),
    ("audits:list", "Audits", "privileged"),
    ("audit:log", "Audit log", "privileged"),
    ("teams:list", "Teams", "all"),
    ("people:list", "People", "privileged"),
]


# Items whose link is one page of a larger section (any /controls/ page marks "Controls").
CURRENT_PREFIX = {"controls:compliance": "/controls/"}


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    privileged = sees_all_teams(user)
    items = []
    for name, label, who in NAVIGATION:
        if who == "all" or privileged:
            url = reverse(name)
            section = CURRENT_PREFIX.get(name, url)
            current = request.path == url if url == "/" else request.path.startswith(section)
            items.append({"url": url, "label": label, "current": current})
    from hygiene.selectors import notification_unread_count

    return {
        "nav_items": items,
        **role_labels(user),
        "unread_notifications": notification_unread_count(user=user),
    }


# Highest first: the header names the most responsible role a person holds in any team.
TEAM_ROLE_ORDER = (TeamRole.LEAD, TeamRole.CHAMPION, TeamRole.MEMBER)


def role_labels(user: Any) -> dict[str, str]:
    """What the header and the overview call the person: their global role, or their team role."""
    if is_security_lead(user):
        return {"user_role": "Security lead", "user_role_scope": "every team"}
    if is_auditor(user):
        return {"user_role": "Auditor", "user_role_scope": "every team, read-only"}
    memberships = list(membership_list_for_user(user=user).order_by("team__name"))
    if not memberships:
        return {"user_role": "Member", "user_role_scope": "no team yet"}
    top = min(memberships, key=lambda membership: TEAM_ROLE_ORDER.index(TeamRole(membership.role)))
    teams = [membership.team.name for membership in memberships if membership.role == top.role]
    others = len(memberships) - len(teams)
    scope = ", ".join(teams) + (f" (+{others} more team{'s' if others != 1 else ''})" if others else "")
    return {"user_role": top.get_role_display(), "user_role_scope": scope}
