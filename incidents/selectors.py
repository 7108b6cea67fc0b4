"""Permission-aware reads of incidents, playbooks, exercises, follow-ups and learnings.

Incidents are scoped by their team like assets: a restricted incident (one touching a restricted asset) is
visible only to its team, security leads and people granted it by name, to auditors only inside an audit
engagement that opens restricted data, never to other teams.
Everything read from an incident (timeline, findings, checklist, review, follow-ups) goes through
``incident_get_for_user`` first. Playbooks and published learnings are policy, readable by everyone
signed in. Exercises are their team's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import (
    Case,
    Count,
    Exists,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from assets.models import Asset, ClassificationLevel
from hygiene.models import Membership
from hygiene.permissions import can_change, engagement_scope, is_active_user, scope_queryset
from incidents.models import (
    OPEN_STATUSES,
    ChecklistItem,
    Escalation,
    Exercise,
    FollowUp,
    Incident,
    IncidentAsset,
    IncidentFinding,
    Playbook,
    PlaybookRun,
    PlaybookVersion,
    Review,
    Severity,
    Status,
    TimelineEntry,
)

SEVERITY_RANK = {Severity.CRITICAL: 4, Severity.HIGH: 3, Severity.MEDIUM: 2, Severity.LOW: 1}
LIST_FIELDS = (
    *(
        "id",
        "team_id",
        "team__name",
        "team__slug",
        "title",
        "category",
        "severity",
        "status",
        "is_restricted",
    ),
    *("occurred_at", "detected_at", "reported_at", "acknowledged_at", "contained_at", "resolved_at"),
    *("closed_at", "escalation_level", "commander_id", "commander__username"),
)


def visible_incidents(user: Any) -> QuerySet[Incident]:
    """Every incident ``user`` may see (the one door of incidents).

    An audit engagement narrowed to environments sees the incidents that touched an asset of one of them,
    and those with no affected asset recorded (as objects without an environment stay in a team's scope).
    """
    scope = engagement_scope(user)
    if scope is None or not scope.environments:
        return scope_queryset(
            Incident.objects.all(),
            user,
            team_field="team",
            restricted_field="is_restricted",
            grant_perm="incidents.view_incident",
        )
    # Several affected assets join to several rows: the narrowed set is taken by key, so each incident
    # stays one row for lists and counts.
    scoped = scope_queryset(
        Incident.objects.all(),
        user,
        team_field="team",
        restricted_field="is_restricted",
        grant_perm="incidents.view_incident",
        environment_field="affected_assets__environment",
    )
    return Incident.objects.filter(pk__in=scoped.values("pk"))


def _parse_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value or "").strip())
    except ValueError:
        return None


def _as_list(value: Any) -> list[str]:
    if not value:
        return []
    if isinstance(value, str):
        return [item for item in value.split(",") if item]
    return [str(item) for item in value if item]


def _without_nul(filters: Mapping[str, Any]) -> dict[str, Any]:
    """The filters with NUL characters dropped: psycopg2 refuses a query parameter holding one (a 500),
    and PostgreSQL text cannot store one, so no row could have matched it anyway."""

    def clean(value: Any) -> Any:
        if isinstance(value, str):
            return value.replace("\x00", "")
        if isinstance(value, list | tuple):
            return [clean(item) for item in value]
        return value

    return {key: clean(value) for key, value in filters.items()}


def _apply_filters(incidents: QuerySet[Incident], filters: Mapping[str, Any]) -> QuerySet[Incident]:
    filters = _without_nul(filters)
    for field in ("status", "severity", "category"):
        values = _as_list(filters.get(field))
        if values:
            incidents = incidents.filter(**{f"{field}__in": values})
    if filters.get("open"):
        incidents = incidents.filter(status__in=OPEN_STATUSES)
    if filters.get("team"):
        incidents = incidents.filter(team__slug=filters["team"])
    since = _parse_date(filters.get("since"))
    if since:
        incidents = incidents.filter(detected_at__date__gte=since)
    until = _parse_date(filters.get("until"))
    if until:
        incidents = incidents.filter(detected_at__date__lte=until)
    if filters.get("escalated"):
        incidents = incidents.filter(escalation_level__gt=0)
    query = str(filters.get("q") or "").strip()
    if query:
        reference = query.upper().removeprefix("INC-")
        condition = Q(title__icontains=query)
        if reference.isdigit():
            condition |= Q(pk=int(reference))
        incidents = incidents.filter(condition)
    return incidents


def incident_list_for_user(*, user: Any, filters: Mapping[str, Any] | None = None) -> QuerySet[Incident]:
    """The incidents ``user`` may see, filtered like the list page, newest first."""
    incidents = _apply_filters(visible_incidents(user), filters or {})
    return incidents.select_related("team", "commander").only(*LIST_FIELDS).order_by("-reported_at", "-id")


def incident_counts_for_user(*, user: Any, filters: Mapping[str, Any] | None = None) -> dict[str, int]:
    """Totals per status over the incidents the list shows (its status filter left out)."""
    unfiltered = {key: value for key, value in (filters or {}).items() if key != "status"}
    rows = (
        _apply_filters(visible_incidents(user), unfiltered)
        .values("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = {status: 0 for status in Status.values}
    counts.update({row["status"]: row["n"] for row in rows})
    return counts


def incident_total(*, counts: Mapping[str, int], filters: Mapping[str, Any] | None = None) -> int:
    """How many incidents the list matches, from ``incident_counts_for_user``'s counts per status (which
    leave the status filter out): the sum over the statuses the filter keeps, or over all of them."""
    statuses = _as_list((filters or {}).get("status"))
    return sum(n for status, n in counts.items() if not statuses or status in statuses)


def _count_of(model: Any) -> Any:
    rows = model.objects.filter(incident=OuterRef("pk")).order_by().values("incident")
    return Coalesce(Subquery(rows.annotate(n=Count("id")).values("n"), output_field=IntegerField()), 0)


def _confidential_rank_subquery() -> Subquery:
    """``confidential_rank()`` as SQL, so the incident page reads the ladder with the incident."""
    non_restricted = ClassificationLevel.objects.filter(is_restricted=False).order_by()
    ladder = non_restricted.annotate(whole=Value(1)).values("whole")
    top = Case(When(Q(n__gte=3), then=Max("rank")), default=None, output_field=IntegerField())
    ranked = ladder.annotate(n=Count("id")).annotate(top=top).values("top")
    return Subquery(ranked, output_field=IntegerField())


def incident_get_for_user(*, user: Any, pk: int, with_counts: bool = False) -> Incident:
    """The incident, or 404 when the user may not see it (so its existence is not revealed).

    ``with_counts`` adds ``asset_count`` and ``finding_count``, whether a playbook runs or a follow-up
    exists, the review, and the classification ladder's confidential rank: the page then skips the reads
    of what is empty (each query is a round trip, which on a loaded server costs more than the work).
    """
    incidents = visible_incidents(user).select_related("team", "reporter", "commander")
    if with_counts:
        incidents = incidents.select_related("review").annotate(
            asset_count=_count_of(IncidentAsset),
            finding_count=_count_of(IncidentFinding),
            has_run=Exists(PlaybookRun.objects.filter(incident=OuterRef("pk"))),
            has_followups=Exists(FollowUp.objects.filter(incident=OuterRef("pk"))),
            confidential_rank=_confidential_rank_subquery(),
        )
    incident = incidents.filter(pk=pk).first()
    if incident is None:
        raise Http404("No such incident.")
    return incident


def incident_may_manage(*, user: Any, incident: Incident) -> bool:
    """Champions and leads of the team, security leads, grants, and the incident's commander manage it."""
    if can_change(user, incident, team_id=incident.team_id, grant_perm="incidents.change_incident"):
        return True
    return bool(
        incident.commander_id is not None
        and incident.commander_id == getattr(user, "pk", None)
        and can_change_as_commander(user, incident)
    )


