"""Benchmark of the inventory: effective-classification recompute and the list and detail pages.

Run as ``.venv/bin/python bench/inventory.py``. It creates its own database
(``hygiene_bench_inventory``) on the configured server (the embedded one unless DATABASE_URL is set),
loads 10,000 assets in ten clusters of 1,000 (each a DAG under one root) with 30,000 lineage edges by
COPY, and drops the database at the end. It measures:

- the recompute of effective classification after the root of a 1,000-asset subtree changes level
  (the service alone, and the whole ``asset_update`` with the policy checks), median of 5 changes;
- server time of the asset list and detail pages through Django's test client, 50 requests each,
  signed in as a plain member of a team that owns 3,000 of the assets (the permission path runs);
- the number of queries of one list page at 25 and at 200 rows.

The last line is one JSON object with the figures.
"""

from __future__ import annotations

import io
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._database import create_database, django_setup, drop_database  # noqa: E402

DB_NAME = "hygiene_bench_inventory"
CLUSTERS = 10
CLUSTER_SIZE = 1_000
TOTAL_EDGES = 30_000
TEAMS = 4
REQUESTS = 50
KINDS = ["dataset", "pipeline", "model", "endpoint", "notebook", "container_image", "repository"]
ENVIRONMENTS = ["development", "staging", "production"]


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def _copy(cursor: Any, table: str, columns: list[str], rows: list[list[Any]]) -> None:
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join("\\N" if value is None else str(value) for value in row) + "\n")
    buffer.seek(0)
    cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)


def _edges(rng: random.Random) -> list[tuple[int, int]]:
    """A DAG per cluster: a spanning tree under the cluster's root, then random forward edges."""
    edges: set[tuple[int, int]] = set()
    for cluster in range(CLUSTERS):
        base = cluster * CLUSTER_SIZE
        for j in range(1, CLUSTER_SIZE):
            edges.add((base + rng.randrange(max(0, j - 30), j), base + j))
    while len(edges) < TOTAL_EDGES:
        cluster = rng.randrange(CLUSTERS)
        j = rng.randrange(2, CLUSTER_SIZE)
        i = rng.randrange(max(0, j - 100), j)
        edges.add((cluster * CLUSTER_SIZE + i, cluster * CLUSTER_SIZE + j))
    return sorted(edges)


def load(rng: random.Random) -> dict[str, Any]:
    from django.db import connection
    from django.utils import timezone

    from assets.models import ClassificationLevel
    from assets.services import classification_recompute_all, policy_check
    from hygiene.models import Team

    teams = [Team.objects.create(name=f"Bench team {i}", slug=f"bench-{i}") for i in range(TEAMS)]
    levels = {level.slug: level.pk for level in ClassificationLevel.objects.all()}
    choices = [levels["public"], levels["internal"], levels["internal"], levels["confidential"], None]
    now = timezone.now().isoformat()
    started = time.perf_counter()
    with connection.cursor() as cursor:
        # Bulk load: the audit triggers would log 40,000 rows nobody made; the bench skips them.
        cursor.execute("SET session_replication_role = replica")
        cursor.execute("SELECT nextval(pg_get_serial_sequence('assets_asset', 'id'))")
        first_id = cursor.fetchone()[0]
        assets = []
        for n in range(CLUSTERS * CLUSTER_SIZE):
            cluster, index = divmod(n, CLUSTER_SIZE)
            level = levels["internal"] if index == 0 else rng.choice(choices)
            assets.append([
                first_id + n, teams[cluster % TEAMS].pk, f"asset-{cluster}-{index:04}", KINDS[n % len(KINDS)],
                rng.choice(ENVIRONMENTS), "medium", "active", level, "{" + f"pkg:bench/asset-{n}@1.0" + "}",
                "{bench}", f"Bench asset {index} of cluster {cluster}", now, now, "f",
            ])  # fmt: skip
        _copy(
            cursor,
            "assets_asset",
            ["id", "team_id", "name", "kind", "environment", "criticality", "lifecycle", "classification_id",
             "identifiers", "tags", "description", "created_at", "updated_at", "is_restricted"],
            assets,
        )  # fmt: skip
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('assets_asset', 'id'), %s)", [first_id + len(assets)]
        )
        edges = [[first_id + s, first_id + t, "derived_from", now] for s, t in _edges(rng)]
        _copy(cursor, "assets_lineageedge", ["source_id", "target_id", "kind", "created_at"], edges)
        cursor.execute("SET session_replication_role = origin")
        cursor.execute("ANALYZE assets_asset; ANALYZE assets_lineageedge")
    load_ms = _ms(started)
    started = time.perf_counter()
    classification_recompute_all()
    full_recompute_ms = _ms(started)
    started = time.perf_counter()
    violations = policy_check(asset_ids=None)
    policy_ms = _ms(started)
    print(f"loaded {len(assets)} assets and {len(edges)} edges in {load_ms:.0f} ms; full recompute "
          f"{full_recompute_ms:.0f} ms; full policy check {policy_ms:.0f} ms "
          f"({violations} violations)")  # fmt: skip
    return {
        "teams": teams,
        "first_id": first_id,
        "full_recompute_ms": full_recompute_ms,
        "policy_ms": policy_ms,
    }


