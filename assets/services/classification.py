"""Classification levels and the one place that computes effective classification.

An asset's effective level is the highest (by rank) of its own declared level and the effective
levels of everything upstream of it. It is stored on the asset with the upstream asset it came from,
so lists, filters and the permission path (``is_restricted``) never walk the graph on read.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils.text import slugify

from assets.models import Asset, ClassificationLevel
from hygiene.permissions import can_act_globally

RESTRICTED_SLUG = "restricted"

# Every asset reachable downstream of the given ones, the given ones included.
DOWNSTREAM_SQL = """
WITH RECURSIVE downstream(id) AS (
    SELECT unnest(%s::bigint[])
    UNION
    SELECT e.target_id FROM assets_lineageedge e JOIN downstream d ON e.source_id = d.id
)
SELECT id FROM downstream
"""

# For the affected set: each asset's own level, and every edge into it with the parent's stored
# effective level (parents inside the set are recomputed below; their stored value is ignored).
AFFECTED_GRAPH_SQL = """
SELECT a.id, a.classification_id, NULL::bigint, NULL::bigint, NULL::bigint
  FROM assets_asset a WHERE a.id = ANY(%(ids)s)
UNION ALL
SELECT e.target_id, NULL, e.source_id, p.effective_classification_id, p.effective_source_id
  FROM assets_lineageedge e JOIN assets_asset p ON p.id = e.source_id
 WHERE e.target_id = ANY(%(ids)s)
"""

UPDATE_SQL = """
UPDATE assets_asset a
   SET effective_classification_id = v.level_id,
       effective_source_id = v.source_id,
       is_restricted = COALESCE(l.is_restricted, false)
  FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[]) AS v(id, level_id, source_id)
  LEFT JOIN assets_classificationlevel l ON l.id = v.level_id
 WHERE a.id = v.id
   AND (a.effective_classification_id IS DISTINCT FROM v.level_id
        OR a.effective_source_id IS DISTINCT FROM v.source_id
        OR a.is_restricted IS DISTINCT FROM COALESCE(l.is_restricted, false))
"""


@dataclass(frozen=True)
class _Effective:
    level_id: int | None
    source_id: int | None  # None: the asset's own level


def downstream_ids(asset_ids: list[int]) -> list[int]:
    """The given assets and every asset downstream of them (one recursive query)."""
    if not asset_ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(DOWNSTREAM_SQL, [list(asset_ids)])
        return [row[0] for row in cursor.fetchall()]


def _level_ranks() -> dict[int, int]:
    return dict(ClassificationLevel.objects.values_list("id", "rank"))


def _better(candidate: _Effective, current: _Effective, ranks: dict[int, int]) -> bool:
    """Whether ``candidate`` wins: higher rank; on a tie the asset's own level, then the lower id."""
    cand_rank = ranks.get(candidate.level_id, -1) if candidate.level_id else -1
    curr_rank = ranks.get(current.level_id, -1) if current.level_id else -1
    if cand_rank != curr_rank:
        return cand_rank > curr_rank
    if current.source_id is None or candidate.source_id is None:
        return False
    return candidate.source_id < current.source_id


def _propagate(affected: set[int], ranks: dict[int, int]) -> dict[int, _Effective]:
    own: dict[int, int | None] = {}
    best: dict[int, _Effective] = {}
    children: dict[int, list[int]] = defaultdict(list)
    indegree: dict[int, int] = defaultdict(int)
    with connection.cursor() as cursor:
        cursor.execute(AFFECTED_GRAPH_SQL, {"ids": list(affected)})
        rows = cursor.fetchall()
    for asset_id, level_id, parent_id, parent_level, parent_source in rows:
        if parent_id is None:
            own[asset_id] = level_id
        elif parent_id in affected:
            children[parent_id].append(asset_id)
            indegree[asset_id] += 1
        elif parent_level is not None:
            inherited = _Effective(parent_level, parent_source or parent_id)
            if asset_id not in best or _better(inherited, best[asset_id], ranks):
                best[asset_id] = inherited
    # Kahn's order over the affected subgraph: a parent is final before its children read it.
    queue = deque(asset_id for asset_id in affected if indegree[asset_id] == 0)
    result: dict[int, _Effective] = {}
    while queue:
        asset_id = queue.popleft()
        mine = _Effective(own.get(asset_id), None)
        candidate = best.get(asset_id)
        value = candidate if candidate is not None and _better(candidate, mine, ranks) else mine
        result[asset_id] = value
        passed_on = _Effective(value.level_id, value.source_id or asset_id)
        for child in children[asset_id]:
            if value.level_id is not None and (child not in best or _better(passed_on, best[child], ranks)):
                best[child] = passed_on
            indegree[child] -= 1
            if indegree[child] == 0:
                queue.append(child)
    return result


