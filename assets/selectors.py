"""Permission-aware reads of the inventory: the one door every page, API view and export goes through.

Restricted assets (``is_restricted``: the effective level is restricted) are visible only to their
team, security leads and people granted them by name; they never appear in another team's lists,
searches, counts, lineage graphs or violations, not even as an anonymous node.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    TextField,
    Value,
    When,
)
from django.http import Http404

from assets.models import (
    Asset,
    ClassificationLevel,
    Criticality,
    Lifecycle,
    LineageEdge,
    PolicyViolation,
    TransformationLogEntry,
)
from hygiene import selectors as hygiene_selectors
from hygiene.permissions import can_contribute, scope_queryset

UNCLASSIFIED = "unclassified"
CRITICALITY_ORDER = Case(
    *(When(criticality=value, then=Value(rank)) for rank, value in enumerate(Criticality.values)),
    output_field=IntegerField(),
)
SORTS: dict[str, tuple[Any, ...]] = {
    "name": ("name", "id"),
    "kind": ("kind", "name", "id"),
    "environment": ("environment", "name", "id"),
    "team": ("team__name", "name", "id"),
    "classification": (F("effective_classification__rank").desc(nulls_last=True), "name", "id"),
    "criticality": (F("criticality_rank").desc(), "name", "id"),
    "updated": (F("updated_at").desc(), "id"),
}
DEFAULT_SORT = "name"
GRAPH_HOPS = 3
GRAPH_MAX_NODES = 80


def visible_assets(user: Any) -> QuerySet[Asset]:
    """Every asset ``user`` may see, whatever its lifecycle (cached on the user for the request)."""
    cached: QuerySet[Asset] | None = getattr(user, "_hygiene_visible_assets", None)
    if cached is None:
        cached = scope_queryset(
            Asset.objects.all(),
            user,
            team_field="team",
            restricted_field="is_restricted",
            grant_perm="assets.view_asset",
            environment_field="environment",
        )
        user._hygiene_visible_assets = cached
    return cached.all()


def visible_team_choices(user: Any) -> list[tuple[str, str]]:
    """(slug, name) of the teams ``user`` may see: the team choices of the filter forms."""
    return [(team.slug, team.name) for team in hygiene_selectors.team_list_for_user(user=user)]


def contributable_team_choices(user: Any) -> list[tuple[str, str]]:
    """(slug, name) of the teams ``user`` may add assets to."""
    return [
        (team.slug, team.name)
        for team in hygiene_selectors.team_list_for_user(user=user)
        if can_contribute(user, team_id=team.pk)
    ]


def _search(assets: QuerySet[Asset], text: str) -> QuerySet[Asset]:
    identifiers = Func(F("identifiers"), Value(" "), function="array_to_string", output_field=TextField())
    return assets.annotate(identifier_text=identifiers).filter(
        Q(name__icontains=text) | Q(description__icontains=text) | Q(identifier_text__icontains=text)
    )


def _apply_filters(assets: QuerySet[Asset], filters: dict[str, str]) -> QuerySet[Asset]:
    if filters.get("q"):
        assets = _search(assets, filters["q"].strip())
    if filters.get("kind"):
        assets = assets.filter(kind=filters["kind"])
    if filters.get("environment"):
        assets = assets.filter(environment=filters["environment"])
    if filters.get("team"):
        assets = assets.filter(team__slug=filters["team"])
    if filters.get("classification") == UNCLASSIFIED:
        assets = assets.filter(effective_classification__isnull=True)
    elif filters.get("classification"):
        assets = assets.filter(effective_classification__slug=filters["classification"])
    lifecycle = filters.get("lifecycle") or Lifecycle.ACTIVE
    if lifecycle != "all":
        assets = assets.filter(lifecycle=lifecycle)
    if filters.get("tag"):
        assets = assets.filter(tags__contains=[filters["tag"].strip()])
    if filters.get("unscanned"):
        assets = assets.exclude(_scanned_recently(filters["unscanned"]))
    return assets


SCAN_FRESH_DAYS = 30


def _scanned_recently(check: str) -> Exists:
    """Assets with a finished import scanned within the last 30 days (for ``check``, or any with "any"):
    the coverage metric's rule, counted to the end of today as the daily snapshot counts it."""
    from django.utils import timezone

    from findings.models import ImportJob, JobStatus

    end = dt.datetime.combine(
        timezone.localdate() + dt.timedelta(days=1), dt.time.min, tzinfo=timezone.get_current_timezone()
    )
    jobs = ImportJob.objects.filter(
        asset_id=OuterRef("pk"),
        status=JobStatus.DONE,
        scanned_at__gte=end - dt.timedelta(days=SCAN_FRESH_DAYS),
        scanned_at__lt=end,
    )
    if check != "any":
        jobs = jobs.filter(check_types__contains=[check])
    return Exists(jobs)


