"""Benchmark of incidents: the list and incident pages at 5,000 incidents, and the escalation task.

Run as ``.venv/bin/python bench/incidents.py``. It creates its own database (``hygiene_bench_incidents``) on
the configured server (the embedded one unless DATABASE_URL is set), loads by COPY 200 assets, 5,000
incidents over four teams (a tenth restricted) with 20 timeline entries each (100,000 entries), asset links
and checklists, and drops the database at the end. It measures:

- server time of the incident list (several filters) and of incident pages through Django's test client,
  50 requests each, as a plain member of one team (1,250 incidents in scope) and as a security lead;
- the escalation task over 500 open incidents (300 unacknowledged, 200 acknowledged with a running checklist)
  at beat ticks 16 and 46 minutes after their report, a catch-up tick three hours later (every level of every
  incident and overdue step still to fire), and an idle tick that finds nothing new.

The last line is one JSON object with the figures.
"""

from __future__ import annotations

import datetime as dt
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

DB_NAME = "hygiene_bench_incidents"
TEAMS = 4
ASSETS = 200
INCIDENTS = 5_000
ENTRIES = 20
OPEN_UNACKNOWLEDGED = 300
OPEN_WITH_OVERDUE_STEPS = 200
REQUESTS = 50
CATEGORIES = [
    "credential_leak",
    "data_leakage",
    "model_theft",
    "prompt_injection",
    "poisoning",
    "supply_chain",
    "misconfiguration",
    "unauthorized_access",
    "availability",
]
SEVERITIES = ["critical", "high", "medium", "low"]


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


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


def _times(rng: random.Random, now: dt.datetime, status: str) -> list[Any]:
    """occurred, detected, reported, acknowledged, contained, resolved, closed for a status."""
    occurred = now - dt.timedelta(days=rng.uniform(1, 400))
    times: list[Any] = [occurred]
    for minutes in (
        rng.uniform(5, 2000),
        rng.uniform(1, 60),
        rng.uniform(2, 90),
        rng.uniform(30, 600),
        rng.uniform(60, 3000),
        rng.uniform(60, 5000),
    ):
        times.append(times[-1] + dt.timedelta(minutes=minutes))
    reached = ["reported", "acknowledged", "contained", "resolved", "closed"].index(status)
    return [t.isoformat() for t in times[: 3 + reached]] + [None] * (4 - reached)


