"""Permission-aware reads of findings, scan sources and import jobs.

Findings are scoped by their denormalized team (one indexed filter); a finding on a restricted asset is
visible only to the asset's team, security leads and people granted the asset by name.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from django.contrib.postgres.search import SearchQuery
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone
from guardian.shortcuts import get_objects_for_user

from findings.models import (
    Finding,
    FindingQuerySet,
    FindingSighting,
    FindingStatus,
    ImportJob,
    Outcome,
    ScanSource,
    Severity,
)
from hygiene.models import AuditEntry
from hygiene.permissions import is_active_user, scope_queryset, token_team_id

FINDING_OBJECT_TYPE = "findings_finding"
SOURCE_OBJECT_TYPE = "findings_scansource"
# Bands of a finding's age (days since first seen), as the metrics dashboards count them.
AGE_BANDS: dict[str, tuple[int, int | None]] = {
    "0-30": (0, 30),
    "31-90": (31, 90),
    "91-180": (91, 180),
    "181-365": (181, 365),
    "365+": (366, None),
}
SORTS: dict[str, tuple[Any, ...]] = {
    "severity": (F("severity_rank").desc(), F("sla_due").asc(nulls_last=True), "id"),
    "newest": ("-first_seen", "-id"),
    "oldest": ("first_seen", "id"),
    "sla_due": (F("sla_due").asc(nulls_last=True), F("severity_rank").desc(), "id"),
    "epss": (F("epss").desc(nulls_last=True), F("severity_rank").desc(), "id"),
}
DEFAULT_SORT = "severity"
# Rule ids people paste (CVE-2021-44228, GHSA-jfh8-c2jp-5v3q) are matched exactly as well.
_RULE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{2,}$")
_TERM = re.compile(r"[a-z0-9]+")
LIST_FIELDS = (
    *("id", "asset_id", "team_id", "scanner", "category", "rule_id", "title", "severity", "severity_rank"),
    *("package", "installed_version", "fixed_version", "status", "first_seen", "last_seen"),
    *("sla_due", "kev", "kev_due", "epss", "epss_percentile", "cvss", "asset__name", "team__name"),
)


def _visible_findings(user: Any) -> QuerySet[Finding]:
    findings = Finding.objects.all()
    scoped = scope_queryset(findings, user, team_field="team", restricted_field="asset__is_restricted")
    granted = _granted_asset_ids(user)
    if granted:
        scoped = scoped | findings.filter(asset_id__in=granted)
    return scoped


def _granted_asset_ids(user: Any) -> list[int]:
    """Assets granted to ``user`` by name (django-guardian); their findings come with them."""
    if not is_active_user(user) or token_team_id(user) is not None:
        return []
    from assets.models import Asset

    cached: list[int] | None = getattr(user, "_findings_granted_assets", None)
    if cached is None:
        granted = get_objects_for_user(
            user, "assets.view_asset", klass=Asset, accept_global_perms=False, with_superuser=False
        )
        cached = list(granted.values_list("pk", flat=True))
        user._findings_granted_assets = cached  # one lookup per request, like the team memberships
    return cached


def finding_list_for_user(*, user: Any, filters: Mapping[str, Any] | None = None) -> QuerySet[Finding]:
    """The findings ``user`` may see, filtered and sorted (``filters`` as parsed by the list form)."""
    filters = filters or {}
    findings = _apply_filters(cast(FindingQuerySet, _visible_findings(user)), filters)
    sort = SORTS.get(str(filters.get("sort") or DEFAULT_SORT), SORTS[DEFAULT_SORT])
    return findings.select_related("asset", "team").only(*LIST_FIELDS).order_by(*sort)


def _apply_filters(findings: FindingQuerySet, filters: Mapping[str, Any]) -> FindingQuerySet:
    for field in ("severity", "category", "status"):
        values = _as_list(filters.get(field))
        if values:
            findings = findings.filter(**{f"{field}__in": values})
    team = filters.get("team")
    if team:
        findings = findings.filter(team__slug=team)
    asset = str(filters.get("asset") or "").strip()
    if asset.isdigit():
        findings = findings.filter(asset_id=int(asset))
    elif asset:
        findings = findings.filter(asset__name__icontains=asset)
    if filters.get("past_sla"):
        open_on = _as_date(filters.get("open_on"))
        # As of a past day, "open" is decided by open_on; the due date is compared with that day.
        findings = findings.filter(sla_due__lt=open_on) if open_on else findings.past_sla()
    if filters.get("kev"):
        findings = findings.kev()
    band = AGE_BANDS.get(str(filters.get("age") or ""))
    if band:
        findings = findings.filter(_age_condition(*band, today=_as_date(filters.get("open_on"))))
    environment = filters.get("environment")
    if environment:
        findings = findings.filter(asset__environment=environment)
    kind = filters.get("kind")
    if kind:
        findings = findings.filter(asset__kind=kind)
    scanner = str(filters.get("scanner") or "").strip()
    if scanner:
        # "sarif" means every SARIF tool; "sarif:codeql" one of them.
        condition = (
            Q(scanner=scanner)
            if ":" in scanner
            else Q(scanner=scanner) | Q(scanner__startswith=f"{scanner}:")
        )
        findings = findings.filter(condition)
    findings = _apply_time_filters(findings, filters)
    query = str(filters.get("q") or "").strip()
    if query:
        findings = findings.filter(_search_condition(query))
    return findings


def _apply_time_filters(findings: FindingQuerySet, filters: Mapping[str, Any]) -> FindingQuerySet:
    """First seen, patched or open at a given time: the lists the metrics charts drill down to."""
    found_from, found_to = _as_date(filters.get("found_from")), _as_date(filters.get("found_to"))
    if found_from:
        findings = findings.filter(first_seen__gte=_start_of(found_from))
    if found_to:
        findings = findings.filter(first_seen__lt=_start_of(found_to + dt.timedelta(days=1)))
    patched_from, patched_to = _as_date(filters.get("patched_from")), _as_date(filters.get("patched_to"))
    if patched_from or patched_to:
        # Patched: an import found it gone while it was open (an episode ended by the fix, not by a
        # person's false positive or a risk acceptance).
        patches = FindingSighting.objects.filter(
            finding_id=OuterRef("pk"), outcome="mitigated", status=FindingStatus.MITIGATED
        )
        if patched_from:
            patches = patches.filter(occurred_at__gte=_start_of(patched_from))
        if patched_to:
            patches = patches.filter(occurred_at__lt=_start_of(patched_to + dt.timedelta(days=1)))
        findings = findings.filter(Exists(patches))
    open_on = _as_date(filters.get("open_on"))
    if open_on:
        findings = open_at_end_of(findings, open_on)
    return findings


def open_at_end_of(findings: FindingQuerySet, day: dt.date) -> FindingQuerySet:
    """Those of ``findings`` open at the end of ``day``: seen by then, and open after their last status
    change before then (the history the metrics snapshots count)."""
    end = _start_of(day + dt.timedelta(days=1))
    last_status = (
        FindingSighting.objects.filter(finding_id=OuterRef("pk"), occurred_at__lt=end)
        .exclude(status="")
        .order_by("-occurred_at", "-id")
        .values("status")[:1]
    )
    status_then = Coalesce(Subquery(last_status), Value(FindingStatus.OPEN.value))
    return findings.alias(status_then=status_then).filter(first_seen__lt=end, status_then=FindingStatus.OPEN)


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _start_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())


def _as_list(value: Any) -> list[str]:
    if not value:
        return []
    if isinstance(value, str):
        return [value]
    return [str(item) for item in value if item]


def age_band_condition(band: str, *, today: dt.date | None = None) -> Q:
    """The findings in an age band (``AGE_BANDS``) as of ``today``: the list's and the metrics' rule."""
    return _age_condition(*AGE_BANDS[band], today=today)


def _age_condition(low: int, high: int | None, today: dt.date | None = None) -> Q:
    """Age band as of ``today`` (default: the current day): days since first seen."""
    start_of = _start_of(today or timezone.localdate())
    condition = Q(first_seen__lt=start_of - dt.timedelta(days=low - 1))
    if high is not None:
        condition &= Q(first_seen__gte=start_of - dt.timedelta(days=high))
    return condition


def _search_condition(query: str) -> Q:
    """Full-text (prefix) search on title, rule id and package, or an exact rule id."""
    condition = Q(pk__in=[])
    if _RULE_ID.match(query):
        condition |= Q(rule_id__in={query, query.upper()})
    terms = _TERM.findall(query.lower())[:8]
    if terms:
        raw = " & ".join(f"{term}:*" for term in terms)
        condition |= Q(search=SearchQuery(raw, search_type="raw", config="simple"))
    return condition


def finding_severity_counts(*, findings: QuerySet[Finding]) -> list[tuple[str, str, int]]:
    """(severity, label, count) for every severity, worst first, over ``findings``."""
    counts = dict(
        findings.order_by().values_list("severity").annotate(n=Count("id")).values_list("severity", "n")
    )
    return [(value, label, counts.get(value, 0)) for value, label in Severity.choices]


def finding_get_for_user(*, user: Any, pk: int) -> Finding:
    """The finding, or 404 when the user may not see it (so its existence is not revealed)."""
    finding = _visible_findings(user).select_related("asset", "team", "last_job").filter(pk=pk).first()
    if finding is None:
        raise Http404("No such finding.")
    return finding


@dataclass(frozen=True)
class HistoryEvent:
    at: dt.datetime
    kind: str  # "import" or "status"
    label: str
    job: ImportJob | None = None
    actor: str = ""
    reason: str = ""


def finding_history(*, finding: Finding) -> list[HistoryEvent]:
    """Each import that saw the finding and each status change people made, oldest first."""
    outcome_labels = dict(Outcome.choices)
    events = [
        HistoryEvent(
            at=job.started_at or job.created_at,
            kind="import",
            label=outcome_labels.get(outcome, outcome),
            job=job,
        )
        for job, outcome in finding.history()
    ]
    changes = AuditEntry.objects.filter(
        object_type=FINDING_OBJECT_TYPE, object_id=str(finding.pk), action="status_change"
    ).order_by("occurred_at", "id")
    for entry in changes:
        after = entry.after or {}
        events.append(
            HistoryEvent(
                at=entry.occurred_at,
                kind="status",
                label=f"{_status_label(after.get('from'))} → {_status_label(after.get('to'))}",
                actor=entry.actor_label,
                reason=str(after.get("reason", "")),
            )
        )
    return sorted(events, key=lambda event: event.at)


def _status_label(value: Any) -> str:
    return str(dict(FindingStatus.choices).get(value, value or "?"))


def source_list_for_user(*, user: Any) -> QuerySet[ScanSource]:
    # A source with no asset restricts nothing; one feeding a restricted asset is hidden like it.
    sources = ScanSource.objects.annotate(restricted=Coalesce("asset__is_restricted", False))
    sources = scope_queryset(sources, user, team_field="team", restricted_field="restricted")
    return sources.select_related("team", "asset").order_by("name", "id")


def source_get_for_user(*, user: Any, pk: int) -> ScanSource:
    source = source_list_for_user(user=user).filter(pk=pk).first()
    if source is None:
        raise Http404("No such scan source.")
    return source


def source_job_list(*, source: ScanSource, limit: int = 20) -> QuerySet[ImportJob]:
    """The latest import jobs a (visible) source created."""
    return source.import_jobs.select_related("asset").order_by("-created_at", "-id")[:limit]


def source_pull_log(*, source: ScanSource, limit: int = 10) -> QuerySet[AuditEntry]:
    """The latest pulls of a (visible) source, including those that failed or found nothing."""
    return AuditEntry.objects.filter(
        object_type=SOURCE_OBJECT_TYPE, object_id=str(source.pk), action="pull"
    ).order_by("-occurred_at", "-id")[:limit]


def job_list_for_user(*, user: Any) -> QuerySet[ImportJob]:
    """Import jobs of the teams the user sees, newest first (a job for a restricted asset is hidden
    like the asset)."""
    jobs = ImportJob.objects.annotate(restricted=Coalesce("asset__is_restricted", False))
    jobs = scope_queryset(jobs, user, team_field="team", restricted_field="restricted")
    return jobs.select_related("team", "asset", "uploaded_by", "source").order_by("-created_at", "-id")


def job_get_for_user(*, user: Any, pk: int) -> ImportJob:
    job = job_list_for_user(user=user).filter(pk=pk).first()
    if job is None:
        raise Http404("No such import job.")
    return job


def upload_team_options(*, user: Any) -> list[tuple[str, str]]:
    """(slug, name) of the teams the user may import scans for."""
    from hygiene.permissions import can_contribute
    from hygiene.selectors import team_list_for_user

    teams = team_list_for_user(user=user).order_by("name")
    return [(team.slug, team.name) for team in teams if can_contribute(user, team_id=team.pk)]


def upload_asset_options(*, user: Any, limit: int = 500) -> list[tuple[str, str]]:
    """(name, team name) of the active assets the user may import scans for, for the upload form."""
    from assets.models import Lifecycle
    from assets.selectors import visible_assets
    from hygiene.permissions import can_contribute

    assets = visible_assets(user).filter(lifecycle=Lifecycle.ACTIVE).select_related("team").order_by("name")
    options = []
    for asset in assets[: limit * 2]:
        if can_contribute(user, team_id=asset.team_id):
            options.append((asset.name, asset.team.name))
    return options[:limit]