def bench_recompute(first_id: int) -> dict[str, float]:
    from assets.models import Asset, ClassificationLevel
    from assets.services import asset_update, classification_recompute_downstream
    from assets.services.classification import downstream_ids

    root = Asset.objects.get(pk=first_id)
    subtree = len(downstream_ids([root.pk]))
    restricted = ClassificationLevel.objects.get(slug="restricted")
    internal = ClassificationLevel.objects.get(slug="internal")
    service_ms, update_ms = [], []
    for round_ in range(5):
        level = restricted if round_ % 2 == 0 else internal
        Asset.objects.filter(pk=root.pk).update(classification=level)
        started = time.perf_counter()
        classification_recompute_downstream(asset_ids=[root.pk])
        service_ms.append(_ms(started))
        root.refresh_from_db()
        other = internal if level == restricted else restricted
        started = time.perf_counter()
        asset_update(actor=None, asset=root, classification=other)
        update_ms.append(_ms(started))
    restricted_now = Asset.objects.filter(
        pk__gte=first_id, pk__lt=first_id + CLUSTER_SIZE, is_restricted=True
    )
    print(f"subtree of {subtree} assets: recompute {service_ms} ms "
          f"(median {statistics.median(service_ms)}); asset_update with policy checks {update_ms} ms; "
          f"{restricted_now.count()} restricted now")  # fmt: skip
    return {
        "subtree": subtree,
        "recompute_ms": statistics.median(service_ms),
        "update_ms": statistics.median(update_ms),
    }


def _timed(client: Any, urls: list[str]) -> list[float]:
    times = []
    for url in urls:
        started = time.perf_counter()
        response = client.get(url, HTTP_HOST="localhost")
        times.append(_ms(started))
        assert response.status_code == 200, (url, response.status_code)
    return times


def _p95(values: list[float]) -> float:
    return round(statistics.quantiles(values, n=20)[18], 2)


def bench_pages(teams: list[Any], first_id: int, rng: random.Random) -> dict[str, Any]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from hygiene.models import Membership, TeamRole
    from hygiene.services.teams import user_create

    member = user_create(username="bench-member", email="m@example.org", password="bench-password-123",
                         role="Member")  # fmt: skip
    Membership.objects.create(team=teams[0], user=member, role=TeamRole.MEMBER)
    client = Client()
    client.force_login(member)
    _timed(client, ["/assets/"] * 5)  # warm-up: connections, template caches
    list_urls = [
        "/assets/",
        "/assets/?sort=-classification",
        "/assets/?kind=model",
        "/assets/?q=cluster+4",
        "/assets/?environment=production&sort=-updated",
    ]
    list_times = _timed(client, [list_urls[i % len(list_urls)] + "" for i in range(REQUESTS)])
    own_clusters = [c for c in range(CLUSTERS) if c % TEAMS == 0]
    detail_ids = [
        first_id + rng.choice(own_clusters) * CLUSTER_SIZE + rng.randrange(CLUSTER_SIZE)
        for _ in range(REQUESTS)
    ]
    detail_times = _timed(client, [f"/assets/{pk}/" for pk in detail_ids])
    # A page with almost no work, to show what the middleware stack and this machine cost on their own.
    baseline_times = _timed(client, ["/teams/"] * REQUESTS)
    queries = {}
    for size in (25, 200):
        with CaptureQueriesContext(connection) as captured:
            _timed(client, [f"/assets/?per_page={size}"])
        queries[size] = len(captured.captured_queries)
    with CaptureQueriesContext(connection) as captured:
        _timed(client, [f"/assets/{first_id}/"])
    detail_queries = len(captured.captured_queries)
    print(f"list page ({REQUESTS} requests, member of a team with 3,000 assets): median "
          f"{statistics.median(list_times):.1f} ms, p95 {_p95(list_times)} ms")  # fmt: skip
    print(f"detail page ({REQUESTS} requests): median {statistics.median(detail_times):.1f} ms, "
          f"p95 {_p95(detail_times)} ms, {detail_queries} queries")  # fmt: skip
    print(f"queries per list page: {queries[25]} at 25 rows, {queries[200]} at 200 rows")
    print(f"baseline (teams page): median {statistics.median(baseline_times):.1f} ms, "
          f"p95 {_p95(baseline_times)} ms")  # fmt: skip
    return {
        "list_p50": round(statistics.median(list_times), 2),
        "list_p95": _p95(list_times),
        "detail_p50": round(statistics.median(detail_times), 2),
        "detail_p95": _p95(detail_times),
        "queries": queries,
        "baseline_p50": round(statistics.median(baseline_times), 2),
    }


def main() -> None:
    django_setup(DB_NAME)
    rng = random.Random(20261125)  # reproducible data, not secrets
    began = time.perf_counter()
    create_database(DB_NAME)
    try:
        loaded = load(rng)
        recompute = bench_recompute(loaded["first_id"])
        pages = bench_pages(loaded["teams"], loaded["first_id"], rng)
    finally:
        if not os.environ.get("BENCH_KEEP_DATABASE"):
            drop_database(DB_NAME)
    print(f"total {time.perf_counter() - began:.0f} s")
    print(
        json.dumps(
            {
                "recompute_subtree_ms": recompute["recompute_ms"],
                "recompute_subtree_assets": recompute["subtree"],
                "asset_update_with_policy_ms": recompute["update_ms"],
                "full_recompute_10000_ms": loaded["full_recompute_ms"],
                "full_policy_check_ms": loaded["policy_ms"],
                "asset_list_p50_ms": pages["list_p50"],
                "asset_list_p95_ms": pages["list_p95"],
                "asset_detail_p50_ms": pages["detail_p50"],
                "asset_detail_p95_ms": pages["detail_p95"],
                "queries_per_list_page": pages["queries"][25],
                "queries_per_list_page_200_rows": pages["queries"][200],
                "baseline_teams_page_p50_ms": pages["baseline_p50"],
            }
        )
    )


if __name__ == "__main__":
    main()
