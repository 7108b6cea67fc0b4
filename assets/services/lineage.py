"""Adding and removing lineage edges; cycles are refused with the path that would close them."""

from __future__ import annotations

from collections import deque
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction

from assets.errors import DuplicateEdge, LineageCycle
from assets.models import Asset, EdgeKind, LineageEdge
from assets.services.assets import may_change_asset
from assets.services.classification import classification_recompute_downstream
from assets.services.policy import policy_check
from controls.services.hooks import assess_assets_after_commit

# Serializes edge additions: two concurrent additions could each pass the cycle check alone.
_LINEAGE_LOCK_KEY = 0x11AE46E

# The edges reachable downstream of a start asset, for the path search.
REACHABLE_EDGES_SQL = """
WITH RECURSIVE reach(id) AS (
    SELECT %s::bigint
    UNION
    SELECT e.target_id FROM assets_lineageedge e JOIN reach r ON e.source_id = r.id
)
SELECT e.source_id, e.target_id FROM assets_lineageedge e JOIN reach r ON e.source_id = r.id
"""


def _shortest_path(start: int, goal: int) -> list[int] | None:
    """The shortest chain of edges from ``start`` down to ``goal``, as asset ids, if there is one."""
    with connection.cursor() as cursor:
        cursor.execute(REACHABLE_EDGES_SQL, [start])
        edges = cursor.fetchall()
    children: dict[int, list[int]] = {}
    for source_id, target_id in edges:
        children.setdefault(source_id, []).append(target_id)
    previous: dict[int, int | None] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if node == goal:
            path = [node]
            while (parent := previous[path[-1]]) is not None:
                path.append(parent)
            return path[::-1]
        for child in sorted(children.get(node, [])):
            if child not in previous:
                previous[child] = node
                queue.append(child)
    return None


def _check_may_link(actor: Any, source: Asset, target: Asset) -> None:
    """Whoever may edit either end (a member of its team) may record a flow between them; the caller
    found both through the selectors, so both are visible to them."""
    if actor is None:
        return
    if not (may_change_asset(actor, source) or may_change_asset(actor, target)):
        raise PermissionDenied(
            "Only members of either asset's team, or a security lead, can change its lineage."
        )


def _after_change(target_id: int) -> None:
    affected = classification_recompute_downstream(asset_ids=[target_id])
    policy_check(asset_ids=affected)
    assess_assets_after_commit(asset_ids=affected or [target_id])


@transaction.atomic
def edge_add(*, actor: Any, source: Asset, target: Asset, kind: str) -> LineageEdge:
    """Record that data flows from ``source`` to ``target``; the target inherits its classification."""
    _check_may_link(actor, source, target)
    if kind not in EdgeKind.values:
        raise ValidationError({"kind": "Choose how the two assets are related."})
    if source.pk == target.pk:
        raise ValidationError("An asset cannot be linked to itself.")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LINEAGE_LOCK_KEY])
    if LineageEdge.objects.filter(source=source, target=target, kind=kind).exists():
        raise DuplicateEdge(source=source.name, target=target.name, kind=EdgeKind(kind).label)
    path = _shortest_path(target.pk, source.pk)
    if path is not None:
        names = dict(Asset.objects.filter(pk__in=path).values_list("pk", "name"))
        raise LineageCycle(source=source.name, target=target.name, path=[names[pk] for pk in path])
    edge = LineageEdge.objects.create(
        source=source, target=target, kind=kind, created_by=actor if actor is not None else None
    )
    _after_change(target.pk)
    return edge


@transaction.atomic
def edge_remove(*, actor: Any, edge: LineageEdge) -> None:
    """Remove a flow; the target's effective level drops again if nothing else carries it."""
    _check_may_link(actor, edge.source, edge.target)
    target_id = edge.target_id
    edge.delete()
    _after_change(target_id)
