from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from hygiene.permissions import is_auditor, is_security_lead, sees_all_teams

# (url name, label, who sees it: "all" or "privileged" for leads and auditors)
NAVIGATION = [
    ("home", "Overview", "all"),
    ("assets:list", "Inventory", "all"),
    ("findings:list", "Findings", "all"),
    ("controls:compliance", "Controls", "all"),
    ("coming-soon:incidents", "Incidents", "all"),
    ("coming-soon:metrics", "Metrics", "all"),
    ("coming-soon:exports", "Exports", "privileged"),
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
    role = "Security lead" if is_security_lead(user) else "Auditor" if is_auditor(user) else "Member"
    from hygiene.selectors import notification_unread_count

    return {
        "nav_items": items,
        "user_role": role,
        "unread_notifications": notification_unread_count(user=user),
    }
