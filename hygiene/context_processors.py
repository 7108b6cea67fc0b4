from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from hygiene.permissions import is_auditor, is_security_lead, sees_all_teams

# (url name, label, who sees it: "all" or "privileged" for leads and auditors)
NAVIGATION = [
    ("home", "Overview", "all"),
    ("assets:list", "Inventory", "all"),
    ("findings:list", "Findings", "all"),
    ("coming-soon:controls", "Controls", "all"),
    ("coming-soon:incidents", "Incidents", "all"),
    ("coming-soon:exports", "Exports", "privileged"),
    ("audit:log", "Audit log", "privileged"),
    ("teams:list", "Teams", "all"),
    ("people:list", "People", "privileged"),
]


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    privileged = sees_all_teams(user)
    items = []
    for name, label, who in NAVIGATION:
        if who == "all" or privileged:
            url = reverse(name)
            current = request.path == url if url == "/" else request.path.startswith(url)
            items.append({"url": url, "label": label, "current": current})
    role = "Security lead" if is_security_lead(user) else "Auditor" if is_auditor(user) else "Member"
    return {"nav_items": items, "user_role": role}
