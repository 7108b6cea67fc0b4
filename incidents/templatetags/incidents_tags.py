"""Template helpers of the incidents app: durations, and the overview's overdue follow-ups."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template

register = template.Library()


@register.filter
def duration(value: dt.timedelta | None) -> str:
    """A duration as people say it: "3 d 4 h", "2 h 05 min", "12 min"."""
    if value is None:
        return "—"
    minutes = int(value.total_seconds() // 60)
    if minutes < 0:
        return "—"
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min"


@register.inclusion_tag("incidents/includes/overdue_followups.html", takes_context=True)
def overdue_followups(context: dict[str, Any]) -> dict[str, Any]:
    """The signed-in person's overdue follow-up actions, for the overview page."""
    from incidents.selectors import overdue_followups_for_owner

    user = context["request"].user
    return {
        "followups": list(overdue_followups_for_owner(user=user)[:20]),
        "csrf_token": context.get("csrf_token"),
    }


@register.filter
def may_report_incidents(user: Any) -> bool:
    """Whether to offer "Report an incident": people who can report for at least one team."""
    from hygiene.permissions import is_auditor, is_security_lead, member_team_ids

    if not getattr(user, "is_authenticated", False) or is_auditor(user):
        return False
    return is_security_lead(user) or bool(member_team_ids(user))
