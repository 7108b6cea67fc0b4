"""Pieces of the controls app other apps' pages show: the asset page's controls panel."""

from __future__ import annotations

from typing import Any

from django import template

from controls import selectors
from controls.models import AssessmentStatus

register = template.Library()


@register.inclusion_tag("controls/includes/asset_controls.html", takes_context=True)
def asset_controls(context: dict[str, Any], asset: Any) -> dict[str, Any]:
    """The applicable controls on an asset the page has already fetched for this user."""
    user = context["request"].user
    rows = [
        a
        for a in selectors.assessments_for_asset(user=user, asset_id=asset.pk)
        if a.status != AssessmentStatus.NOT_APPLICABLE
    ]
    tally = selectors.Tally()
    for a in rows:
        tally.add(a.status, 1)
    return {"asset": asset, "rows": rows, "tally": tally}


@register.inclusion_tag("controls/includes/finding_exceptions.html", takes_context=True)
def finding_exceptions(context: dict[str, Any], finding: Any) -> dict[str, Any]:
    """A finding's exceptions, and the way to request one when it is open and the person is of its team."""
    from findings.models import FindingStatus
    from hygiene.permissions import can_contribute

    user = context["request"].user
    exceptions = list(selectors.exceptions_for_finding(user=user, finding_id=finding.pk)[:10])
    pending = any(e.status in ("requested", "approved") for e in exceptions)
    may_request = (
        finding.status == FindingStatus.OPEN and not pending and can_contribute(user, team_id=finding.team_id)
    )
    return {"finding": finding, "exceptions": exceptions, "may_request": may_request}