@transaction.atomic
def classification_recompute_downstream(*, asset_ids: list[int]) -> list[int]:
    """Recompute the effective level of ``asset_ids`` and everything downstream; return those ids.

    One recursive query finds the affected assets, one query reads their edges, the levels are
    propagated in topological order and written back with one UPDATE of the rows that changed.
    """
    affected = downstream_ids(asset_ids)
    if not affected:
        return []
    result = _propagate(set(affected), _level_ranks())
    ids = list(result)
    with connection.cursor() as cursor:
        cursor.execute(
            UPDATE_SQL,
            [ids, [result[i].level_id for i in ids], [result[i].source_id for i in ids]],
        )
    return affected


def classification_recompute_all() -> list[int]:
    """Recompute every asset (repair after bulk loads); roots are assets nothing flows into."""
    roots = list(Asset.objects.filter(upstream_edges__isnull=True).values_list("id", flat=True))
    return classification_recompute_downstream(asset_ids=roots)


LEVEL_FIELDS = (
    "name",
    "rank",
    "description",
    "encryption_at_rest",
    "encryption_in_transit",
    "mfa_required",
    "max_retention_days",
    "anonymization_required",
    "access_granted_by",
)


def may_edit_levels(user: Any) -> bool:
    """Whether ``user`` may add and change classification levels: security leads, not by a team's token."""
    return can_act_globally(user)


def _require_security_lead(actor: Any) -> None:
    if actor is not None and not may_edit_levels(actor):
        raise PermissionDenied("Only security leads change classification levels.")


def _restricted_threshold(level: ClassificationLevel) -> int:
    restricted = ClassificationLevel.objects.filter(slug=RESTRICTED_SLUG).exclude(pk=level.pk).first()
    if restricted is not None:
        return restricted.rank
    return level.rank if level.slug == RESTRICTED_SLUG else 2**31


def _save_level(level: ClassificationLevel, fields: list[str]) -> ClassificationLevel:
    if ClassificationLevel.objects.filter(rank=level.rank).exclude(pk=level.pk).exists():
        raise ValidationError({"rank": f"Another level already has rank {level.rank}."})
    if ClassificationLevel.objects.filter(name__iexact=level.name).exclude(pk=level.pk).exists():
        raise ValidationError({"name": f"A level named “{level.name}” exists already."})
    level.is_restricted = level.rank >= _restricted_threshold(level)
    level.full_clean()
    level.save(update_fields=[*fields, "is_restricted"] if level.pk else None)
    # Another level's restricted flag follows when the restricted level's rank moves.
    if level.slug == RESTRICTED_SLUG:
        for other in ClassificationLevel.objects.exclude(pk=level.pk):
            flag = other.rank >= level.rank
            if other.is_restricted != flag:
                other.is_restricted = flag
                other.save(update_fields=["is_restricted"])
    return level


@transaction.atomic
def level_create(*, actor: Any, name: str, rank: int, **rules: Any) -> ClassificationLevel:
    _require_security_lead(actor)
    level = ClassificationLevel(name=name, slug=slugify(name)[:60], rank=rank, **rules)
    if ClassificationLevel.objects.filter(slug=level.slug).exists():
        raise ValidationError({"name": f"A level named “{name}” exists already."})
    return _save_level(level, [])


@transaction.atomic
def level_update(*, actor: Any, level: ClassificationLevel, **values: Any) -> ClassificationLevel:
    """Change a level's name, rank or handling rules; the assets that use it are recomputed."""
    _require_security_lead(actor)
    unknown = set(values) - set(LEVEL_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown level fields: {', '.join(sorted(unknown))}.")
    changed = [field for field, value in values.items() if getattr(level, field) != value]
    for field in changed:
        setattr(level, field, values[field])
    if not changed:
        return level
    _save_level(level, changed)
    if "rank" in changed or level.slug == RESTRICTED_SLUG:
        _recompute_levels_in_use()
    from assets.services.policy import policy_check

    policy_check(asset_ids=None)
    return level


def _recompute_levels_in_use() -> None:
    declared = list(Asset.objects.filter(classification__isnull=False).values_list("id", flat=True))
    classification_recompute_downstream(asset_ids=declared)
