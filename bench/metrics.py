"""Benchmark of the metrics: daily snapshots, a two-year backfill, and the dashboards and API.

Run as ``.venv/bin/python bench/metrics.py`` (``BENCH_SCALE=0.05`` for a quick run at 5% of the data).
It creates its own database (``hygiene_bench_metrics``), loads by COPY 10,000 assets in 20 teams (5%
restricted, some retired), 100,000 finished import jobs with scan times and check types,
1,000,000 findings first seen over two years with their episodes (sightings: mitigations, reopens,
false positives) and 5,000 incidents over the two years in every state; seeds the hygiene baseline of
controls with an assessment of each on every active asset (and team) by COPY, and owners for most
of them, then measures:

- ``snapshot_day_s``: computing today's snapshot (target <= 10 s), of which ``control_snapshot_s`` is
  the control snapshot's part, and the snapshot command's ``peak_rss_mb`` (run as
  ``manage.py compute_metrics``, target <= 500 MB);
- ``backfill_730_days_s``: computing the 730 days before today (target <= 600 s);
- server time of the overview, a team dashboard and the drill-down lists behind the charts, 50
  requests each through Django's test client as a security lead and as a member of one team
  (targets <= 150 ms p95), and of the metrics API (target <= 50 ms p95); the dashboards are kept per data
  version, so ``overview_cold_ms`` is also given: the overview's first request after a data change
  (median of 5, each after touching one finding);
- ``group_by_floor_ms``: a plain ``GROUP BY`` over the same findings table, the floor the live
  queries compare with.

``BENCH_KEEP_DATABASE=1`` keeps the database afterwards; ``BENCH_REUSE_DATABASE=1`` then measures the pages
again on it without loading or backfilling (for profiling; the snapshot figures are then null).

The backfill writes control rows for yesterday only (assessments keep no history: older days have no
compliance to record). The last line is one JSON object.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._database import create_database, django_setup, drop_database  # noqa: E402

DB_NAME = "hygiene_bench_metrics"
SCALE = float(os.environ.get("BENCH_SCALE", "1"))
ASSETS = max(200, int(10_000 * SCALE))
FINDINGS = max(5_000, int(1_000_000 * SCALE))
INCIDENTS = max(250, int(5_000 * SCALE))
JOBS_PER_ASSET = 10
TEAMS = 20
DAYS = int(os.environ.get("BENCH_DAYS", "730"))
REQUESTS = 50
KINDS = ["dataset", "pipeline", "model", "endpoint", "notebook", "container_image", "repository"]
ENVIRONMENTS = ["development", "staging", "production"]
SEVERITIES = [
    ("critical", 0.05, 7),
    ("high", 0.2, 30),
    ("medium", 0.4, 90),
    ("low", 0.3, 180),
    ("info", 0.05, None),
]
SIGHTING_COLUMNS = ["finding_id", "job_id", "outcome", "occurred_at", "status", "sla_due"]
CHECKS = ["dependency", "secret", "static_analysis", "iac", "container"]
INCIDENT_CATEGORIES = [
    *("credential_leak", "data_leakage", "model_theft", "prompt_injection", "poisoning", "supply_chain"),
    *("misconfiguration", "unauthorized_access", "availability"),
]
INCIDENT_SEVERITIES = [("critical", 0.1), ("high", 0.3), ("medium", 0.4), ("low", 0.2)]
# The lifecycle after reporting, with the mean delay (hours) of each step: acknowledged, contained,
# resolved, closed.
INCIDENT_STEPS = [("acknowledged", 2), ("contained", 24), ("resolved", 96), ("closed", 72)]
ASSESSMENT_STATUSES = [("passing", 0.6), ("failing", 0.25), ("not_assessed", 0.1), ("excepted", 0.05)]


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def _p95(values: list[float]) -> float:
    return round(statistics.quantiles(values, n=20)[18], 2)


def _copy(cursor: Any, table: str, columns: list[str], rows: list[list[Any]]) -> None:
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join("\\N" if value is None else str(value) for value in row) + "\n")
    buffer.seek(0)
    cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)


def _next_id(cursor: Any, table: str) -> int:
    cursor.execute(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id'))")
    return int(cursor.fetchone()[0])


def _set_sequence(cursor: Any, table: str, last: int) -> None:
    cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), %s)", [last])


def load(rng: random.Random) -> dict[str, Any]:
    from django.db import connection
    from django.utils import timezone

    from hygiene.models import Team

    teams = [Team.objects.create(name=f"Bench team {i:02}", slug=f"bench-{i:02}") for i in range(TEAMS)]
    now = timezone.now()
    start = now - dt.timedelta(days=DAYS)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")  # bulk load: no audit of machine rows
        first_asset = _next_id(cursor, "assets_asset")
        assets = []
        for n in range(ASSETS):
            team = teams[n % TEAMS]
            created = start - dt.timedelta(days=30) + dt.timedelta(days=rng.random() * 200)
            retired = created + dt.timedelta(days=rng.randint(100, 700)) if rng.random() < 0.05 else None
            if retired and retired > now:
                retired = None
            assets.append([
                first_asset + n, team.pk, f"asset-{n:05}", KINDS[n % len(KINDS)], rng.choice(ENVIRONMENTS),
                "medium", "retired" if retired else "active", "{}", "{}", "", created.isoformat(),
                created.isoformat(), "t" if rng.random() < 0.05 else "f",
                retired.isoformat() if retired else None,
            ])  # fmt: skip
        _copy(cursor, "assets_asset",
              ["id", "team_id", "name", "kind", "environment", "criticality", "lifecycle", "identifiers",
               "tags", "description", "created_at", "updated_at", "is_restricted", "retired_at"],
              assets)  # fmt: skip
        _set_sequence(cursor, "assets_asset", first_asset + ASSETS)
        asset_team = {row[0]: row[1] for row in assets}
        # Import jobs: scans spread over two years, each with the checks it held.
        first_job = _next_id(cursor, "findings_importjob")
        jobs = []
        for n in range(ASSETS * JOBS_PER_ASSET):
            asset_id = first_asset + rng.randrange(ASSETS)
            scanned = start + dt.timedelta(seconds=rng.random() * DAYS * 86400)
            checks = "{" + ",".join(sorted(rng.sample(CHECKS, rng.randint(1, 3)))) + "}"
            jobs.append([
                first_job + n, asset_team[asset_id], asset_id, "trivy", "trivy", "scan.json", "", "0" * 64, 0,
                "done", 100, "", 0, 0, 0, 0, 0, scanned.isoformat(), scanned.isoformat(),
                (scanned + dt.timedelta(seconds=30)).isoformat(), scanned.isoformat(), checks, 1,
            ])  # fmt: skip
        _copy(cursor, "findings_importjob",
              ["id", "team_id", "asset_id", "format", "requested_format", "filename", "raw_file", "sha256",
               "size_bytes", "status", "progress", "error", "new_count", "unchanged_count", "reopened_count",
               "mitigated_count", "findings_count", "created_at", "started_at", "finished_at", "scanned_at",
               "check_types", "attempts"], jobs)  # fmt: skip
        _set_sequence(cursor, "findings_importjob", first_job + len(jobs))
        sightings = _load_findings(cursor, rng, first_asset, asset_team, start, now)
        incidents = _load_incidents(cursor, rng, assets, start, now)
        cursor.execute("SET session_replication_role = origin")
        # The bulk load skipped the triggers that keep the episodes: build them as the migration does.
        episodes_started = time.perf_counter()
        cursor.execute("SELECT findings_refresh_episodes(NULL)")
        print(f"episodes built from the history in {time.perf_counter() - episodes_started:.1f} s")
        cursor.execute("VACUUM ANALYZE")  # as autovacuum would have, two years on
    assessments = _load_controls(rng, teams, assets, now)
    load_s = round(time.perf_counter() - started, 1)
    print(
        f"loaded {ASSETS} assets, {len(jobs)} jobs, {FINDINGS} findings, {sightings} sightings,"
        f" {incidents} incidents and {assessments} assessments in {load_s} s"
    )
    return {"teams": teams, "load_s": load_s, "incidents": incidents, "assessments": assessments}


def _load_incidents(cursor: Any, rng: random.Random, assets: list[list[Any]], start: dt.datetime,
                    now: dt.datetime) -> int:  # fmt: skip
    """Incidents occurred over the two years, each on one asset of its team (restricted with it), as far
    along their lifecycle as their age allows: the older closed, the recent ones still open. The times
    keep the order the table's CHECK constraints require (occurred <= detected <= reported <= ...)."""
    first = _next_id(cursor, "incidents_incident")
    rows, links = [], []
    severities, weights = zip(*INCIDENT_SEVERITIES, strict=True)
    for n in range(INCIDENTS):
        asset = rng.choice(assets)
        occurred = start + dt.timedelta(seconds=rng.random() * DAYS * 86400)
        detected = min(occurred + dt.timedelta(hours=rng.expovariate(1 / 30)), now)
        reported = min(detected + dt.timedelta(minutes=rng.uniform(1, 60)), now)
        status, times, at = "reported", [], reported
        for step, hours in INCIDENT_STEPS:
            at = at + dt.timedelta(hours=rng.expovariate(1 / hours))
            if at > now or rng.random() < 0.02:  # not there yet, or stuck
                break
            status = step
            times.append(at.isoformat())
        times += [None] * (len(INCIDENT_STEPS) - len(times))
        rows.append([
            first + n, asset[1], f"Bench incident {n}", "", rng.choice(INCIDENT_CATEGORIES),
            rng.choices(severities, weights)[0], status, None, None, "t" if asset[12] == "t" else "f",
            occurred.isoformat(), detected.isoformat(), reported.isoformat(), *times, 0, now.isoformat(),
        ])  # fmt: skip
        links.append([first + n, asset[0], reported.isoformat()])
    _copy(cursor, "incidents_incident",
          ["id", "team_id", "title", "description", "category", "severity", "status", "reporter_id",
           "commander_id", "is_restricted", "occurred_at", "detected_at", "reported_at", "acknowledged_at",
           "contained_at", "resolved_at", "closed_at", "escalation_level", "updated_at"], rows)  # fmt: skip
    _set_sequence(cursor, "incidents_incident", first + INCIDENTS)
    _copy(cursor, "incidents_incidentasset", ["incident_id", "asset_id", "added_at"], links)
    return len(rows)


