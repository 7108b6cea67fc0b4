"""Benchmark of the controls app at 10,000 assets, 40 controls and 1,000,000 findings.

Run as ``.venv/bin/python bench/controls.py``. It creates its own database (``hygiene_bench_controls``)
on the configured server, loads the frameworks shipped in code and the hygiene baseline (plus three
controls to make 40), COPYs 10,000 assets over 20 teams (mixed kinds, environments and levels, a tenth
restricted), 30,000 import jobs, 1,000,000 findings and a few thousand policy violations, then measures:

- ``full_assessment_s``: assessing every control over everything (the hourly beat task);
- ``asset_assessment_ms``: re-assessing one asset right after an import (median of 20 assets);
- ``compliance_p95_ms``: the compliance page and framework pages (AI RMF, OWASP, an SP-800-53-sized
  tree is not loaded here), server time through Django's test client, signed in as a security lead and
  as a team member, 30 requests each; the worst p95 is the figure;
- the queries of the compliance page and of an assessment list page at 25 and 200 rows.

The last line is one JSON object with the figures.
"""

from __future__ import annotations

import io
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._database import create_database, django_setup, drop_database  # noqa: E402

DB_NAME = "hygiene_bench_controls"
N_TEAMS = 20
N_ASSETS = 10_000
N_FINDINGS = 1_000_000
JOBS_PER_ASSET = 3
REQUESTS = 30
KINDS = ["container_image", "repository", "dataset", "model", "endpoint", "pipeline", "notebook",
         "infrastructure", "cloud_account", "vendor"]  # fmt: skip
ENVIRONMENTS = ["development", "staging", "production"]
FORMATS = ["trivy", "grype", "gitleaks", "sarif", "pip_audit", "checkov"]


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def _p95(values: list[float]) -> float:
    return round(statistics.quantiles(values, n=20)[18], 2)


def _copy(cursor: Any, table: str, columns: list[str], rows: Any) -> None:
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join("\\N" if value is None else str(value) for value in row) + "\n")
    buffer.seek(0)
    cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)