def load(rng: random.Random) -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from assets.models import ClassificationLevel
    from hygiene.models import Membership, Team, TeamRole
    from incidents.models import Playbook

    teams = [Team.objects.create(name=f"Bench team {i}", slug=f"bench-{i}") for i in range(TEAMS)]
    users = get_user_model()
    champions = []
    for i, team in enumerate(teams):
        champion = users.objects.create_user(username=f"champion-{i}", email=f"c{i}@example.org")
        Membership.objects.create(team=team, user=champion, role=TeamRole.CHAMPION)
        champions.append(champion)
    levels = {level.slug: level.pk for level in ClassificationLevel.objects.all()}
    now = timezone.now()
    playbooks = list(Playbook.objects.select_related("current_version"))
    started = time.perf_counter()
    with connection.cursor() as cursor:
        # Bulk load: the audit triggers would log rows nobody made; the bench skips them.
        cursor.execute("SET session_replication_role = replica")
        first_asset = _next_id(cursor, "assets_asset")
        assets = []
        for n in range(ASSETS):
            restricted = n % 10 == 0
            level = levels["restricted"] if restricted else levels["internal"]
            assets.append(
                [
                    first_asset + n,
                    teams[n % TEAMS].pk,
                    f"bench-asset-{n:03}",
                    "model",
                    "production",
                    "medium",
                    "active",
                    level,
                    level,
                    "{}",
                    "{}",
                    "",
                    now.isoformat(),
                    now.isoformat(),
                    "t" if restricted else "f",
                ]
            )
        _copy(
            cursor,
            "assets_asset",
            [
                "id",
                "team_id",
                "name",
                "kind",
                "environment",
                "criticality",
                "lifecycle",
                "classification_id",
                "effective_classification_id",
                "identifiers",
                "tags",
                "description",
                "created_at",
                "updated_at",
                "is_restricted",
            ],
            assets,
        )
        _set_sequence(cursor, "assets_asset", first_asset + ASSETS)

        first = _next_id(cursor, "incidents_incident")
        incidents, links, entries = [], [], []
        statuses = ["closed"] * 3 + ["resolved"]  # the open ones are set below
        for n in range(INCIDENTS):
            team_index = n % TEAMS
            status = rng.choice(statuses)
            asset_n = rng.randrange(ASSETS // TEAMS) * TEAMS + team_index
            restricted = asset_n % 10 == 0
            times = _times(rng, now, status)
            commander = champions[team_index].pk
            incidents.append(
                [
                    first + n,
                    teams[team_index].pk,
                    f"Bench incident {n}: token in notebook",
                    "",
                    rng.choice(CATEGORIES),
                    rng.choice(SEVERITIES),
                    status,
                    commander,
                    commander,
                    "t" if restricted else "f",
                    *times,
                    0,
                    now.isoformat(),
                ]
            )
            links.append([first + n, first_asset + asset_n, now.isoformat()])
            for k in range(ENTRIES):
                entries.append(
                    [first + n, "note", times[2], now.isoformat(), "", f"Bench note {k} of {n}", "{}"]
                )
        _copy(
            cursor,
            "incidents_incident",
            [
                "id",
                "team_id",
                "title",
                "description",
                "category",
                "severity",
                "status",
                "reporter_id",
                "commander_id",
                "is_restricted",
                "occurred_at",
                "detected_at",
                "reported_at",
                "acknowledged_at",
                "contained_at",
                "resolved_at",
                "closed_at",
                "escalation_level",
                "updated_at",
            ],
            incidents,
        )
        _set_sequence(cursor, "incidents_incident", first + INCIDENTS)
        _copy(cursor, "incidents_incidentasset", ["incident_id", "asset_id", "added_at"], links)
        _copy(
            cursor,
            "incidents_timelineentry",
            ["incident_id", "kind", "at", "recorded_at", "actor_label", "text", "data"],
            entries,
        )
        # Open incidents for the escalation task: unacknowledged ones reported 3 hours ago, and acknowledged
        # ones whose playbook started 3 hours ago (every step overdue).
        reported = (now - dt.timedelta(hours=3)).isoformat()
        opened = list(range(first, first + OPEN_UNACKNOWLEDGED + OPEN_WITH_OVERDUE_STEPS))
        cursor.execute(
            "UPDATE incidents_incident SET status = 'reported', occurred_at = %s, detected_at = %s,"
            " reported_at = %s, acknowledged_at = NULL, contained_at = NULL, resolved_at = NULL,"
            " closed_at = NULL, commander_id = NULL WHERE id = ANY(%s)",
            [reported, reported, reported, opened],
        )
        acknowledged = opened[OPEN_UNACKNOWLEDGED:]
        cursor.execute(
            "UPDATE incidents_incident SET status = 'acknowledged', acknowledged_at = %s,"
            " commander_id = reporter_id WHERE id = ANY(%s)",
            [reported, acknowledged],
        )
        first_run = _next_id(cursor, "incidents_playbookrun")
        runs, items = [], []
        for k, incident_id in enumerate(acknowledged):
            version = playbooks[k % len(playbooks)].current_version
            runs.append([first_run + k, incident_id, version.pk, reported])
            for step in version.steps.all():
                due = (now - dt.timedelta(hours=3) + dt.timedelta(minutes=step.target_minutes)).isoformat()
                items.append([first_run + k, step.position, step.title, "", step.role, due])
        _copy(cursor, "incidents_playbookrun", ["id", "incident_id", "version_id", "started_at"], runs)
        _set_sequence(cursor, "incidents_playbookrun", first_run + len(runs))
        _copy(
            cursor,
            "incidents_checklistitem",
            ["run_id", "position", "title", "guidance", "role", "due_at"],
            items,
        )
        cursor.execute("SET session_replication_role = origin")
        cursor.execute(
            "ANALYZE assets_asset; ANALYZE incidents_incident; ANALYZE incidents_timelineentry;"
            " ANALYZE incidents_incidentasset; ANALYZE incidents_checklistitem"
        )
    load_ms = _ms(started)
    print(f"loaded {INCIDENTS} incidents with {len(entries)} timeline entries in {load_ms:.0f} ms")
    return {"teams": teams, "first": first, "opened": opened, "reported": now - dt.timedelta(hours=3)}


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


LIST_URLS = [
    "/incidents/",
    "/incidents/?status=open",
    "/incidents/?severity=critical",
    "/incidents/?category=prompt_injection&period=90",
    "/incidents/?q=notebook",
    "/incidents/?status=closed&page=3",
]


def bench_pages(loaded: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from hygiene.models import Membership, TeamRole
    from hygiene.services.teams import user_create

    member = user_create(
        username="bench-member", email="m@example.org", password="bench-password-123", role="Member"
    )
    Membership.objects.create(team=loaded["teams"][0], user=member, role=TeamRole.MEMBER)
    lead = user_create(
        username="bench-lead", email="l@example.org", password="bench-password-123", role="Security lead"
    )
    figures: dict[str, Any] = {}
    first = loaded["first"]
    for name, person, own_only in (("member", member, True), ("lead", lead, False)):
        client = Client()
        client.force_login(person)
        _timed(client, ["/incidents/"] * 5)  # warm-up: connections, template caches
        list_times = _timed(client, [LIST_URLS[i % len(LIST_URLS)] for i in range(REQUESTS)])
        ids = [
            first + rng.randrange(INCIDENTS // TEAMS) * TEAMS
            if own_only
            else first + rng.randrange(INCIDENTS)
            for _ in range(REQUESTS)
        ]
        detail_times = _timed(client, [f"/incidents/{pk}/" for pk in ids])
        # A page with almost no work: what the middleware stack and this (shared) machine cost on their own.
        baseline = _timed(client, ["/teams/"] * REQUESTS)
        with CaptureQueriesContext(connection) as captured:
            _timed(client, [f"/incidents/{ids[0]}/"])
        figures[name] = {
            "list_p50": round(statistics.median(list_times), 2),
            "list_p95": _p95(list_times),
            "detail_p50": round(statistics.median(detail_times), 2),
            "detail_p95": _p95(detail_times),
            "detail_queries": len(captured.captured_queries),
            "baseline_p50": round(statistics.median(baseline), 2),
        }
        print(
            f"{name}: list median {figures[name]['list_p50']} ms, p95 {figures[name]['list_p95']} ms;"
            f" incident page median {figures[name]['detail_p50']} ms, p95 {figures[name]['detail_p95']} ms,"
            f" {figures[name]['detail_queries']} queries; baseline (teams page) median"
            f" {figures[name]['baseline_p50']} ms"
        )
    return figures


def bench_escalation(loaded: dict[str, Any]) -> dict[str, Any]:
    """Beat ticks at simulated times after the open incidents were reported (and their playbooks started)."""
    from incidents.services.escalation import escalation_run

    ticks = {}
    for label, minutes in (("16 min", 16), ("46 min", 46), ("3 h (catch-up)", 180), ("3 h 01 (idle)", 181)):
        started = time.perf_counter()
        result = escalation_run(now=loaded["reported"] + dt.timedelta(minutes=minutes))
        ticks[label] = {"ms": _ms(started), "fired": result.fired, "notified": result.notified}
        print(
            f"escalation tick {label} after the reports, over {OPEN_UNACKNOWLEDGED + OPEN_WITH_OVERDUE_STEPS}"
            f" open incidents: {result.fired} levels fired on {result.incidents} incidents,"
            f" {result.notified} notifications, {ticks[label]['ms']} ms"
        )
    return ticks


def main() -> None:
    django_setup(DB_NAME)
    rng = random.Random(20261129)  # reproducible data, not secrets
    began = time.perf_counter()
    create_database(DB_NAME)
    try:
        loaded = load(rng)
        pages = bench_pages(loaded, rng)
        escalation = bench_escalation(loaded)
    finally:
        if not os.environ.get("BENCH_KEEP_DATABASE"):
            drop_database(DB_NAME)
    print(f"total {time.perf_counter() - began:.0f} s")
    print(
        json.dumps(
            {
                "incidents": INCIDENTS,
                "timeline_entries": INCIDENTS * ENTRIES,
                "member_list_p95_ms": pages["member"]["list_p95"],
                "member_detail_p95_ms": pages["member"]["detail_p95"],
                "lead_list_p95_ms": pages["lead"]["list_p95"],
                "lead_detail_p95_ms": pages["lead"]["detail_p95"],
                "member_list_p50_ms": pages["member"]["list_p50"],
                "member_detail_p50_ms": pages["member"]["detail_p50"],
                "detail_queries": pages["member"]["detail_queries"],
                "baseline_teams_page_p50_ms": pages["member"]["baseline_p50"],
                "escalation_open_incidents": OPEN_UNACKNOWLEDGED + OPEN_WITH_OVERDUE_STEPS,
                "escalation_tick_16min_ms": escalation["16 min"]["ms"],
                "escalation_tick_16min_fired": escalation["16 min"]["fired"],
                "escalation_tick_46min_ms": escalation["46 min"]["ms"],
                "escalation_tick_46min_fired": escalation["46 min"]["fired"],
                "escalation_catch_up_ms": escalation["3 h (catch-up)"]["ms"],
                "escalation_catch_up_fired": escalation["3 h (catch-up)"]["fired"],
                "escalation_idle_tick_ms": escalation["3 h 01 (idle)"]["ms"],
                "escalation_idle_tick_fired": escalation["3 h 01 (idle)"]["fired"],
            }
        )
    )


if __name__ == "__main__":
    main()