def can_change_as_commander(user: Any, incident: Incident) -> bool:
    from hygiene.permissions import is_auditor, token_allows, token_team_id

    if not is_active_user(user) or is_auditor(user) or not token_allows(user, "write"):
        return False
    narrowed = token_team_id(user)
    if narrowed is not None and narrowed != incident.team_id:
        return False
    return Membership.objects.filter(team_id=incident.team_id, user_id=user.pk).exists()


def timeline_for_incident(*, incident: Incident) -> QuerySet[TimelineEntry]:
    return TimelineEntry.objects.filter(incident=incident).order_by("at", "id")


def affected_assets_for_user(*, user: Any, incident: Incident) -> list[Asset]:
    """The affected assets; one the user may not see is left out (the page says how many)."""
    from assets.selectors import visible_assets

    if getattr(incident, "asset_count", None) == 0:
        return []  # counted with the incident (``with_counts``): nothing to read
    return list(
        visible_assets(user)
        .filter(incident_links__incident=incident)
        .select_related("effective_classification", "team")
        .order_by("name")
    )


def hidden_asset_count(*, user: Any, incident: Incident, shown: int) -> int:
    total = getattr(incident, "asset_count", None)
    return max(0, (incident.asset_links.count() if total is None else total) - shown)


def highest_level(*, incident: Incident) -> ClassificationLevel | None:
    """The highest effective classification among the affected assets (all of them, seen or not)."""
    return (
        ClassificationLevel.objects.filter(effective_assets__incident_links__incident=incident)
        .order_by("-rank")
        .first()
    )


