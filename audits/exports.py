"""The lists of the apps that exist today, registered with the one export path (hygiene.services.exports).

Controls, assessments, exceptions and incidents register theirs from their own apps the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet

from hygiene.services.exports import ExportList, export_register

ASSET_COLUMNS = {
    "id": "id",
    "name": "name",
    "kind": "kind",
    "environment": "environment",
    "team": "team__slug",
    "classification": "classification__slug",
    "effective_classification": "effective_classification__slug",
    "is_restricted": "is_restricted",
    "criticality": "criticality",
    "lifecycle": "lifecycle",
    "technical_owner": "technical_owner__username",
    "identifiers": "identifiers",
    "tags": "tags",
    "description": "description",
    "created_at": "created_at",
    "updated_at": "updated_at",
}
FINDING_COLUMNS = {
    "id": "id",
    "asset_id": "asset_id",
    "asset": "asset__name",
    "team": "team__slug",
    "scanner": "scanner",
    "category": "category",
    "rule_id": "rule_id",
    "title": "title",
    "severity": "severity",
    "status": "status",
    "package": "package",
    "installed_version": "installed_version",
    "fixed_version": "fixed_version",
    "location": "location",
    "cvss": "cvss",
    "kev": "kev",
    "epss": "epss",
    "published_at": "published_at",
    "first_seen": "first_seen",
    "last_seen": "last_seen",
    "mitigated_at": "mitigated_at",
    "sla_due": "sla_due",
    "fingerprint": "fingerprint",
}
JOB_COLUMNS = {
    "id": "id",
    "team": "team__slug",
    "asset": "asset__name",
    "source": "source__name",
    "uploaded_by": "uploaded_by__username",
    "format": "format",
    "filename": "filename",
    "sha256": "sha256",
    "size_bytes": "size_bytes",
    "status": "status",
    "error": "error",
    "new": "new_count",
    "unchanged": "unchanged_count",
    "reopened": "reopened_count",
    "mitigated": "mitigated_count",
    "findings": "findings_count",
    "created_at": "created_at",
    "started_at": "started_at",
    "finished_at": "finished_at",
}
AUDIT_COLUMNS = {
    name: name
    for name in (
        *("id", "seq", "occurred_at", "actor_id", "actor_label", "action", "object_type", "object_id"),
        *("changes", "before", "after", "context", "prev_hash", "hash"),
    )
}


def _asset_filters(user: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    from assets.forms import AssetFilterForm
    from assets.selectors import visible_team_choices

    form = AssetFilterForm(params or None, teams=visible_team_choices(user))
    return dict(form.filters())


def _assets(user: Any, filters: Mapping[str, Any]) -> QuerySet[Any]:
    from assets.selectors import asset_list_for_user

    return asset_list_for_user(user=user, filters=dict(filters))


def _finding_filters(user: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    from django.http import QueryDict

    from findings.forms import FindingFilterForm
    from findings.models import FindingStatus
    from hygiene.selectors import team_list_for_user

    data = params.copy() if isinstance(params, QueryDict) else QueryDict(mutable=True)
    if not isinstance(params, QueryDict):
        data.update(params)
    if "status" not in data:
        data["status"] = FindingStatus.OPEN  # as the list page: what needs doing, unless asked
    teams = [(team.slug, team.name) for team in team_list_for_user(user=user)]
    return FindingFilterForm(data, teams=teams).filters()


def _findings(user: Any, filters: Mapping[str, Any]) -> QuerySet[Any]:
    from findings.selectors import finding_list_for_user

    findings = finding_list_for_user(user=user, filters=filters)
    # Sorting a million rows costs more than writing them: the export keeps the list's order only when the
    # person chose one (``sort=``), and otherwise comes in storage order, which starts at once.
    return findings if filters.get("sort") else findings.order_by()


def _job_filters(user: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    from findings.models import JobStatus

    filters: dict[str, Any] = {}
    if params.get("status") in JobStatus.values:
        filters["status"] = params["status"]
    if params.get("team"):
        filters["team"] = str(params["team"])[:60]
    return filters


def _jobs(user: Any, filters: Mapping[str, Any]) -> QuerySet[Any]:
    from findings.selectors import job_list_for_user

    jobs = job_list_for_user(user=user)
    if filters.get("status"):
        jobs = jobs.filter(status=filters["status"])
    if filters.get("team"):
        jobs = jobs.filter(team__slug=filters["team"])
    return jobs


def _audit_filters(user: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    from hygiene.forms import AuditFilterForm

    form = AuditFilterForm(params or None)
    return {k: str(v) for k, v in form.cleaned_data.items() if v} if form.is_valid() else {}


def _audit_entries(user: Any, filters: Mapping[str, Any]) -> QuerySet[Any]:
    from hygiene.selectors import audit_entry_list_for_user

    return audit_entry_list_for_user(user=user, filters=dict(filters))


def _sees_audit_log(user: Any) -> bool:
    from hygiene.permissions import sees_all_teams

    return sees_all_teams(user)


export_register(
    ExportList(
        key="assets",
        title="Assets",
        object_type="assets_asset",
        columns=tuple(ASSET_COLUMNS.items()),
        queryset=_assets,
        parse_filters=_asset_filters,
        list_url_name="assets:list",
    )
)
export_register(
    ExportList(
        key="findings",
        title="Findings",
        object_type="findings_finding",
        columns=tuple(FINDING_COLUMNS.items()),
        queryset=_findings,
        parse_filters=_finding_filters,
        list_url_name="findings:list",
    )
)
export_register(
    ExportList(
        key="import-jobs",
        title="Import jobs",
        object_type="findings_importjob",
        columns=tuple(JOB_COLUMNS.items()),
        queryset=_jobs,
        parse_filters=_job_filters,
        list_url_name="findings:jobs",
    )
)
export_register(
    ExportList(
        key="audit-log",
        title="Audit log",
        object_type="hygiene_auditentry",
        columns=tuple(AUDIT_COLUMNS.items()),
        queryset=_audit_entries,
        parse_filters=_audit_filters,
        list_url_name="audit:log",
        allowed=_sees_audit_log,
    )
)