def asset_list_for_user(*, user: Any, filters: dict[str, str] | None = None) -> QuerySet[Asset]:
    """The assets ``user`` may see, filtered like the list page (active ones unless asked) and sorted."""
    filters = filters or {}
    assets = _apply_filters(visible_assets(user), filters)
    sort = filters.get("sort") or DEFAULT_SORT
    descending = sort.startswith("-")
    order = SORTS.get(sort.lstrip("-"), SORTS[DEFAULT_SORT])
    if sort.lstrip("-") == "criticality":
        assets = assets.annotate(criticality_rank=CRITICALITY_ORDER)
    if descending:
        order = tuple(_reverse(term) for term in order)
    return assets.select_related("team", "effective_classification", "classification").order_by(*order)


def _reverse(term: Any) -> Any:
    if isinstance(term, str):
        return term[1:] if term.startswith("-") else f"-{term}"
    return term.expression.asc() if term.descending else term.expression.desc()


def asset_counts_for_user(*, user: Any, filters: dict[str, str] | None = None) -> dict[str, int]:
    """Totals for the list page's cards, over exactly the assets the user may see and has filtered."""
    assets = _apply_filters(visible_assets(user), {k: v for k, v in (filters or {}).items() if k != "sort"})
    return assets.aggregate(
        total=Count("id"),
        restricted=Count("id", filter=Q(is_restricted=True)),
        unclassified=Count("id", filter=Q(classification__isnull=True)),
        production=Count("id", filter=Q(environment="production")),
        with_violations=Count("id", filter=Q(pk__in=PolicyViolation.objects.values("asset_id"))),
    )


def hidden_restricted_count_for_user(*, user: Any) -> int:
    """How many restricted assets exist that the user may not see (pages say so instead of hiding it)."""
    total = Asset.objects.filter(is_restricted=True).count()
    return max(total - visible_assets(user).filter(is_restricted=True).count(), 0)


def asset_get_for_user(*, user: Any, pk: int) -> Asset:
    """The asset, or 404 when the user may not see it (so its existence is not revealed)."""
    asset = (
        visible_assets(user)
        .select_related("team", "technical_owner", "classification", "effective_classification")
        .filter(pk=pk)
        .first()
    )
    if asset is None:
        raise Http404("No such asset.")
    return asset


def effective_source_for_user(*, user: Any, asset: Asset) -> Asset | None:
    """The upstream asset the effective level came from, if the user may see it."""
    if asset.effective_source_id is None:
        return None
    return visible_assets(user).filter(pk=asset.effective_source_id).select_related("team").first()


def upstream_edges_for_user(*, user: Any, asset: Asset) -> QuerySet[LineageEdge]:
    return (
        LineageEdge.objects.filter(target=asset, source__in=visible_assets(user))
        .select_related("source", "source__effective_classification", "source__team")
        .order_by("source__name", "kind")
    )


def downstream_edges_for_user(*, user: Any, asset: Asset) -> QuerySet[LineageEdge]:
    return (
        LineageEdge.objects.filter(source=asset, target__in=visible_assets(user))
        .select_related("target", "target__effective_classification", "target__team")
        .order_by("target__name", "kind")
    )