def linked_findings_for_user(*, user: Any, incident: Incident) -> QuerySet[IncidentFinding]:
    from findings.selectors import finding_list_for_user

    if getattr(incident, "finding_count", None) == 0:
        return IncidentFinding.objects.none()
    visible = finding_list_for_user(user=user).values("pk")
    return (
        IncidentFinding.objects.filter(incident=incident, finding__in=visible)
        .select_related("finding", "finding__asset", "linked_by")
        .order_by("linked_at")
    )


def checklist_for_incident(*, incident: Incident) -> QuerySet[ChecklistItem]:
    if getattr(incident, "has_run", None) is False:
        return ChecklistItem.objects.none()  # known with the incident (``with_counts``): no playbook runs
    return (
        ChecklistItem.objects.filter(run__incident=incident)
        .select_related("done_by", "run__version__playbook", "run__started_by")
        .order_by("position")
    )


def escalations_for_incident(*, incident: Incident) -> QuerySet[Escalation]:
    return Escalation.objects.filter(incident=incident).select_related("item").order_by("fired_at", "id")


def team_memberships(*, incident: Incident) -> list[Membership]:
    """Every membership of the incident's team with its person, read once for the page's choices."""
    return list(
        Membership.objects.filter(team_id=incident.team_id).select_related("user").order_by("user__username")
    )


def commander_choices(
    *, incident: Incident, memberships: list[Membership] | None = None
) -> list[tuple[int, str]]:
    """(user id, label) of the team's active people, who alone may command its incidents.

    ``memberships``: the team's memberships from ``team_memberships``, when the caller has them already.
    """
    rows = team_memberships(incident=incident) if memberships is None else memberships
    return [
        (m.user_id, f"{m.user.get_username()} ({m.get_role_display()})") for m in rows if m.user.is_active
    ]


@dataclass(frozen=True)
class Durations:
    to_detect: dt.timedelta | None
    to_report: dt.timedelta | None
    to_acknowledge: dt.timedelta | None
    to_contain: dt.timedelta | None
    to_resolve: dt.timedelta | None
    open_for: dt.timedelta | None

    def items(self) -> list[tuple[str, dt.timedelta | None, str]]:
        return [
            ("Time to detect", self.to_detect, "noticed − happened"),
            ("Time to report", self.to_report, "reported − noticed"),
            ("Time to acknowledge", self.to_acknowledge, "acknowledged − reported"),
            ("Time to contain", self.to_contain, "contained − noticed"),
            ("Time to resolve", self.to_resolve, "resolved − noticed"),
            ("Open for", self.open_for, "now − noticed, until resolved"),
        ]


def incident_durations(*, incident: Incident, now: dt.datetime | None = None) -> Durations:
    """The durations so far; a stage not reached yet has none."""
    now = now or timezone.now()

    def since(end: dt.datetime | None, start: dt.datetime | None) -> dt.timedelta | None:
        return end - start if end is not None and start is not None else None

    return Durations(
        to_detect=since(incident.detected_at, incident.occurred_at),
        to_report=since(incident.reported_at, incident.detected_at),
        to_acknowledge=since(incident.acknowledged_at, incident.reported_at),
        to_contain=since(incident.contained_at, incident.detected_at),
        to_resolve=since(incident.resolved_at, incident.detected_at),
        open_for=None if incident.resolved_at else since(now, incident.detected_at),
    )


# ---- playbooks ---------------------------------------------------------------------------------------


def playbook_list() -> QuerySet[Playbook]:
    """Playbooks are policy, readable by everyone signed in."""
    return Playbook.objects.select_related("current_version").order_by("title")


