"""The controls app's lists in the one export path (``hygiene.services.exports``): the control catalogue,
assessments and exceptions, each with its list page's filters and the viewer's permissions (the selectors),
streamed as CSV or JSON and audited by the export service."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet

from hygiene.services.exports import ExportList, export_register

CONTROL_COLUMNS = {
    name: name
    for name in (
        *("code", "title", "objective", "domain", "mode", "rule", "scope", "cadence_days"),
        *("applies_to_kinds", "applies_to_environments", "from_baseline", "last_assessed_at", "retired_at"),
    )
}
CONTROL_COLUMNS["min_classification"] = "min_classification__slug"
ASSESSMENT_COLUMNS = {
    "id": "id",
    "control": "control__code",
    "control_title": "control__title",
    "domain": "control__domain",
    "mode": "control__mode",
    "asset_id": "asset_id",
    "asset": "asset__name",
    "team": "team__slug",
    "status": "status",
    "reason": "reason",
    "due_on": "due_on",
    "exception_id": "exception_id",
    "assessed_at": "assessed_at",
    "changed_at": "changed_at",
}
EXCEPTION_COLUMNS = {
    "id": "id",
    "title": "title",
    "team": "team__slug",
    "asset_id": "asset_id",
    "asset": "asset__name",
    "control": "control__code",
    "risk_rating": "risk_rating",
    "severity": "severity",
    "status": "status",
    "justification": "justification",
    "compensating_controls": "compensating_controls",
    "requested_by": "requested_by__username",
    "requested_at": "requested_at",
    "decided_by": "decided_by__username",
    "decided_at": "decided_at",
    "decision_comment": "decision_comment",
    "expires_on": "expires_on",
    "closed_at": "closed_at",
}


def _teams(user: Any) -> list[tuple[str, str]]:
    from hygiene.selectors import team_list_for_user

    return [(team.slug, team.name) for team in team_list_for_user(user=user)]


def _control_filters(user: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("domain", "mode", "scope", "q", "retired")
    return {key: str(params[key])[:100] for key in keys if params.get(key)}


def _controls(user: Any, filters: Mapping[str, Any]) -> QuerySet[Any]:
    from controls.selectors import control_list

    return control_list(filters=dict(filters))


def _assessment_filters(user: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    from controls.forms import AssessmentFilterForm

    return AssessmentFilterForm(params or None, teams=_teams(user)).filters() if params else {}


def _assessments(user: Any, filters: Mapping[str, Any]) -> QuerySet[Any]:
    from controls.selectors import assessment_list_for_user

    # Plain values: the list's select_related/only would only widen the query.
    return assessment_list_for_user(user=user, filters=filters).select_related(None)


def _exception_filters(user: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    from controls.forms import ExceptionFilterForm

    if not params:
        return {}
    form = ExceptionFilterForm(params, teams=_teams(user))
    return {key: value for key, value in form.cleaned_data.items() if value} if form.is_valid() else {}


def _exceptions(user: Any, filters: Mapping[str, Any]) -> QuerySet[Any]:
    from controls.selectors import exception_list_for_user

    return exception_list_for_user(user=user, filters=filters)


def install() -> None:
    """Register the lists (from ``ControlsConfig.ready``)."""
    export_register(
        ExportList(
            key="controls",
            title="Controls",
            object_type="controls_control",
            columns=tuple(CONTROL_COLUMNS.items()),
            queryset=_controls,
            parse_filters=_control_filters,
            list_url_name="controls:list",
        )
    )
    export_register(
        ExportList(
            key="assessments",
            title="Control assessments",
            object_type="controls_assessment",
            columns=tuple(ASSESSMENT_COLUMNS.items()),
            queryset=_assessments,
            parse_filters=_assessment_filters,
            list_url_name="controls:assessments",
        )
    )
    export_register(
        ExportList(
            key="exceptions",
            title="Exceptions",
            object_type="controls_riskexception",
            columns=tuple(EXCEPTION_COLUMNS.items()),
            queryset=_exceptions,
            parse_filters=_exception_filters,
            list_url_name="controls:exceptions",
        )
    )