def edge_get_for_user(*, user: Any, pk: int) -> LineageEdge:
    visible = visible_assets(user)
    edge = (
        LineageEdge.objects.filter(pk=pk, source__in=visible, target__in=visible)
        .select_related("source", "target")
        .first()
    )
    if edge is None:
        raise Http404("No such lineage edge.")
    return edge


def transformations_for_dataset(*, user: Any, dataset: Asset) -> QuerySet[TransformationLogEntry]:
    asset_get_for_user(user=user, pk=dataset.pk)
    return TransformationLogEntry.objects.filter(dataset=dataset).select_related("actor")


def violation_list_for_user(*, user: Any, filters: dict[str, str] | None = None) -> QuerySet[PolicyViolation]:
    """Current violations on assets the user may see; the related asset is named only if visible too."""
    filters = filters or {}
    visible = visible_assets(user)
    violations = PolicyViolation.objects.filter(asset__in=visible).annotate(
        related_visible=Exists(visible.filter(pk=OuterRef("related_asset_id")))
    )
    if filters.get("rule"):
        violations = violations.filter(rule=filters["rule"])
    if filters.get("team"):
        violations = violations.filter(asset__team__slug=filters["team"])
    if filters.get("asset"):
        violations = violations.filter(asset_id=filters["asset"])
    return violations.select_related("asset", "asset__team", "related_asset").order_by(
        "rule", "asset__name", "id"
    )


def violation_counts_for_user(*, user: Any) -> dict[str, int]:
    rows = (
        PolicyViolation.objects.filter(asset__in=visible_assets(user))
        .values("rule")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {row["rule"]: row["n"] for row in rows}


def level_list() -> QuerySet[ClassificationLevel]:
    """Classification levels are policy, readable by everyone signed in."""
    return ClassificationLevel.objects.order_by("rank")


def level_get(*, pk: int) -> ClassificationLevel:
    level = ClassificationLevel.objects.filter(pk=pk).first()
    if level is None:
        raise Http404("No such classification level.")
    return level


NEIGHBOURHOOD_SQL = """
WITH RECURSIVE up(id, depth) AS (
    SELECT %(center)s::bigint, 0
    UNION
    SELECT e.source_id, u.depth + 1 FROM assets_lineageedge e JOIN up u ON e.target_id = u.id
     WHERE u.depth < %(hops)s
), down(id, depth) AS (
    SELECT %(center)s::bigint, 0
    UNION
    SELECT e.target_id, d.depth + 1 FROM assets_lineageedge e JOIN down d ON e.source_id = d.id
     WHERE d.depth < %(hops)s
)
SELECT id, -min(depth) FROM up WHERE id <> %(center)s GROUP BY id
UNION ALL
SELECT id, min(depth) FROM down WHERE id <> %(center)s GROUP BY id
"""


@dataclass(frozen=True)
class LineageGraph:
    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]
    upstream_count: int
    downstream_count: int
    truncated: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "nodes": self.nodes,
            "edges": self.edges,
            "upstream_count": self.upstream_count,
            "downstream_count": self.downstream_count,
            "truncated": self.truncated,
        }


def lineage_graph_for_user(*, user: Any, asset: Asset, hops: int = GRAPH_HOPS) -> LineageGraph:
    """The asset's neighbourhood a few hops up and down, laid out in columns by distance.

    Only assets the user may see are included; an invisible asset and its edges are left out.
    """
    asset_get_for_user(user=user, pk=asset.pk)
    with connection.cursor() as cursor:
        cursor.execute(NEIGHBOURHOOD_SQL, {"center": asset.pk, "hops": hops})
        layers: dict[int, int] = {}
        for node_id, layer in cursor.fetchall():
            layers.setdefault(node_id, layer)
    visible_ids = set(visible_assets(user).filter(pk__in=list(layers)).values_list("pk", flat=True))
    ranked = sorted((abs(layers[i]), i) for i in visible_ids)
    kept = {i for _, i in ranked[: GRAPH_MAX_NODES - 1]}
    layers = {i: layers[i] for i in kept}
    layers[asset.pk] = 0
    assets = (
        Asset.objects.filter(pk__in=list(layers))
        .select_related("effective_classification", "team")
        .only(
            *("id", "name", "kind", "environment", "lifecycle", "is_restricted", "team__name"),
            *("effective_classification__name", "effective_classification__rank"),
        )
    )
    nodes = _layout(list(assets), layers, center=asset.pk)
    edges = [
        {"source": source, "target": target, "kind": kind, "label": LineageEdge(kind=kind).get_kind_display()}
        for source, target, kind in LineageEdge.objects.filter(
            source_id__in=list(layers), target_id__in=list(layers)
        ).values_list("source_id", "target_id", "kind")
    ]
    return LineageGraph(
        nodes=nodes,
        edges=edges,
        upstream_count=sum(1 for layer in layers.values() if layer < 0),
        downstream_count=sum(1 for layer in layers.values() if layer > 0),
        truncated=len(visible_ids) > len(kept),
    )


