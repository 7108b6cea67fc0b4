"""Permission-aware reads of controls, assessments, evidence, exceptions and compliance.

Assessments and exceptions carry their team and whether their asset is restricted, so the one
visibility rule (``scope_queryset``) is one indexed filter; assets granted to a person by name bring
their assessments and exceptions with them. Compliance numbers are read from ``ComplianceCount``
through the same rule, so nobody counts what they could not list.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet, Sum
from django.http import Http404
from guardian.shortcuts import get_objects_for_user

from controls.models import (
    COUNTED_STATUSES,
    Assessment,
    AssessmentStatus,
    ComplianceCount,
    Control,
    ControlMapping,
    ControlOwnership,
    Domain,
    Evidence,
    Framework,
    Requirement,
    RiskException,
)
from hygiene.models import Team
from hygiene.permissions import is_active_user, scope_queryset, token_team_id

# A framework with more requirements than this shows its top-level groups first, one opened at a time.
TREE_LIMIT = 300


def _granted_asset_ids(user: Any) -> list[int]:
    if not is_active_user(user) or token_team_id(user) is not None:
        return []
    cached: list[int] | None = getattr(user, "_controls_granted_assets", None)
    if cached is None:
        from assets.models import Asset

        granted = get_objects_for_user(
            user, "assets.view_asset", klass=Asset, accept_global_perms=False, with_superuser=False
        )
        cached = list(granted.values_list("pk", flat=True))
        user._controls_granted_assets = cached
    return cached


def visible_assessments(user: Any) -> QuerySet[Assessment]:
    scoped = scope_queryset(Assessment.objects.all(), user, team_field="team", restricted_field="restricted")
    granted = _granted_asset_ids(user)
    if granted:
        scoped = scoped | Assessment.objects.filter(asset_id__in=granted)
    return scoped


def visible_exceptions(user: Any) -> QuerySet[RiskException]:
    scoped = scope_queryset(
        RiskException.objects.all(), user, team_field="team", restricted_field="restricted"
    )
    granted = _granted_asset_ids(user)
    if granted:
        scoped = scoped | RiskException.objects.filter(asset_id__in=granted)
    return scoped


def visible_counts(user: Any) -> QuerySet[ComplianceCount]:
    return scope_queryset(
        ComplianceCount.objects.all(), user, team_field="team", restricted_field="restricted"
    )


# --- controls and frameworks (the catalogue is public to everyone signed in) ---------------------------


def control_list(
    *, include_retired: bool = False, filters: Mapping[str, str] | None = None
) -> QuerySet[Control]:
    filters = filters or {}
    controls = (
        Control.objects.all() if include_retired or filters.get("retired") else Control.objects.active()
    )
    if filters.get("retired"):
        controls = controls.filter(retired_at__isnull=False)
    for key in ("domain", "mode", "scope"):
        if filters.get(key):
            controls = controls.filter(**{key: filters[key]})
    if filters.get("q"):
        text = filters["q"].strip()
        controls = controls.filter(Q(code__icontains=text) | Q(title__icontains=text))
    return controls.select_related("min_classification").order_by("code")


def control_get(*, code: str) -> Control:
    control = Control.objects.select_related("min_classification").filter(code=code).first()
    if control is None:
        raise Http404("No such control.")
    return control


def control_mappings(*, control: Control) -> QuerySet[ControlMapping]:
    return control.mappings.select_related("requirement", "requirement__framework").order_by(
        "requirement__framework__name", "requirement__position"
    )


def framework_list() -> QuerySet[Framework]:
    return Framework.objects.order_by("name")


def framework_get(*, slug: str) -> Framework:
    framework = Framework.objects.filter(slug=slug).first()
    if framework is None:
        raise Http404("No such framework.")
    return framework


def requirement_search(*, text: str, limit: int = 20) -> QuerySet[Requirement]:
    text = text.strip()
    return (
        Requirement.objects.filter(
            Q(identifier__iexact=text) | Q(label__iexact=text) | Q(title__icontains=text)
        )
        .select_related("framework")
        .order_by("framework__name", "position")[:limit]
    )


# --- compliance -----------------------------------------------------------------------------------


@dataclass
class Tally:
    """Assessments by status; ``share`` is passing over everything that applies."""

    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, status: str, n: int) -> None:
        self.counts[status] += n

    def merge(self, other: Tally) -> None:
        for status, n in other.counts.items():
            self.counts[status] += n

    @property
    def applicable(self) -> int:
        return sum(self.counts.get(s, 0) for s in COUNTED_STATUSES)

    @property
    def passing(self) -> int:
        return self.counts.get(AssessmentStatus.PASSING, 0)

    @property
    def failing(self) -> int:
        return self.counts.get(AssessmentStatus.FAILING, 0)

    @property
    def not_assessed(self) -> int:
        return self.counts.get(AssessmentStatus.NOT_ASSESSED, 0)

    @property
    def excepted(self) -> int:
        return self.counts.get(AssessmentStatus.EXCEPTED, 0)

    @property
    def share(self) -> float | None:
        return None if not self.applicable else round(100 * self.passing / self.applicable, 1)


def tallies_by_control(*, user: Any, team_id: int | None = None) -> dict[int, Tally]:
    counts = visible_counts(user)
    if team_id is not None:
        counts = counts.filter(team_id=team_id)
    tallies: dict[int, Tally] = defaultdict(Tally)
    rows = counts.values("control_id", "status").annotate(n=Sum("count")).order_by()
    for row in rows:
        tallies[row["control_id"]].add(row["status"], row["n"])
    return tallies


def tallies_by_team(*, user: Any) -> dict[int, Tally]:
    tallies: dict[int, Tally] = defaultdict(Tally)
    rows = visible_counts(user).filter(control__retired_at__isnull=True)
    for row in rows.values("team_id", "status").annotate(n=Sum("count")).order_by():
        tallies[row["team_id"]].add(row["status"], row["n"])
    return tallies


@dataclass
class ComplianceRow:
    key: str
    label: str
    tally: Tally
    query: str  # the assessment-list filter behind each number


def compliance_overview(*, user: Any) -> dict[str, list[ComplianceRow]]:
    """Compliance per framework, domain and team, each with the filter that lists its assessments."""
    by_control = tallies_by_control(user=user)
    controls = list(Control.objects.active().values_list("pk", "domain"))
    total = Tally()
    domains: dict[str, Tally] = defaultdict(Tally)
    for pk, domain in controls:
        if pk in by_control:
            domains[domain].merge(by_control[pk])
            total.merge(by_control[pk])
    frameworks = []
    mapped: dict[int, set[int]] = defaultdict(set)
    for framework_id, control_id in ControlMapping.objects.filter(
        control__retired_at__isnull=True
    ).values_list("requirement__framework_id", "control_id"):
        mapped[framework_id].add(control_id)
    for framework in framework_list():
        tally = Tally()
        for control_id in mapped.get(framework.pk, ()):
            if control_id in by_control:
                tally.merge(by_control[control_id])
        frameworks.append(ComplianceRow(framework.slug, framework.name, tally, f"framework={framework.slug}"))
    teams = {t.pk: t for t in Team.objects.all()}
    team_rows = [
        ComplianceRow(teams[pk].slug, teams[pk].name, tally, f"team={teams[pk].slug}")
        for pk, tally in sorted(tallies_by_team(user=user).items(), key=lambda item: teams[item[0]].name)
        if pk in teams
    ]
    return {
        "total": [ComplianceRow("all", "All controls", total, "")],
        "frameworks": frameworks,
        "domains": [
            ComplianceRow(value, label, domains[value], f"domain={value}") for value, label in Domain.choices
        ],
        "teams": team_rows,
    }


@dataclass
class TreeNode:
    requirement: dict[str, Any]
    controls: list[dict[str, Any]]
    tally: Tally
    subtree_controls: int
    children: list[TreeNode] = field(default_factory=list)


def framework_tree(*, user: Any, framework: Framework, group: str = "") -> tuple[list[TreeNode], bool]:
    """The framework's requirements as a tree with the controls mapped to each and the share passing.

    Large catalogs return only their top-level groups unless ``group`` names one to open. Returns the
    nodes to show and whether they are only the top level.
    """
    rows = list(
        Requirement.objects.filter(framework=framework)
        .order_by("position")
        .values("id", "parent_id", "identifier", "label", "title", "is_group", "withdrawn", "depth", "kind")
    )
    mapped: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for mapping in ControlMapping.objects.filter(
        requirement__framework=framework, control__retired_at__isnull=True
    ).values("requirement_id", "control_id", "control__code", "control__title"):
        mapped[mapping["requirement_id"]].append(dict(mapping))
    by_control = tallies_by_control(user=user)
    nodes = {row["id"]: TreeNode(dict(row), mapped.get(row["id"], []), Tally(), 0) for row in rows}
    roots: list[TreeNode] = []
    for row in rows:
        node = nodes[row["id"]]
        parent = nodes.get(row["parent_id"]) if row["parent_id"] else None
        (parent.children if parent else roots).append(node)
    for root in roots:
        _roll_up(root, by_control)
    top_only = len(rows) > TREE_LIMIT and not group
    if group:
        chosen = [n for n in roots if n.requirement["identifier"] == group]
        return chosen, False
    return roots, top_only


def _roll_up(node: TreeNode, by_control: dict[int, Tally]) -> set[int]:
    controls = {m["control_id"] for m in node.controls}
    for child in node.children:
        controls |= _roll_up(child, by_control)
    for control_id in controls:
        if control_id in by_control:
            node.tally.merge(by_control[control_id])
    node.subtree_controls = len(controls)
    return controls


def flatten(nodes: Iterable[TreeNode]) -> list[TreeNode]:
    out: list[TreeNode] = []
    for node in nodes:
        out.append(node)
        out.extend(flatten(node.children))
    return out


# --- assessments ------------------------------------------------------------------------------------

ASSESSMENT_FIELDS = (
    *("id", "control_id", "asset_id", "team_id", "restricted", "status", "reason", "due_on", "assessed_at"),
    *("changed_at", "exception_id", "control__code", "control__title", "control__mode", "control__domain"),
    *("control__scope", "asset__name", "asset__kind", "asset__environment", "team__name", "team__slug"),
    *("control__applies_to_kinds", "control__applies_to_environments", "control__min_classification_id"),
    "control__min_classification__name",
    "control__last_assessed_at",
)


def assessment_list_for_user(*, user: Any, filters: Mapping[str, Any] | None = None) -> QuerySet[Assessment]:
    """Assessments the user may see, filtered like the list page, worst first."""
    filters = filters or {}
    # Ids rather than a join: the count and the sort then need no other table.
    active = list(Control.objects.active().values_list("pk", flat=True))
    assessments = visible_assessments(user).filter(control_id__in=active)
    if filters.get("status"):
        assessments = assessments.filter(status=filters["status"])
    elif not filters.get("include_na"):
        assessments = assessments.exclude(status=AssessmentStatus.NOT_APPLICABLE)
    if filters.get("control"):
        assessments = assessments.filter(control__code=filters["control"])
    if filters.get("domain"):
        assessments = assessments.filter(control__domain=filters["domain"])
    if filters.get("mode"):
        assessments = assessments.filter(control__mode=filters["mode"])
    if filters.get("team"):
        assessments = assessments.filter(team__slug=filters["team"])
    asset = str(filters.get("asset") or "")
    if asset.isdigit():
        assessments = assessments.filter(asset_id=int(asset))
    if filters.get("environment"):
        assessments = assessments.filter(asset__environment=filters["environment"])
    if filters.get("framework"):
        controls = ControlMapping.objects.filter(requirement__framework__slug=filters["framework"])
        if filters.get("requirement"):
            subtree = requirement_subtree_ids(
                framework_slug=filters["framework"], identifier=filters["requirement"]
            )
            controls = controls.filter(requirement_id__in=subtree)
        assessments = assessments.filter(control_id__in=controls.values("control_id"))
    if filters.get("overdue"):
        from django.utils import timezone

        assessments = assessments.filter(due_on__lt=timezone.localdate())
    return (
        assessments.select_related("control", "control__min_classification", "asset", "team")
        .only(*ASSESSMENT_FIELDS)
        # By id: a run writes a control's results together, so rows come grouped by control, and a page
        # is a walk of the primary key that stops after it, not a sort of every matching row.
        .order_by("id")
    )


def requirement_subtree_ids(*, framework_slug: str, identifier: str) -> list[int]:
    rows = list(
        Requirement.objects.filter(framework__slug=framework_slug).values_list(
            "id", "parent_id", "identifier"
        )
    )
    children: dict[int | None, list[int]] = defaultdict(list)
    start = None
    for pk, parent, ident in rows:
        children[parent].append(pk)
        if ident == identifier:
            start = pk
    if start is None:
        return []
    out, stack = [], [start]
    while stack:
        pk = stack.pop()
        out.append(pk)
        stack.extend(children.get(pk, []))
    return out


def assessment_get_for_user(*, user: Any, pk: int) -> Assessment:
    assessment = (
        visible_assessments(user)
        .select_related("control", "asset", "team", "exception", "control__min_classification")
        .filter(pk=pk)
        .first()
    )
    if assessment is None:
        raise Http404("No such assessment.")
    return assessment


def assessments_for_asset(*, user: Any, asset_id: int) -> QuerySet[Assessment]:
    """The controls on one (visible) asset, applicable ones first."""
    return (
        visible_assessments(user)
        .filter(asset_id=asset_id, control__retired_at__isnull=True)
        .select_related("control", "control__min_classification")
        .order_by("control__code")
    )


def evidence_for_assessment(*, assessment: Assessment) -> QuerySet[Evidence]:
    """Evidence of an assessment the caller has already fetched through ``assessment_get_for_user``."""
    return assessment.evidence.select_related("collected_by").order_by("-collected_on", "-id")


def evidence_get_for_user(*, user: Any, pk: int) -> Evidence:
    evidence = (
        Evidence.objects.filter(pk=pk, assessment__in=visible_assessments(user))
        .select_related("assessment", "assessment__control", "assessment__asset")
        .first()
    )
    if evidence is None:
        raise Http404("No such evidence.")
    return evidence


# --- ownership and gaps -------------------------------------------------------------------------------


def ownership_for_team(*, team: Team) -> dict[int, ControlOwnership]:
    return {
        o.control_id: o
        for o in ControlOwnership.objects.filter(team=team).select_related("owner", "champion")
    }


def ownerships_for_control(*, user: Any, control: Control) -> QuerySet[ControlOwnership]:
    ownerships = scope_queryset(ControlOwnership.objects.filter(control=control), user, team_field="team")
    return ownerships.select_related("team", "owner", "champion").order_by("team__name")


@dataclass
class Gap:
    control: Control
    team: Team
    applicable: int
    failing: int
    ownership: ControlOwnership | None


def gaps_for_user(*, user: Any, team: Team | None = None) -> list[Gap]:
    """Controls that apply to a team's assets (or to the team) and have no owner there."""
    counts = (
        visible_counts(user)
        .filter(control__retired_at__isnull=True)
        .exclude(status=AssessmentStatus.NOT_APPLICABLE)
    )
    if team is not None:
        counts = counts.filter(team=team)
    applicable: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    for row in counts.values("team_id", "control_id", "status").annotate(n=Sum("count")).order_by():
        entry = applicable[(row["team_id"], row["control_id"])]
        entry[0] += row["n"]
        if row["status"] == AssessmentStatus.FAILING:
            entry[1] += row["n"]
    owned = {
        (o.team_id, o.control_id): o
        for o in ControlOwnership.objects.filter(team_id__in={t for t, _ in applicable}).select_related(
            "champion"
        )
    }
    controls = {c.pk: c for c in Control.objects.active()}
    teams = {t.pk: t for t in Team.objects.filter(pk__in={t for t, _ in applicable})}
    gaps = [
        Gap(controls[c], teams[t], n, failing, owned.get((t, c)))
        for (t, c), (n, failing) in applicable.items()
        if c in controls and t in teams and (owned.get((t, c)) is None or owned[(t, c)].owner_id is None)
    ]
    return sorted(gaps, key=lambda g: (g.team.name, g.control.code))