def build(rng: random.Random) -> list[Any]:
    from django.db import connection
    from django.utils import timezone

    from assets.models import Asset, ClassificationLevel
    from hygiene.models import Team

    started = time.perf_counter()
    teams = [Team.objects.create(name=f"Team {i}", slug=f"team-{i}") for i in range(N_TEAMS)]
    levels = list(ClassificationLevel.objects.order_by("rank"))
    now = timezone.now()
    with connection.cursor() as cursor:
        rows = []
        for n in range(N_ASSETS):
            level = rng.choice([None, *levels])
            restricted = bool(level and level.is_restricted)
            level_id = level.pk if level else None
            rows.append([
                teams[n % N_TEAMS].pk, f"asset-{n}", KINDS[n % len(KINDS)], rng.choice(ENVIRONMENTS),
                "medium",
                "active", level_id, level_id, "t" if restricted else "f", "{}", "{}", "", now, now,
            ])  # fmt: skip
        _copy(cursor, "assets_asset", ["team_id", "name", "kind", "environment", "criticality", "lifecycle",
              "classification_id", "effective_classification_id", "is_restricted", "identifiers", "tags",
              "description", "created_at", "updated_at"], rows)  # fmt: skip
    assets = list(Asset.objects.values_list("id", "team_id"))
    with connection.cursor() as cursor:
        jobs = []
        for asset_id, team_id in assets:
            for j in range(JOBS_PER_ASSET):
                when = now - timezone.timedelta(days=rng.randrange(60), minutes=j)
                fmt = rng.choice(FORMATS)
                jobs.append([team_id, asset_id, fmt, fmt, "scan.json", "scans/x.json", "0" * 64, 10, "done",
                             100,
                             "", 0, 0, 0, 0, 0, when, when, when])  # fmt: skip
        _copy(cursor, "findings_importjob", ["team_id", "asset_id", "format", "requested_format", "filename",
              "raw_file", "sha256", "size_bytes", "status", "progress", "error", "new_count",
              "unchanged_count", "reopened_count", "mitigated_count", "findings_count", "created_at",
              "started_at", "finished_at"],
              jobs)  # fmt: skip
        violations = [
            [
                asset_id,
                rng.choice(["environment_segregation", "weaker_handling", "unclassified"]),
                "Bench.",
                now,
            ]
            for asset_id, _ in rng.sample(assets, 3000)
        ]
        _copy(cursor, "assets_policyviolation", ["asset_id", "rule", "detail", "detected_at"], violations)
        severities = ["critical"] * 5 + ["high"] * 25 + ["medium"] * 40 + ["low"] * 25 + ["info"] * 5
        statuses = ["open"] * 60 + ["mitigated"] * 32 + ["false_positive"] * 6 + ["risk_accepted"] * 2
        for batch in range(0, N_FINDINGS, 100_000):
            buffer = io.StringIO()
            for n in range(batch, min(batch + 100_000, N_FINDINGS)):
                asset_id, team_id = assets[n % len(assets)]
                seen = now - timezone.timedelta(days=rng.randrange(400))
                due = (seen + timezone.timedelta(days=rng.choice([7, 30, 90, 180]))).date()
                category = "secret" if n % 37 == 0 else "vulnerability"
                buffer.write(
                    f"{asset_id}\t{team_id}\ttrivy\t{category}\tCVE-2024-{n % 50000}\tflaw {n}\t"
                    f"{rng.choice(severities)}\tpkg\t1.0\t1.1\tusr/lib\tx\t\t\t{n:064x}\t{rng.choice(statuses)}\t"
                    f"{seen.isoformat()}\t{now.isoformat()}\t{due}\tf\n"
                )
            buffer.seek(0)
            cursor.copy_expert(
                "COPY findings_finding (asset_id, team_id, scanner, category, rule_id, title, severity,"
                " package, installed_version, fixed_version, location, target, description, url,"
                " fingerprint, status, first_seen, last_seen, sla_due, kev) FROM STDIN",
                buffer,
            )
        for table in ("assets_asset", "findings_importjob", "findings_finding", "assets_policyviolation"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    print(f"built {N_ASSETS:,} assets, {len(assets) * JOBS_PER_ASSET:,} imports, {N_FINDINGS:,} findings"
          f" in {time.perf_counter() - started:.1f} s")  # fmt: skip
    return teams


def seed_controls() -> int:
    from controls.models import Control
    from controls.services.catalogs import builtin_catalogs_load
    from controls.services.controls import baseline_seed

    builtin_catalogs_load()
    baseline_seed(assess=False)
    for n, rule in enumerate(
        ["scan_dependencies", "patching_sla", "evidence"][: 40 - Control.objects.count()]
    ):
        Control.objects.create(code=f"BENCH-{n}", title=f"Bench {rule}", objective="x", domain="operations",
                               mode="attested" if rule == "evidence" else "automated", rule=rule)  # fmt: skip
    return Control.objects.count()


def bench_assessments(rng: random.Random) -> dict[str, Any]:
    from django.db import connection
    from django.utils import timezone

    from assets.models import Asset
    from controls.models import Assessment
    from controls.services.assessments import assessment_run, assessments_for_assets

    started = time.perf_counter()
    result = assessment_run()
    full_s = round(time.perf_counter() - started, 2)
    slowest = sorted(result.timings.items(), key=lambda item: -item[1])[:6]
    print("slowest controls:", ", ".join(f"{code} {seconds:.2f} s" for code, seconds in slowest))
    clock = time.perf_counter()
    from controls.services.assessments import compliance_counts_rebuild

    compliance_counts_rebuild(team_ids=None)
    print(f"compliance counts rebuilt in {time.perf_counter() - clock:.2f} s")
    rows = Assessment.objects.count()
    started = time.perf_counter()
    assessment_run()
    again_s = round(time.perf_counter() - started, 2)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE controls_assessment")
    print(
        f"full assessment: {result.controls} controls, {rows:,} assessments in {full_s} s"
        f" (again: {again_s} s)"
    )
    ids = list(Asset.objects.values_list("id", "team_id"))
    one = []
    for asset_id, team_id in rng.sample(ids, 20):
        now = timezone.now()
        with connection.cursor() as cursor:  # an import just finished for this asset
            cursor.execute(
                "INSERT INTO findings_importjob (team_id, asset_id, format, requested_format, filename,"
                " raw_file,"
                " sha256, size_bytes, status, progress, error, new_count, unchanged_count, reopened_count,"
                " mitigated_count, findings_count, created_at, started_at, finished_at) VALUES"
                " (%s, %s, 'trivy', 'trivy', 'x', 'x', '', 0, 'done', 100, '', 0, 0, 0, 0, 0, %s, %s, %s)",
                [team_id, asset_id, now, now, now],
            )
        started = time.perf_counter()
        assessments_for_assets(asset_ids=[asset_id])
        one.append(_ms(started))
    asset_ms = round(statistics.median(one), 1)
    print(f"re-assessing one asset after an import: median {asset_ms} ms, max {max(one)} ms")
    return {"full_assessment_s": full_s, "full_assessment_again_s": again_s, "assessments": rows,
            "asset_assessment_ms": asset_ms, "asset_assessment_max_ms": max(one)}  # fmt: skip


def _timed(client: Any, url: str, n: int) -> list[float]:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        response = client.get(url, HTTP_HOST="localhost")
        times.append(_ms(started))
        assert response.status_code == 200, (url, response.status_code)
    return times


def bench_pages(teams: list[Any]) -> dict[str, Any]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from hygiene.models import Membership, TeamRole
    from hygiene.services.teams import user_create

    member = user_create(username="bench-member", email="m@example.org", password="bench-password-123",
                         role="Member")  # fmt: skip
    Membership.objects.create(team=teams[0], user=member, role=TeamRole.CHAMPION)
    lead = user_create(username="bench-lead", email="l@example.org", password="bench-password-123",
                       role="Security lead")  # fmt: skip
    pages = {
        "compliance": "/controls/compliance/",
        "framework_ai_rmf": "/controls/frameworks/nist-ai-rmf-1/",
        "framework_owasp": "/controls/frameworks/owasp-llm-top-10-2025/",
        "baseline": "/controls/",
        "assessments": "/controls/assessments/?status=failing",
    }
    results: dict[str, Any] = {}
    for who, user in (("lead", lead), ("member", member)):
        client = Client()
        client.force_login(user)
        _timed(client, "/controls/compliance/", 3)
        for name, url in pages.items():
            times = _timed(client, url, REQUESTS)
            results[f"{who}_{name}"] = (round(statistics.median(times), 1), _p95(times))
    client = Client()
    client.force_login(member)
    queries = {}
    for name, url in (("assessments_25", "/controls/assessments/?per_page=25"),
                      ("assessments_200", "/controls/assessments/?per_page=200"),
                      ("compliance_member", "/controls/compliance/")):  # fmt: skip
        with CaptureQueriesContext(connection) as captured:
            client.get(url, HTTP_HOST="localhost")
        queries[name] = len(captured)
    client.force_login(lead)
    with CaptureQueriesContext(connection) as captured:
        client.get("/controls/compliance/", HTTP_HOST="localhost")
    queries["compliance_lead"] = len(captured)
    for name, (p50, p95) in results.items():
        print(f"{name:<26} median {p50:>8.1f} ms   p95 {p95:>8.1f} ms")
    print(f"queries: {queries}")
    compliance = [p95 for name, (_, p95) in results.items() if "compliance" in name or "framework" in name]
    return {"pages": results, "queries": queries, "compliance_p95_ms": max(compliance)}


def main() -> None:
    django_setup(DB_NAME)
    create_database(DB_NAME)
    try:
        rng = random.Random(0)
        teams = build(rng)
        controls = seed_controls()
        assessed = bench_assessments(rng)
        pages = bench_pages(teams)
    finally:
        drop_database(DB_NAME)
    figures = {
        "assets": N_ASSETS,
        "controls": controls,
        "findings": N_FINDINGS,
        **assessed,
        "compliance_p95_ms": pages["compliance_p95_ms"],
        "assessment_list_p95_ms": max(
            p95 for name, (_, p95) in pages["pages"].items() if "assessments" in name
        ),
        "queries": pages["queries"],
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