def playbook_get(*, slug: str) -> Playbook:
    playbook = playbook_list().filter(slug=slug).first()
    if playbook is None:
        raise Http404("No such playbook.")
    return playbook


def playbook_version_get(*, playbook: Playbook, number: int | None = None) -> PlaybookVersion:
    versions = PlaybookVersion.objects.filter(playbook=playbook).prefetch_related(
        "steps", "escalation_levels"
    )
    version = versions.filter(number=number).first() if number else versions.order_by("-number").first()
    if version is None:
        raise Http404("No such playbook version.")
    return version


def playbook_for_category(*, category: str) -> Playbook | None:
    """The playbook that covers ``category`` (the first by title when several do)."""
    return (
        Playbook.objects.filter(categories__contains=[category], current_version__isnull=False)
        .select_related("current_version")
        .order_by("title")
        .first()
    )


# ---- exercises ----------------------------------------------------------------------------------------


def exercise_list_for_user(*, user: Any, filters: Mapping[str, Any] | None = None) -> QuerySet[Exercise]:
    filters = _without_nul(filters or {})
    exercises = scope_queryset(Exercise.objects.all(), user, team_field="team")
    if filters.get("team"):
        exercises = exercises.filter(team__slug=filters["team"])
    if filters.get("playbook"):
        exercises = exercises.filter(playbook__slug=filters["playbook"])
    if filters.get("kind"):
        exercises = exercises.filter(kind=filters["kind"])
    return exercises.select_related("team", "playbook", "version").order_by("-held_on", "-id")


def exercise_get_for_user(*, user: Any, pk: int) -> Exercise:
    exercise = exercise_list_for_user(user=user).filter(pk=pk).first()
    if exercise is None:
        raise Http404("No such exercise.")
    return exercise


def _latest(exercises: QuerySet[Exercise], key: str) -> dict[int, Exercise]:
    latest: dict[int, Exercise] = {}
    rows = exercises.order_by(key, "-held_on", "-id").distinct(key)
    for exercise in rows.select_related("team", "playbook"):
        latest[getattr(exercise, key)] = exercise
    return latest


def exercise_last_by_team_for_user(*, user: Any) -> dict[int, Exercise]:
    """The last exercise of each team the user sees, by team id."""
    return _latest(scope_queryset(Exercise.objects.all(), user, team_field="team"), "team_id")


def exercise_last_by_playbook_for_user(*, user: Any) -> dict[int, Exercise]:
    """The last exercise of each playbook among the exercises the user sees, by playbook id."""
    return _latest(scope_queryset(Exercise.objects.all(), user, team_field="team"), "playbook_id")


def exercise_last_held_by_team(
    *, team_ids: list[int] | None = None, kind: str | None = None
) -> dict[int, dt.date]:
    """When each team last exercised incident response (any playbook); the controls' assessment reads it.

    Not scoped to a person: assessments run as the system and decide per team.
    """
    exercises = Exercise.objects.all()
    if team_ids is not None:
        exercises = exercises.filter(team_id__in=team_ids)
    if kind:
        exercises = exercises.filter(kind=kind)
    rows = exercises.values("team_id").annotate(last=Max("held_on")).order_by()
    return {row["team_id"]: row["last"] for row in rows}


def exercise_last_held_by_playbook(*, team_id: int | None = None) -> dict[int, dt.date]:
    """When each playbook was last exercised (by one team, or by any), by playbook id."""
    exercises = Exercise.objects.all()
    if team_id is not None:
        exercises = exercises.filter(team_id=team_id)
    rows = exercises.values("playbook_id").annotate(last=Max("held_on")).order_by()
    return {row["playbook_id"]: row["last"] for row in rows}


# ---- follow-ups and learnings --------------------------------------------------------------------------


def followups_for_incident(*, incident: Incident) -> QuerySet[FollowUp]:
    if getattr(incident, "has_followups", None) is False:
        return FollowUp.objects.none()  # known with the incident (``with_counts``)
    return FollowUp.objects.filter(incident=incident).select_related("owner").order_by("due_on", "id")


def followups_for_exercise(*, exercise: Exercise) -> QuerySet[FollowUp]:
    return FollowUp.objects.filter(exercise=exercise).select_related("owner").order_by("due_on", "id")


