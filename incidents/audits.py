"""The incidents app in the auditors' app: its sections of an engagement's workspace, evidence bundle, PDF
report and OSCAL results, and its list in the one export path (``hygiene.services.exports``).

Every read goes through ``incidents.selectors`` (``visible_incidents``, ``exercise_list_for_user``) as the
engagement's auditor inside the engagement, so restricted incidents appear exactly when the engagement
opens restricted data, as restricted assets do. Registered from ``IncidentsConfig.ready``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from itertools import islice
from typing import Any

from django.db.models import CharField, Count, Q, QuerySet, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from audits.sections import Figure, Section, SectionContext, section_register
from hygiene.services.exports import ExportList, export_register

CHUNK = 500

# ---- the incidents of the engagement's scope and period ---------------------------------------------

INCIDENT_FIELDS = (
    *("id", "team__slug", "title", "category", "severity", "status", "is_restricted"),
    *("commander__username", "occurred_at", "detected_at", "reported_at", "acknowledged_at"),
    *("contained_at", "resolved_at", "closed_at", "escalation_level"),
)
INCIDENT_COLUMNS = (
    *("id", "reference", "team", "title", "category", "severity", "status", "restricted", "commander"),
    *("occurred_at", "detected_at", "reported_at", "acknowledged_at", "contained_at", "resolved_at"),
    *("closed_at", "escalation_level", "minutes_to_detect", "minutes_to_acknowledge", "minutes_to_contain"),
    *("minutes_to_resolve", "affected_assets", "linked_findings", "timeline_entries", "reviewed"),
    *("followups", "followups_open"),
)

# (label, start field, end field, definition): the durations of the incidents, as on an incident's page.
DURATIONS = (
    ("Time to detect", "occurred_at", "detected_at", "Detected (noticed) minus occurred."),
    ("Time to acknowledge", "reported_at", "acknowledged_at", "Acknowledged minus reported."),
    ("Time to contain", "detected_at", "contained_at", "Contained minus detected."),
    ("Time to resolve", "detected_at", "resolved_at", "Resolved minus detected."),
)


def period_incidents(ctx: SectionContext) -> QuerySet[Any]:
    """The incidents ``ctx.user`` sees that were open at some time in the period: detected before its end,
    not closed before its start."""
    from incidents.selectors import visible_incidents

    period = ctx.period
    return visible_incidents(ctx.user).filter(
        Q(detected_at__lt=period.end) & (Q(closed_at__isnull=True) | Q(closed_at__gte=period.start))
    )


def _minutes(start: dt.datetime | None, end: dt.datetime | None) -> int | None:
    return None if start is None or end is None else round((end - start).total_seconds() / 60)


def _chunks(rows: Iterator[Sequence[Any]], size: int) -> Iterator[list[Sequence[Any]]]:
    while chunk := list(islice(rows, size)):
        yield chunk


def _counts_by_incident(model: Any, ids: list[int], **filters: Any) -> dict[int, int]:
    rows = model.objects.filter(incident_id__in=ids, **filters).values("incident_id").annotate(n=Count("id"))
    return {row["incident_id"]: row["n"] for row in rows.order_by()}


def _incident_rows(ctx: SectionContext) -> Iterator[Sequence[Any]]:
    from assets.selectors import visible_assets
    from incidents.models import FollowUp, IncidentAsset, IncidentFinding, Review, TimelineEntry

    rows = period_incidents(ctx).order_by("id").values_list(*INCIDENT_FIELDS).iterator(chunk_size=CHUNK)
    for chunk in _chunks(rows, CHUNK):
        ids = [row[0] for row in chunk]
        # Affected assets by name, those the reader may see; the others are counted, never named.
        names: dict[int, list[str]] = defaultdict(list)
        hidden: dict[int, int] = defaultdict(int)
        seen = set(
            visible_assets(ctx.user).filter(incident_links__incident_id__in=ids).values_list("pk", flat=True)
        )
        for incident_id, asset_id, name in (
            IncidentAsset.objects.filter(incident_id__in=ids)
            .order_by("incident_id", "asset__name")
            .values_list("incident_id", "asset_id", "asset__name")
        ):
            if asset_id in seen:
                names[incident_id].append(name)
            else:
                hidden[incident_id] += 1
        findings = _counts_by_incident(IncidentFinding, ids)
        timeline = _counts_by_incident(TimelineEntry, ids)
        followups = _counts_by_incident(FollowUp, ids)
        followups_open = _counts_by_incident(FollowUp, ids, done_at__isnull=True)
        reviewed = set(Review.objects.filter(incident_id__in=ids).values_list("incident_id", flat=True))
        for row in chunk:
            values = dict(zip(INCIDENT_FIELDS, row, strict=True))
            pk = values["id"]
            affected = "; ".join(names[pk])
            if hidden[pk]:
                affected += ("; " if affected else "") + f"{hidden[pk]} not shown"
            yield (
                pk,
                f"INC-{pk}",
                *row[1:],
                *(_minutes(values[start], values[end]) for _, start, end, _ in DURATIONS),
                affected,
                findings.get(pk, 0),
                timeline.get(pk, 0),
                pk in reviewed,
                followups.get(pk, 0),
                followups_open.get(pk, 0),
            )


def _human(minutes: float) -> str:
    total = round(minutes)
    days, rest = divmod(total, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h {mins:02d}m"
    return f"{hours}h {mins:02d}m"


def incident_duration_figures(incidents: QuerySet[Any]) -> list[Figure]:
    """Mean and median of each duration over the incidents that reached its end (how many did is said)."""
    fields = sorted({field for _, start, end, _ in DURATIONS for field in (start, end)})
    rows = list(incidents.order_by().values_list(*fields))
    total = len(rows)
    figures = []
    for label, start, end, definition in DURATIONS:
        values = [
            (row[fields.index(end)] - row[fields.index(start)]).total_seconds() / 60
            for row in rows
            if row[fields.index(start)] is not None and row[fields.index(end)] is not None
        ]
        measured = (
            f" Over the {len(values)} of {total} incidents that reached it; the others are not counted."
        )
        for kind, compute in (("Mean", statistics.fmean), ("Median", statistics.median)):
            figures.append(
                Figure(
                    f"{kind} {label.lower()}",
                    _human(compute(values)) if values else "n/a",
                    f"{kind} of {definition[0].lower()}{definition[1:]}{measured}",
                )
            )
    return figures


def _incident_figures(ctx: SectionContext) -> list[Figure]:
    from incidents.models import Category, Severity

    incidents = period_incidents(ctx)
    counts = incidents.aggregate(
        total=Count("id"),
        new=Count("id", filter=Q(detected_at__gte=ctx.period.start)),
        restricted=Count("id", filter=Q(is_restricted=True)),
        open_at_end=Count("id", filter=Q(resolved_at__isnull=True) | Q(resolved_at__gte=ctx.period.end)),
    )
    figures = [
        Figure(
            "Incidents during the period",
            counts["total"],
            "Detected before its end, not closed before its start.",
        ),
        Figure("New incidents", counts["new"], "Detected within the period."),
        Figure(
            "Restricted incidents",
            counts["restricted"],
            "Touching a restricted asset (in scope only when the engagement opens restricted data).",
        ),
        Figure("Unresolved at period end", counts["open_at_end"], "Not resolved by the end of the period."),
        *incident_duration_figures(incidents),
    ]
    by_severity = dict(incidents.order_by().values_list("severity").annotate(n=Count("id")))
    for value, label in Severity.choices:
        figures.append(
            Figure(
                f"Severity {label.lower()}",
                by_severity.get(value, 0),
                f"Incidents of the period rated {label.lower()}.",
            )
        )
    by_category = dict(incidents.order_by().values_list("category").annotate(n=Count("id")))
    for value, label in Category.choices:
        figures.append(
            Figure(
                f"Category: {label}",
                by_category.get(value, 0),
                f"Incidents of the period categorised “{label}”.",
            )
        )
    return figures


def _incident_chart(ctx: SectionContext) -> list[tuple[str, int]]:
    from incidents.models import Severity

    counts = dict(period_incidents(ctx).order_by().values_list("severity").annotate(n=Count("id")))
    return [(str(label), counts.get(value, 0)) for value, label in Severity.choices]


def _incident_oscal(ctx: SectionContext, uuid_for: Callable[..., str]) -> dict[str, list[dict[str, Any]]]:
    from assets.selectors import visible_assets
    from incidents.models import IncidentAsset

    observations = []
    rows = (
        period_incidents(ctx)
        .order_by("id")
        .values_list("id", "title", "category", "severity", "status", "detected_at", "resolved_at")
    )
    for chunk in _chunks(rows.iterator(chunk_size=CHUNK), CHUNK):
        ids = [row[0] for row in chunk]
        # Subjects only among the result's inventory items (the assets in scope), so every reference holds.
        in_inventory = visible_assets(ctx.user).filter(created_at__lt=ctx.period.end).values("pk")
        subjects: dict[int, list[int]] = defaultdict(list)
        for incident_id, asset_id in (
            IncidentAsset.objects.filter(incident_id__in=ids, asset_id__in=in_inventory)
            .order_by("asset_id")
            .values_list("incident_id", "asset_id")
        ):
            subjects[incident_id].append(asset_id)
        for pk, title, category, severity, status, detected_at, resolved_at in chunk:
            observation: dict[str, Any] = {
                "uuid": uuid_for("incident", pk),
                "title": f"INC-{pk}: {title}"[:500],
                "description": f"Security incident ({category}, {severity}), status {status}.",
                "props": [
                    {"name": "incident-id", "value": f"INC-{pk}"},
                    {"name": "category", "value": str(category)},
                    {"name": "severity", "value": str(severity)},
                    {"name": "status", "value": str(status)},
                ],
                "methods": ["EXAMINE"],
                "types": ["historic" if resolved_at is not None else "finding"],
                "collected": detected_at.isoformat(),
            }
            if subjects[pk]:
                observation["subjects"] = [
                    {"subject-uuid": uuid_for("asset", asset_id), "type": "inventory-item"}
                    for asset_id in subjects[pk]
                ]
            observations.append(observation)
    return {"observations": observations}


# ---- their timeline, reviews and follow-ups ----------------------------------------------------------

TIMELINE_FIELDS = ("id", "incident_id", "at", "recorded_at", "kind", "actor_label", "text")


def _timeline(ctx: SectionContext) -> QuerySet[Any]:
    from incidents.models import TimelineEntry

    return TimelineEntry.objects.filter(
        incident__in=period_incidents(ctx).values("pk"), at__lt=ctx.period.end
    )


def _timeline_rows(ctx: SectionContext) -> Iterator[Sequence[Any]]:
    return (
        _timeline(ctx)
        .order_by("incident_id", "at", "id")
        .values_list(*TIMELINE_FIELDS)
        .iterator(chunk_size=2000)
    )


REVIEW_FIELDS = (
    *("incident_id", "root_cause", "lessons", "summary", "published_summary", "published_at"),
    *("author__username", "updated_at"),
)


def _reviews(ctx: SectionContext) -> QuerySet[Any]:
    from incidents.models import Review

    return Review.objects.filter(incident__in=period_incidents(ctx).values("pk"))


def _review_rows(ctx: SectionContext) -> Iterator[Sequence[Any]]:
    return _reviews(ctx).order_by("incident_id").values_list(*REVIEW_FIELDS).iterator(chunk_size=CHUNK)


FOLLOWUP_FIELDS = (
    *("id", "incident_id", "exercise_id", "title", "owner__username", "due_on", "done_at"),
    *("created_by__username", "created_at"),
)


def _followups(ctx: SectionContext) -> QuerySet[Any]:
    from incidents.models import FollowUp

    return FollowUp.objects.filter(
        Q(incident__in=period_incidents(ctx).values("pk")) | Q(exercise__in=_exercises(ctx).values("pk"))
    ).filter(created_at__lt=ctx.period.end)


def _followup_rows(ctx: SectionContext) -> Iterator[Sequence[Any]]:
    end_day = (ctx.period.end - dt.timedelta(days=1)).date()
    for row in _followups(ctx).order_by("id").values_list(*FOLLOWUP_FIELDS).iterator(chunk_size=CHUNK):
        due_on, done_at = row[5], row[6]
        overdue = due_on < end_day and (done_at is None or timezone.localdate(done_at) > due_on)
        yield (*row, overdue)


def _followup_figures(ctx: SectionContext) -> list[Figure]:
    end_day = (ctx.period.end - dt.timedelta(days=1)).date()
    counts = _followups(ctx).aggregate(
        total=Count("id"),
        done=Count("id", filter=Q(done_at__lt=ctx.period.end)),
        overdue=Count(
            "id", filter=Q(due_on__lt=end_day) & (Q(done_at__isnull=True) | Q(done_at__gte=ctx.period.end))
        ),
    )
    return [
        Figure(
            "Follow-up actions",
            counts["total"],
            "Decided in reviews of the period's incidents or in its exercises.",
        ),
        Figure("Done by period end", counts["done"], "Follow-ups marked done before the end of the period."),
        Figure(
            "Overdue at period end", counts["overdue"], "Not done by the end of the period, due before it."
        ),
    ]


# ---- exercises held in the period ---------------------------------------------------------------------

EXERCISE_FIELDS = (
    *("id", "team__slug", "playbook__slug", "version__number", "kind", "held_on", "scenario"),
    *("gaps_found", "recorded_by__username", "created_at"),
)


def _exercises(ctx: SectionContext) -> QuerySet[Any]:
    from incidents.selectors import exercise_list_for_user

    start, end = ctx.period.start.date(), (ctx.period.end - dt.timedelta(days=1)).date()
    return exercise_list_for_user(user=ctx.user).filter(held_on__gte=start, held_on__lte=end)


def _exercise_rows(ctx: SectionContext) -> Iterator[Sequence[Any]]:
    from incidents.models import ExerciseParticipant

    rows = _exercises(ctx).order_by("id").values_list(*EXERCISE_FIELDS).iterator(chunk_size=CHUNK)
    for chunk in _chunks(rows, CHUNK):
        people: dict[int, list[str]] = defaultdict(list)
        for exercise_id, username in (
            ExerciseParticipant.objects.filter(exercise_id__in=[row[0] for row in chunk])
            .order_by("exercise_id", "user__username")
            .values_list("exercise_id", "user__username")
        ):
            people[exercise_id].append(username)
        for row in chunk:
            yield (*row, "; ".join(people[row[0]]))


def _exercise_figures(ctx: SectionContext) -> list[Figure]:
    from incidents.models import ExerciseKind

    exercises = _exercises(ctx)
    by_kind = dict(exercises.order_by().values_list("kind").annotate(n=Count("id")))
    teams = exercises.order_by().values("team_id").distinct().count()
    return [
        *(
            Figure(f"{label}s held", by_kind.get(value, 0), f"{label}s held within the period.")
            for value, label in ExerciseKind.choices
        ),
        Figure("Teams that exercised", teams, "Teams in scope with at least one exercise in the period."),
    ]


def _exercise_oscal(ctx: SectionContext, uuid_for: Callable[..., str]) -> dict[str, list[dict[str, Any]]]:
    observations = []
    tz = timezone.get_current_timezone()
    for pk, team, playbook, kind, held_on in (
        _exercises(ctx).order_by("id").values_list("id", "team__slug", "playbook__slug", "kind", "held_on")
    ):
        observations.append(
            {
                "uuid": uuid_for("exercise", pk),
                "title": f"{kind} exercise of playbook {playbook} by team {team}"[:500],
                "description": f"Incident-response exercise ({kind}) held on {held_on.isoformat()}.",
                "props": [
                    {"name": "exercise-id", "value": str(pk)},
                    {"name": "exercise-kind", "value": str(kind)},
                ],
                "methods": ["TEST"],
                "types": ["historic"],
                "collected": dt.datetime.combine(held_on, dt.time.min, tzinfo=tz).isoformat(),
            }
        )
    return {"observations": observations}


def _strip(name: str) -> str:
    for suffix in ("__slug", "__username", "__number"):
        name = name.replace(suffix, "")
    return name


def install_sections() -> None:
    section_register(
        Section(
            key="incidents",
            title="Incidents during the period",
            columns=INCIDENT_COLUMNS,
            rows=_incident_rows,
            count=lambda ctx: period_incidents(ctx).count(),
            figures=_incident_figures,
            chart=_incident_chart,
            oscal=_incident_oscal,
        )
    )
    section_register(
        Section(
            key="incident-timeline",
            title="Timelines of the period's incidents",
            columns=tuple(_strip(name) for name in TIMELINE_FIELDS),
            rows=_timeline_rows,
            count=lambda ctx: _timeline(ctx).count(),
        )
    )
    section_register(
        Section(
            key="incident-reviews",
            title="Post-incident reviews",
            columns=tuple(_strip(name) for name in REVIEW_FIELDS),
            rows=_review_rows,
            count=lambda ctx: _reviews(ctx).count(),
            figures=lambda ctx: [
                Figure(
                    "Incidents reviewed",
                    _reviews(ctx).count(),
                    "Incidents of the period with a post-incident review (root cause, lessons).",
                )
            ],
        )
    )
    section_register(
        Section(
            key="incident-followups",
            title="Follow-up actions of incidents and exercises",
            columns=(*(_strip(name) for name in FOLLOWUP_FIELDS), "overdue_at_period_end"),
            rows=_followup_rows,
            count=lambda ctx: _followups(ctx).count(),
            figures=_followup_figures,
        )
    )
    section_register(
        Section(
            key="exercises",
            title="Exercises held during the period",
            columns=(*(_strip(name) for name in EXERCISE_FIELDS), "participants"),
            rows=_exercise_rows,
            count=lambda ctx: _exercises(ctx).count(),
            figures=_exercise_figures,
            oscal=_exercise_oscal,
        )
    )


# ---- the incidents list in the exports ----------------------------------------------------------------

EXPORT_COLUMNS = (
    ("id", "id"),
    ("reference", "reference"),
    ("team", "team__slug"),
    ("title", "title"),
    ("category", "category"),
    ("severity", "severity"),
    ("status", "status"),
    ("restricted", "is_restricted"),
    ("reporter", "reporter__username"),
    ("commander", "commander__username"),
    ("occurred_at", "occurred_at"),
    ("detected_at", "detected_at"),
    ("reported_at", "reported_at"),
    ("acknowledged_at", "acknowledged_at"),
    ("contained_at", "contained_at"),
    ("resolved_at", "resolved_at"),
    ("closed_at", "closed_at"),
    ("escalation_level", "escalation_level"),
    ("description", "description"),
)


def _as_list(params: Mapping[str, Any], key: str) -> list[str]:
    getlist = getattr(params, "getlist", None)
    raw = getlist(key) if getlist is not None else params.get(key) or []
    if isinstance(raw, str):
        raw = [raw]
    return [item.strip() for value in raw for item in str(value).split(",") if item.strip()]


def _truthy(value: Any) -> bool:
    return str(value or "").lower() in ("1", "true", "yes", "on")


def export_filters(user: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    """The list page's filters (and the API's: several values, since/until) from a query; unknown values
    are dropped rather than widening anything (permissions still narrow every row)."""
    from incidents.models import Category, Severity, Status

    filters: dict[str, Any] = {}
    statuses = _as_list(params, "status")
    if "open" in statuses or _truthy(params.get("open")):
        filters["open"] = True
    statuses = [value for value in statuses if value in Status.values]
    if statuses:
        filters["status"] = statuses
    for key, allowed in (("severity", Severity.values), ("category", Category.values)):
        values = [value for value in _as_list(params, key) if value in allowed]
        if values:
            filters[key] = values
    for key in ("q", "team"):
        if params.get(key):
            filters[key] = str(params[key])[:200]
    period = str(params.get("period") or "")
    if period.isdigit():
        filters["since"] = timezone.localdate() - dt.timedelta(days=int(period))
    for key in ("since", "until"):
        with contextlib.suppress(ValueError):
            filters[key] = dt.date.fromisoformat(str(params.get(key) or "").strip())
    if _truthy(params.get("escalated")):
        filters["escalated"] = True
    return filters


def export_queryset(user: Any, filters: Mapping[str, Any]) -> QuerySet[Any]:
    from incidents.selectors import incident_list_for_user

    return incident_list_for_user(user=user, filters=filters).annotate(
        reference=Concat(Value("INC-"), Cast("id", CharField()), output_field=CharField())
    )


def install_exports() -> None:
    export_register(
        ExportList(
            key="incidents",
            title="Incidents",
            object_type="incidents_incident",
            columns=EXPORT_COLUMNS,
            queryset=export_queryset,
            parse_filters=export_filters,
            list_url_name="incidents:list",
        )
    )