def _layout(assets: list[Asset], layers: dict[int, int], *, center: int) -> list[dict[str, Any]]:
    columns: dict[int, list[Asset]] = defaultdict(list)
    for item in assets:
        columns[layers[item.pk]].append(item)
    nodes = []
    for layer, members in columns.items():
        members.sort(key=lambda a: a.name.lower())
        for index, item in enumerate(members):
            level = item.effective_classification
            nodes.append(
                {
                    "id": item.pk,
                    "name": item.name,
                    "kind": item.get_kind_display(),
                    "environment": item.get_environment_display(),
                    "team": item.team.name,
                    "level": level.name if level else "Unclassified",
                    "level_rank": level.rank if level else 0,
                    "restricted": item.is_restricted,
                    "retired": item.lifecycle == Lifecycle.RETIRED,
                    "url": item.get_absolute_url(),
                    "x": layer,
                    "y": (len(members) - 1) / 2 - index,
                    "center": item.pk == center,
                }
            )
    return nodes


def asset_find_for_user(*, user: Any, pk: int | None = None, name: str = "") -> Asset:
    """The visible asset with this id, or the only visible one with this name (the edge form's input)."""
    from django.core.exceptions import ValidationError

    if pk is not None:
        return asset_get_for_user(user=user, pk=pk)
    matches = list(visible_assets(user).filter(name__iexact=name.strip())[:2])
    if not matches:
        raise ValidationError({"other": f"No asset you can see is named “{name}”."})
    if len(matches) > 1:
        raise ValidationError({"other": f"Several assets are named “{name}”; pick one from the list."})
    return matches[0]


def team_asset_named_for_user(*, user: Any, team_id: int, name: str, field: str = "asset") -> Asset:
    """The visible asset of the team with this name (any kind), for forms that name one by text."""
    from django.core.exceptions import ValidationError

    name = name.strip()
    matches = list(visible_assets(user).filter(team_id=team_id, name__iexact=name).order_by("kind")[:2])
    if not matches:
        raise ValidationError({field: f"No asset of this team that you can see is named “{name}”."})
    if len(matches) > 1:
        kinds = " and ".join(asset.get_kind_display().lower() for asset in matches)
        raise ValidationError(
            {field: f"Several assets of this team are named “{name}” ({kinds}); rename one or use the API."}
        )
    return matches[0]


def asset_options_for_user(*, user: Any, near: Asset, limit: int = 100) -> list[tuple[int, str, str]]:
    """(id, name, team) of visible active assets for the edge form, the asset's own team first."""
    same_team = Case(When(team_id=near.team_id, then=Value(0)), default=Value(1), output_field=IntegerField())
    rows = (
        visible_assets(user)
        .filter(lifecycle=Lifecycle.ACTIVE)
        .exclude(pk=near.pk)
        .annotate(same_team=same_team)
        .order_by("same_team", "name")
        .values_list("id", "name", "team__name")[:limit]
    )
    return list(rows)


def level_counts_for_user(*, user: Any) -> dict[int | None, int]:
    """Active visible assets per effective level id (None: unclassified)."""
    rows = (
        visible_assets(user)
        .filter(lifecycle=Lifecycle.ACTIVE)
        .values("effective_classification")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("effective_classification", "n")
    )
    return dict(rows)
