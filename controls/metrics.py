"""The controls' metrics, valued for the metrics app's registry (``register_provider``).

Today's values are read live through the controls' own visibility rules (``visible_counts``,
``visible_assessments``, ``visible_exceptions``), so a member counts their teams', an auditor the
unrestricted ones. Exceptions and evidence keep their dates, so their metrics are computed for any
past period from them. Assessments and ownership keep no history, so a past period's compliance and
ownership share are read from the daily control snapshot (``metrics.models.ControlSnapshot``, through
the metrics selectors' one permission path): the newest one on or before the period's end. Periods
ending before the first snapshot have no value, and say there is no compliance history before it.
Registered from ``ControlsConfig.ready``.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, cast

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
    """Compliance of what the scope sees (live, or as a snapshot recorded it): overall and per
    framework, domain and team."""

    passing: int = 0
    applicable: int = 0
    statuses: Counter[str] = field(default_factory=Counter)  # applicable assessments by status
    # (group, key, label) -> [passing, applicable]; group is framework, domain or team, and
    # "group=key" is the assessment list's filter behind the numbers
    rows: dict[tuple[str, str, str], list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))

    @staticmethod
    def share(passing: int, applicable: int) -> float | None:
        return None if not applicable else round(100.0 * passing / applicable, 1)


def compliance_for(scope: Any) -> Compliance:
    """Passing over applicable (passing, failing, not assessed, excepted), from the compliance counts
    (or the assessments themselves when an environment is chosen: the counts have none)."""
    from controls.models import Control
    from controls.selectors import visible_assessments, visible_counts

    if scope.environment:
        source = _with_environment(_scoped(visible_assessments(scope.user), scope), scope, "asset")
        rows = source.values("control_id", "team__slug", "status").annotate(n=Count("id")).order_by()
    else:
        source = _scoped(visible_counts(scope.user), scope)
        rows = source.values("control_id", "team__slug", "status").annotate(n=Sum("count")).order_by()
    counted = ((row["control_id"], row["team__slug"], row["status"], int(row["n"] or 0)) for row in rows)
    return _grouped(counted, Control.objects.active())


def compliance_on(scope: Any, *, day: dt.date) -> Compliance:
    """The same figures as recorded by the control snapshot of ``day`` (the controls active then,
    grouped by their domain and framework mappings now)."""
    from controls.models import COUNTED_STATUSES, Control
    from metrics.selectors import control_day_rows

    counted = (
        (row["control_id"], row["team__slug"], status, int(row[status]))
        for row in control_day_rows(scope, day=day)
        for status in COUNTED_STATUSES
    )
    return _grouped(counted, Control.objects.all())


def _grouped(counted: Iterable[tuple[int, str, str, int]], controls: QuerySet[Any]) -> Compliance:
    """Sum (control, team slug, status, count) overall and per team, domain and framework; statuses
    that do not count towards compliance (not applicable) are left out."""
    from controls.models import COUNTED_STATUSES, AssessmentStatus, ControlMapping, Domain

    domain_of = dict(controls.values_list("pk", "domain"))
    frameworks: dict[int, set[tuple[str, str]]] = defaultdict(set)
    for control_id, slug, name in ControlMapping.objects.filter(control__in=controls).values_list(
        "control_id", "requirement__framework__slug", "requirement__framework__name"
    ):
        frameworks[control_id].add((slug, name))
    domains = dict(Domain.choices)
    result = Compliance()
    for control_id, team, status, n in counted:
        if control_id not in domain_of or status not in COUNTED_STATUSES or not n:
            continue
        passed = n if status == AssessmentStatus.PASSING else 0
        result.statuses[status] += n
        result.passing += passed
        result.applicable += n
        domain = domain_of[control_id]
        groups = [("team", team, team), ("domain", domain, domains.get(domain, domain))]
        groups += [("framework", slug, name) for slug, name in frameworks.get(control_id, ())]
        for group in groups:
            cell = result.rows[group]
            cell[0] += passed
            cell[1] += n
    return result


@dataclass(frozen=True)
class PeriodCompliance:
    """A period's compliance: live for the period that includes today, else its end's snapshot."""

    compliance: Compliance | None  # None: no snapshot on or before the period's end
    day: dt.date | None = None  # the snapshot read (None: live)
    first_day: dt.date | None = None  # the first snapshot, when there is none for the period

    @property
    def missing(self) -> str:
        """Why there is no figure, in words (the dashboards and the API show it)."""
        return no_history("compliance", first_day=self.first_day)

    @property
    def source(self) -> str:
        return "live" if self.day is None else f"snapshot of {self.day.isoformat()}"


def no_history(what: str, *, first_day: dt.date | None) -> str:
    """Why a past period has no ``what`` figure: the daily snapshot has not recorded it that far back."""
    if first_day is None:
        return (
            f"No {what} snapshot yet: assessments and ownership keep no history, so past {what} is"
            " what the daily snapshot records from its first run on."
        )
    return (
        f"No {what} history before {first_day.isoformat()}: assessments and ownership keep no history,"
        f" so past {what} is what the daily snapshot recorded from then on."
    )


def period_compliance(scope: Any, *, end: dt.date, live: bool) -> PeriodCompliance:
    """Live compliance, or the newest control snapshot's on or before ``end`` (none: say so)."""
    if live:
        return PeriodCompliance(compliance_for(scope))
    from metrics.selectors import control_first_day, control_latest_days

    day = control_latest_days(scope, ends=[end])[end]
    if day is None:
        return PeriodCompliance(None, first_day=control_first_day(scope))
    return PeriodCompliance(compliance_on(scope, day=day), day=day)


def context_compliance(context: Any) -> PeriodCompliance:
    """The period's compliance, computed once for its tile and its chart."""
    return cast(
        PeriodCompliance,
        context.cached(
            "controls_compliance",
            lambda: period_compliance(context.scope, end=context.end, live=_is_today(context)),
        ),
    )


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


def _compliance(context: Any) -> Any:
    from metrics.definitions import MetricValue

    state = context_compliance(context)
    if state.compliance is None:
        return MetricValue(value=None, note=state.missing)
    compliance = state.compliance
    note = f"{compliance.passing} of {compliance.applicable} applicable assessments passing"
    if state.day is not None:
        note += f" ({state.source})"
    return MetricValue(
        value=Compliance.share(compliance.passing, compliance.applicable),
        note=note,
        count=compliance.applicable,
    )


def _owners(context: Any) -> Any:
    from metrics.definitions import MetricValue
    from metrics.selectors import control_first_day, control_latest_days, control_owner_totals

    note = ""
    if _is_today(context):
        owned, total = owner_share_for(context.scope)
    else:
        day = control_latest_days(context.scope, ends=[context.end])[context.end]
        if day is None:
            return MetricValue(
                value=None, note=no_history("ownership", first_day=control_first_day(context.scope))
            )
        owned, total = control_owner_totals(context.scope, day=day)
        note = f" (snapshot of {day.isoformat()})"
    return MetricValue(
        value=Compliance.share(owned, total), note=f"{owned} of {total} control x team{note}", count=total
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
