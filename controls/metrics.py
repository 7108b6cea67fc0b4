"""The controls' metrics, valued for the metrics app's registry (``register_provider``).

Everything is read through the controls' own visibility rules (``visible_counts``,
``visible_assessments``, ``visible_exceptions``), so a member counts their teams', an auditor the
unrestricted ones. Exceptions and evidence keep their dates, so their metrics are computed for any
past period; compliance and ownership are today's state (the assessments keep no history), so they
have a value only for the period that includes today. Registered from ``ControlsConfig.ready``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils import timezone

EXPIRING_DAYS = 30


def _scoped(queryset: QuerySet[Any], scope: Any, *, restricted_field: str = "restricted") -> QuerySet[Any]:
    if scope.team:
        queryset = queryset.filter(team__slug=scope.team)
    if scope.exclude_restricted:
        queryset = queryset.filter(**{restricted_field: False})
    return queryset


def _with_environment(queryset: QuerySet[Any], scope: Any, asset_field: str) -> QuerySet[Any]:
    # Team-level rows (no asset) have no environment: an environment filter leaves them out.
    if scope.environment:
        queryset = queryset.filter(**{f"{asset_field}__environment": scope.environment})
    return queryset


@dataclass
class Compliance:
    """Today's compliance of what the scope sees: overall and per framework, domain and team."""

    passing: int = 0
    applicable: int = 0
    # (group, key, label) -> [passing, applicable]; group is framework, domain or team, and
    # "group=key" is the assessment list's filter behind the numbers
    rows: dict[tuple[str, str, str], list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))

    @staticmethod
    def share(passing: int, applicable: int) -> float | None:
        return None if not applicable else round(100.0 * passing / applicable, 1)


def compliance_for(scope: Any) -> Compliance:
    """Passing over applicable (passing, failing, not assessed, excepted), from the compliance counts
    (or the assessments themselves when an environment is chosen: the counts have none)."""
    from controls.models import COUNTED_STATUSES, AssessmentStatus, Control, ControlMapping, Domain
    from controls.selectors import visible_assessments, visible_counts

    if scope.environment:
        source = _with_environment(_scoped(visible_assessments(scope.user), scope), scope, "asset")
        rows = source.values("control_id", "team__slug", "status").annotate(n=Count("id")).order_by()
    else:
        source = _scoped(visible_counts(scope.user), scope)
        rows = source.values("control_id", "team__slug", "status").annotate(n=Sum("count")).order_by()
    controls = dict(Control.objects.active().values_list("pk", "domain"))
    frameworks: dict[int, set[tuple[str, str]]] = defaultdict(set)
    for control_id, slug, name in ControlMapping.objects.filter(control__retired_at__isnull=True).values_list(
        "control_id", "requirement__framework__slug", "requirement__framework__name"
    ):
        frameworks[control_id].add((slug, name))
    domains = dict(Domain.choices)
    result = Compliance()
    for row in rows:
        control_id, status, n = row["control_id"], row["status"], int(row["n"] or 0)
        if control_id not in controls or status not in COUNTED_STATUSES:
            continue
        passed = n if status == AssessmentStatus.PASSING else 0
        result.passing += passed
        result.applicable += n
        domain = controls[control_id]
        groups = [
            ("team", row["team__slug"], row["team__slug"]),
            ("domain", domain, domains.get(domain, domain)),
        ]
        groups += [("framework", slug, name) for slug, name in frameworks.get(control_id, ())]
        for group in groups:
            cell = result.rows[group]
            cell[0] += passed
            cell[1] += n
    return result


def owner_share_for(scope: Any) -> tuple[int, int]:
    """(controls with an owner, controls) over the active controls x the teams in view."""
    from controls.models import Control, ControlOwnership
    from hygiene.selectors import team_list_for_user

    teams = team_list_for_user(user=scope.user)
    if scope.team:
        teams = teams.filter(slug=scope.team)
    team_ids = list(teams.values_list("pk", flat=True))
    controls = Control.objects.active().count()
    owned = ControlOwnership.objects.filter(
        team_id__in=team_ids, owner__isnull=False, control__retired_at__isnull=True
    ).count()
    return owned, controls * len(team_ids)


def _day_end(day: dt.date) -> dt.datetime:
    zone = timezone.get_current_timezone()
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=zone)