def _load_controls(rng: random.Random, teams: list[Any], assets: list[list[Any]], now: dt.datetime) -> int:
    """The hygiene baseline with an assessment of each control on every active asset it could apply to
    (or each team, for team-level controls) by COPY, as a run of the rules would leave them, and an
    owner in each team for most controls."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from controls.models import Control, ControlOwnership
    from controls.services.assessments import compliance_counts_rebuild
    from controls.services.catalogs import builtin_catalogs_load
    from controls.services.controls import baseline_seed
    from hygiene.models import Membership, TeamRole

    builtin_catalogs_load()
    baseline_seed(assess=False)
    controls = list(Control.objects.active().values_list("pk", "scope", "applies_to_kinds"))
    statuses, weights = zip(*ASSESSMENT_STATUSES, strict=True)
    rows = []
    for control_id, scope, kinds in controls:
        subjects = (
            [(None, team.pk, "f", "") for team in teams]
            if scope == "team"
            else [(a[0], a[1], a[12], a[3]) for a in assets if a[13] is None]
        )
        for asset_id, team_id, restricted, kind in subjects:
            applies = not kinds or kind in kinds or asset_id is None
            status = rng.choices(statuses, weights)[0] if applies else "not_applicable"
            changed = (now - dt.timedelta(days=rng.randrange(90))).isoformat()
            rows.append([control_id, asset_id, team_id, restricted, status, "", None, None, now.isoformat(),
                         changed])  # fmt: skip
    with connection.cursor() as cursor:
        _copy(cursor, "controls_assessment",
              ["control_id", "asset_id", "team_id", "restricted", "status", "reason", "due_on",
               "exception_id", "assessed_at", "changed_at"], rows)  # fmt: skip
        cursor.execute("ANALYZE controls_assessment")
    compliance_counts_rebuild(team_ids=None)
    owners = get_user_model().objects
    ownerships = []
    for team in teams:
        person = owners.create_user(username=f"owner-{team.slug}", email=f"owner-{team.slug}@example.org")
        Membership.objects.create(team=team, user=person, role=TeamRole.CHAMPION)
        ownerships += [
            ControlOwnership(control_id=control_id, team=team, owner=person if rng.random() < 0.7 else None)
            for control_id, _, _ in controls
        ]
    ControlOwnership.objects.bulk_create(ownerships)
    return len(rows)


def _load_findings(cursor: Any, rng: random.Random, first_asset: int, asset_team: dict[int, int],
                   start: dt.datetime, now: dt.datetime) -> int:  # fmt: skip
    columns = [
        "id",
        "asset_id",
        "team_id",
        "scanner",
        "category",
        "rule_id",
        "title",
        "severity",
        "package",
        "installed_version",
        "fixed_version",
        "location",
        "target",
        "published_at",
        "description",
        "url",
        "fingerprint",
        "status",
        "first_seen",
        "last_seen",
        "mitigated_at",
        "sla_due",
        "kev",
        "detected_at",
        "sla_due_at_close",
    ]
    weights = [w for _, w, _ in SEVERITIES]
    first_id = _next_id(cursor, "findings_finding")
    total_sightings = 0
    batch: list[list[Any]] = []
    sightings: list[list[Any]] = []
    for n in range(FINDINGS):
        asset_id = first_asset + rng.randrange(ASSETS)
        severity, _, sla_days = rng.choices(SEVERITIES, weights)[0]
        first_seen = start + dt.timedelta(seconds=rng.random() * DAYS * 86400)
        published = first_seen - dt.timedelta(days=rng.expovariate(1 / 60)) if rng.random() < 0.7 else None
        due = (first_seen.date() + dt.timedelta(days=sla_days)) if sla_days else None
        fid = first_id + n
        status, mitigated_at, at_close, cursor_time = "open", None, None, first_seen
        # Up to three episodes: patched after an exponential time, sometimes reopened later.
        for _episode in range(3):
            fix = cursor_time + dt.timedelta(days=rng.expovariate(1 / (sla_days or 120)))
            if fix > now:
                break
            if rng.random() < 0.05:
                status, at_close = "false_positive", due
                sightings.append([fid, None, "triaged", fix.isoformat(), "false_positive", due])
                break
            status, mitigated_at, at_close = "mitigated", fix, due
            sightings.append([fid, None, "mitigated", fix.isoformat(), "mitigated", due])
            back = fix + dt.timedelta(days=rng.expovariate(1 / 90))
            if rng.random() > 0.1 or back > now:
                break
            due = (back.date() + dt.timedelta(days=sla_days)) if sla_days else None
            status, mitigated_at, at_close, cursor_time = "open", None, None, back
            sightings.append([fid, None, "reopened", back.isoformat(), "open", due])
        batch.append([
            fid, asset_id, asset_team[asset_id], "trivy", "vulnerability", f"CVE-{2020 + n % 6}-{n:07}",
            f"Issue {n}", severity, f"pkg-{n % 5000}", "1.0", "1.1", "", "",
            published.isoformat() if published else None,
            "", "", f"{n:064x}", status, first_seen.isoformat(), now.isoformat(),
            mitigated_at.isoformat() if mitigated_at else None, due, "f", first_seen.isoformat(), at_close,
        ])  # fmt: skip
        if len(batch) >= 100_000:
            _copy(cursor, "findings_finding", columns, batch)
            batch = []
        if len(sightings) >= 100_000:
            _copy(cursor, "findings_findingsighting", SIGHTING_COLUMNS, sightings)
            total_sightings += len(sightings)
            sightings = []
    _copy(cursor, "findings_finding", columns, batch)
    _copy(cursor, "findings_findingsighting", SIGHTING_COLUMNS, sightings)
    _set_sequence(cursor, "findings_finding", first_id + FINDINGS)
    return total_sightings + len(sightings)


def bench_snapshots() -> dict[str, float]:
    from django.utils import timezone

    from metrics.models import FindingSnapshot
    from metrics.services.snapshots import snapshot_backfill, snapshot_compute_controls, snapshot_compute_day

    today = timezone.localdate()
    started = time.perf_counter()
    snapshot_backfill(since=today - dt.timedelta(days=DAYS), until=today - dt.timedelta(days=1))
    backfill_s = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    snapshot_compute_day(day=today)
    day_s = round(time.perf_counter() - started, 2)
    rows = FindingSnapshot.objects.count()
    print(f"backfill of {DAYS} days: {backfill_s} s ({rows} finding snapshot rows); one day: {day_s} s")
    # Its control part alone (included in the day above): today's assessments recorded again.
    started = time.perf_counter()
    control_rows = snapshot_compute_controls(day=today)
    control_s = round(time.perf_counter() - started, 2)
    print(f"control snapshot of one day: {control_s} s ({control_rows} rows)")
    # The snapshot task as a worker runs it, in its own process, for its peak memory.
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "compute_metrics", "--date", today.isoformat()],
        env={**os.environ, "HYGIENE_DB_NAME": DB_NAME},
        check=True,
        stdout=subprocess.DEVNULL,
    )
    peak_mb = round(max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024, 1)
    print(f"compute_metrics for one day: peak RSS {peak_mb} MB")
    return {"backfill_s": backfill_s, "day_s": day_s, "control_s": control_s, "peak_rss_mb": peak_mb}


def _timed(client: Any, urls: list[str]) -> list[float]:
    times = []
    for url in urls:
        started = time.perf_counter()
        response = client.get(url, HTTP_HOST="localhost")
        times.append(_ms(started))
        assert response.status_code == 200, (url, response.status_code)
    return times


def _cold_overview(client: Any, samples: int = 5) -> list[float]:
    """The overview's first request after a data change (one finding touched, as an import would):
    the dashboard is computed again, not served from the cache kept for the previous data version."""
    from django.db import connection

    times = []
    for _ in range(samples):
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE findings_finding SET status = status"
                " WHERE id = (SELECT min(id) FROM findings_finding)"
            )
        times += _timed(client, ["/"])
    return times


def bench_pages(teams: list[Any]) -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from hygiene.models import Membership, TeamRole
    from hygiene.services.teams import user_create
    from metrics.dashboards import Period, build_dashboard, parse_month
    from metrics.selectors import Scope

    users = get_user_model().objects
    if users.filter(username="bench-lead").exists():  # a reused database
        lead, member = users.get(username="bench-lead"), users.get(username="bench-member")
    else:
        lead = user_create(username="bench-lead", email="l@example.org", password="bench-password-123",
                           role="Security lead")  # fmt: skip
        member = user_create(username="bench-member", email="m@example.org", password="bench-password-123",
                             role="Member")  # fmt: skip
        Membership.objects.create(team=teams[0], user=member, role=TeamRole.MEMBER)
    results: dict[str, Any] = {}
    for name, user in (("lead", lead), ("member", member)):
        client = Client()
        client.force_login(user)
        _timed(client, ["/"] * 3)  # warm-up
        overview = _timed(client, ["/"] * REQUESTS)
        team = _timed(client, [f"/metrics/teams/{teams[0].slug}/"] * REQUESTS)
        cold = _cold_overview(client)
        dashboard = build_dashboard(Scope(user=user), Period.month(parse_month(None)))
        drill = [
            cell[1]
            for chart in dashboard.charts
            for row in chart.rows
            for cell in row
            if isinstance(cell, tuple) and cell[1].startswith("/findings/")
        ]
        drill_times = _timed(client, [drill[i % len(drill)] for i in range(REQUESTS)])
        api = _timed(
            client,
            [
                ["/api/v1/metrics/open_past_sla/", "/api/v1/metrics/ttp_p50_high/",
                 "/api/v1/metrics/sla_compliance/", "/api/v1/metrics/open/series/?interval=day"][i % 4]
                for i in range(REQUESTS)
            ],
        )  # fmt: skip
        results[name] = {
            "overview_p95": _p95(overview),
            "overview_cold": statistics.median(cold),
            "team_p95": _p95(team),
            "drilldown_p95": _p95(drill_times),
            "api_p95": _p95(api),
        }
        print(f"as {name}: overview p50 {statistics.median(overview):.0f} ms p95 {_p95(overview)} ms, "
              f"first after a change {statistics.median(cold):.0f} ms (median of {len(cold)}); "
              f"team p95 {_p95(team)} ms; drill-down p95 {_p95(drill_times)} ms over {len(drill)} lists; "
              f"API p95 {_p95(api)} ms")  # fmt: skip
    floor = []
    with connection.cursor() as cursor:
        for _ in range(5):
            started = time.perf_counter()
            cursor.execute(
                "SELECT team_id, severity, count(*) FROM findings_finding WHERE status = 'open' GROUP BY 1, 2"
            )
            cursor.fetchall()
            floor.append(_ms(started))
    results["group_by_floor_ms"] = statistics.median(floor)
    print(f"plain GROUP BY over the findings table: {results['group_by_floor_ms']} ms")
    return results


def main() -> None:
    django_setup(DB_NAME)
    rng = random.Random(20261129)  # reproducible data, not secrets
    began = time.perf_counter()
    reuse = bool(os.environ.get("BENCH_REUSE_DATABASE"))
    if not reuse:
        create_database(DB_NAME)
    try:
        if reuse:
            from hygiene.models import Team

            loaded = {"teams": list(Team.objects.filter(slug__startswith="bench-").order_by("slug"))}
            from incidents.models import Incident

            loaded["incidents"] = Incident.objects.count()
            snapshots = {"day_s": None, "backfill_s": None, "control_s": None, "peak_rss_mb": None}
        else:
            loaded = load(rng)
            snapshots = bench_snapshots()
        pages = bench_pages(loaded["teams"])
    finally:
        if not os.environ.get("BENCH_KEEP_DATABASE"):
            drop_database(DB_NAME)
    print(f"total {time.perf_counter() - began:.0f} s (scale {SCALE})")
    worst = {key: max(pages["lead"][key], pages["member"][key]) for key in pages["lead"]}
    print(
        json.dumps(
            {
                "scale": SCALE,
                "assets": ASSETS,
                "findings": FINDINGS,
                "incidents": loaded["incidents"],
                "assessments": loaded.get("assessments"),
                "snapshot_day_s": snapshots["day_s"],
                "control_snapshot_s": snapshots["control_s"],
                "backfill_730_days_s": snapshots["backfill_s"],
                "overview_p95_ms": worst["overview_p95"],
                "team_dashboard_p95_ms": worst["team_p95"],
                "drilldown_p95_ms": worst["drilldown_p95"],
                "metrics_api_p95_ms": worst["api_p95"],
                "overview_p95_ms_by_role": {role: pages[role]["overview_p95"] for role in ("lead", "member")},
                "overview_cold_ms": worst["overview_cold"],
                "overview_cold_ms_by_role": {
                    role: pages[role]["overview_cold"] for role in ("lead", "member")
                },
                "peak_rss_mb": snapshots["peak_rss_mb"],
                "group_by_floor_ms": pages["group_by_floor_ms"],
            }
        )
    )


if __name__ == "__main__":
    main()