def overdue_followups_for_owner(*, user: Any) -> QuerySet[FollowUp]:
    """The person's own open follow-ups past their due date, on incidents and exercises they still see."""
    if not is_active_user(user):
        return FollowUp.objects.none()
    return (
        FollowUp.objects.filter(owner_id=user.pk, done_at__isnull=True, due_on__lt=timezone.localdate())
        .filter(
            Q(incident__in=visible_incidents(user).values("pk"))
            | Q(exercise__in=scope_queryset(Exercise.objects.all(), user, team_field="team").values("pk"))
        )
        .select_related("incident", "exercise", "exercise__playbook")
        .order_by("due_on", "id")
    )


def followup_get_for_user(*, user: Any, pk: int) -> FollowUp:
    followup = FollowUp.objects.filter(pk=pk).select_related("incident", "exercise", "owner").first()
    if followup is None:
        raise Http404("No such follow-up.")
    if followup.incident_id is not None:
        incident_get_for_user(user=user, pk=followup.incident_id)
    elif followup.exercise_id is not None:
        exercise_get_for_user(user=user, pk=followup.exercise_id)
    return followup


def learning_list() -> QuerySet[Review]:
    """Published anonymized summaries, for everyone signed in (no team, person or asset named)."""
    return (
        Review.objects.filter(published_at__isnull=False)
        .select_related("incident")
        .only(
            "id",
            "published_summary",
            "published_at",
            "incident__category",
            "incident__severity",
            "incident__detected_at",
        )
        .order_by("-published_at", "-id")
    )


def review_for_incident(*, incident: Incident) -> Review | None:
    try:
        return incident.review  # read with the incident by ``with_counts``, else one query
    except Review.DoesNotExist:
        return None


# ---- the report form's help ------------------------------------------------------------------------


def confidential_rank(*, incident: Incident | None = None) -> int | None:
    """The rank from which a non-restricted level counts as confidential, read from ranks, not names.

    With the default ladder (public < internal < confidential < restricted) it is the highest level below
    the restricted ones; with fewer than three non-restricted levels no level is confidential.
    ``incident``: one read with ``with_counts``, which carries the rank already.
    """
    if incident is not None and hasattr(incident, "confidential_rank"):
        known: int | None = incident.confidential_rank
        return known
    ranks = list(
        ClassificationLevel.objects.filter(is_restricted=False)
        .order_by("rank")
        .values_list("rank", flat=True)
    )
    return ranks[-1] if len(ranks) >= 3 else None


def level_sensitivity(level: ClassificationLevel | None, *, threshold: int | None) -> str:
    """ "restricted", "confidential" or "" for a level (by ``is_restricted`` and rank only)."""
    if level is None:
        return ""
    if level.is_restricted:
        return "restricted"
    if threshold is not None and level.rank >= threshold:
        return "confidential"
    return ""


def asset_options_for_report(*, user: Any, limit: int = 300) -> list[dict[str, Any]]:
    """Active assets the user may name in a report, their own teams' first, with how sensitive each is."""
    from django.db.models import Case, IntegerField, Value, When

    from assets.selectors import visible_assets
    from hygiene.permissions import member_team_ids

    own = Case(
        When(team_id__in=member_team_ids(user), then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    threshold = confidential_rank()
    assets = (
        visible_assets(user)
        .filter(lifecycle="active")
        .annotate(own=own)
        .select_related("effective_classification", "team")
        .only(
            "id",
            "name",
            "team__name",
            "effective_classification__rank",
            "effective_classification__is_restricted",
        )
        .order_by("own", "name")[:limit]
    )
    return [
        {
            "id": asset.pk,
            "name": asset.name,
            "team": asset.team.name,
            "sensitivity": level_sensitivity(asset.effective_classification, threshold=threshold),
        }
        for asset in assets
    ]


def assets_by_names_for_user(
    *, user: Any, names: list[str], team_id: int | None = None
) -> tuple[list[int], list[str]]:
    """Resolve typed asset names to ids the user may see; return (ids, errors)."""
    from assets.selectors import visible_assets

    ids: list[int] = []
    errors: list[str] = []
    for name in names:
        matches = list(visible_assets(user).filter(name__iexact=name).values_list("pk", "team_id")[:20])
        if len(matches) > 1 and team_id is not None:
            matches = [match for match in matches if match[1] == team_id] or matches
        if not matches:
            errors.append(f"No asset you can see is named “{name}”.")
        elif len(matches) > 1:
            errors.append(f"Several assets are named “{name}”; report it from the asset's team.")
        else:
            ids.append(matches[0][0])
    return ids, errors