def evidence_freshness_for(scope: Any, *, on: dt.date) -> tuple[int, int]:
    """(fresh, collected) evidence items on ``on``: collected by then, and not past their expiry."""
    from controls.models import Evidence
    from controls.selectors import visible_assessments

    assessments = _with_environment(_scoped(visible_assessments(scope.user), scope), scope, "asset")
    items = Evidence.objects.filter(assessment__in=assessments.values("pk"), collected_on__lte=on)
    counts = items.aggregate(
        total=Count("id"), fresh=Count("id", filter=Q(expires_on__isnull=True) | Q(expires_on__gt=on))
    )
    return int(counts["fresh"]), int(counts["total"])


@dataclass(frozen=True)
class ExceptionCounts:
    open: int  # in force at the end of the period
    expiring: int  # of those, expiring within 30 days of it
    expired: int  # reached their expiry date in the period while in force


def exception_counts_for(scope: Any, *, start: dt.date, end: dt.date) -> ExceptionCounts:
    """From the exceptions' own dates: approved (decided) before the end, not closed by then."""
    from controls.models import ExceptionStatus
    from controls.selectors import visible_exceptions

    until = _day_end(end)
    approved = _with_environment(_scoped(visible_exceptions(scope.user), scope), scope, "asset").filter(
        status__in=[ExceptionStatus.APPROVED, ExceptionStatus.EXPIRED, ExceptionStatus.WITHDRAWN],
        decided_at__lt=until,
    )
    in_force = Q(expires_on__gt=end) & (Q(closed_at__isnull=True) | Q(closed_at__gte=until))
    expiring = in_force & Q(expires_on__lte=end + dt.timedelta(days=EXPIRING_DAYS))
    # Expired in the period: its date fell in it and nobody withdrew it before.
    expired = Q(expires_on__gte=start, expires_on__lte=end) & ~Q(
        status=ExceptionStatus.WITHDRAWN, closed_at__date__lt=F("expires_on")
    )
    counts = approved.aggregate(
        open=Count("id", filter=in_force),
        expiring=Count("id", filter=expiring),
        expired=Count("id", filter=expired),
    )
    return ExceptionCounts(int(counts["open"]), int(counts["expiring"]), int(counts["expired"]))


# ---- providers ---------------------------------------------------------------------------------------


def _is_today(context: Any) -> bool:
    return context.end is not None and context.end >= timezone.localdate()


def _live_only() -> Any:
    from metrics.definitions import MetricValue

    return MetricValue(value=None, note="today's state only: assessments keep no history")


def _compliance(context: Any) -> Any:
    from metrics.definitions import MetricValue

    if not _is_today(context):
        return _live_only()
    compliance = context.cached("controls_compliance", lambda: compliance_for(context.scope))
    note = f"{compliance.passing} of {compliance.applicable} applicable assessments passing"
    return MetricValue(
        value=Compliance.share(compliance.passing, compliance.applicable),
        note=note,
        count=compliance.applicable,
    )


def _owners(context: Any) -> Any:
    from metrics.definitions import MetricValue

    if not _is_today(context):
        return MetricValue(value=None, note="today's state only: ownership keeps no history")
    owned, total = owner_share_for(context.scope)
    return MetricValue(
        value=Compliance.share(owned, total), note=f"{owned} of {total} control x team", count=total
    )


def _evidence(context: Any) -> Any:
    from metrics.definitions import MetricValue

    fresh, total = evidence_freshness_for(context.scope, on=context.end)
    return MetricValue(
        value=Compliance.share(fresh, total), note=f"{fresh} of {total} items fresh", count=total
    )


def _exceptions(name: str) -> Any:
    def provider(context: Any) -> Any:
        from metrics.definitions import MetricValue

        counts = context.cached(
            "controls_exceptions",
            lambda: exception_counts_for(context.scope, start=context.start, end=context.end),
        )
        value = getattr(counts, name)
        return MetricValue(value=value, count=value)

    return provider


def install() -> None:
    from django.apps import apps

    if not apps.is_installed("metrics"):
        return
    from metrics.definitions import register_provider

    register_provider("control_compliance", _compliance)
    register_provider("controls_owner_share", _owners)
    register_provider("evidence_fresh", _evidence)
    register_provider("exceptions_open", _exceptions("open"))
    register_provider("exceptions_expiring", _exceptions("expiring"))
    register_provider("exceptions_expired", _exceptions("expired"))