# --- exceptions -------------------------------------------------------------------------------------


def exception_list_for_user(
    *, user: Any, filters: Mapping[str, Any] | None = None
) -> QuerySet[RiskException]:
    filters = filters or {}
    exceptions = visible_exceptions(user)
    if filters.get("status"):
        exceptions = exceptions.filter(status=filters["status"])
    if filters.get("team"):
        exceptions = exceptions.filter(team__slug=filters["team"])
    asset = str(filters.get("asset") or "")
    if asset.isdigit():
        exceptions = exceptions.filter(asset_id=int(asset))
    return exceptions.select_related("asset", "team", "control", "requested_by", "decided_by").order_by(
        "-requested_at", "-id"
    )


def exception_get_for_user(*, user: Any, pk: int) -> RiskException:
    exception = (
        visible_exceptions(user)
        .select_related("asset", "asset__team", "team", "control", "requested_by", "decided_by")
        .filter(pk=pk)
        .first()
    )
    if exception is None:
        raise Http404("No such exception.")
    return exception


def exception_findings(*, exception: RiskException) -> list[Any]:
    from findings.models import Finding

    ids = list(exception.covered.values_list("finding_id", flat=True))
    return list(
        Finding.objects.filter(pk__in=ids).only("id", "rule_id", "title", "severity", "status", "sla_due")
    )


def exceptions_for_finding(*, user: Any, finding_id: int) -> QuerySet[RiskException]:
    return visible_exceptions(user).filter(covered__finding_id=finding_id).order_by("-requested_at")
