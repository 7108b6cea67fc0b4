"""Benchmark of the findings pages and the KEV/EPSS enrichment at a million findings.

Run as ``.venv/bin/python bench/findings_list.py``. It creates its own database
(``hygiene_bench_findings_ui``) on the configured server, COPYs 1,000,000 findings over 2,000 assets of
20 teams (with realistic status, severity and age mixes), then prints: the median and p95 server time
of the findings list (default view, search, KEV and past-SLA filters, EPSS, first-seen and SLA sorts)
and of the API list, for a team member, an auditor and a security lead, and of a finding page (Django
test client, signed in, so the permission path is exercised); the number of queries of a list page at
two page sizes; the time to load a 300,000-row EPSS file, to reload it with the next day's scores, and
to load a 1,300-entry KEV catalogue (with the updates of the findings they score), and to reload the
unchanged catalogue. It drops the database at the end; the last line is one JSON object.
"""

from __future__ import annotations

import gzip
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

DB_NAME = "hygiene_bench_findings_ui"
N_TEAMS = 20
ASSETS_PER_TEAM = 100
N_FINDINGS = 1_000_000
N_CVES = 40_000
N_EPSS = 300_000
N_KEV = 1_300
REQUESTS = 30


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def _p95(values: list[float]) -> float:
    return round(statistics.quantiles(values, n=20)[18], 2)


def _cve(n: int) -> str:
    return f"CVE-{2015 + n % 10}-{10000 + n}"


def build(rng: random.Random) -> tuple[list[Any], list[int]]:
    from django.db import connection
    from django.utils import timezone

    from assets.models import Asset
    from hygiene.models import Team

    teams = [Team.objects.create(name=f"Team {i}", slug=f"team-{i}") for i in range(N_TEAMS)]
    assets = Asset.objects.bulk_create(
        Asset(team=team, name=f"image-{t}-{a}", kind="container_image", is_restricted=a % 10 == 0)
        for t, team in enumerate(teams)
        for a in range(ASSETS_PER_TEAM)
    )
    packages = [f"package-{i}" for i in range(800)] + ["openssl", "log4j-core", "torch", "urllib3"]
    severities = ["critical"] * 5 + ["high"] * 25 + ["medium"] * 40 + ["low"] * 25 + ["info"] * 5
    statuses = ["open"] * 60 + ["mitigated"] * 32 + ["false_positive"] * 6 + ["risk_accepted"] * 2
    now = timezone.now()
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for batch in range(0, N_FINDINGS, 100_000):
            buffer = io.StringIO()
            for n in range(batch, min(batch + 100_000, N_FINDINGS)):
                asset = assets[n % len(assets)]
                package = rng.choice(packages)
                rule = _cve(rng.randrange(N_CVES))
                seen = now - timezone.timedelta(days=rng.randrange(400), minutes=rng.randrange(1440))
                due = (seen + timezone.timedelta(days=rng.choice([7, 30, 90, 180]))).date()
                severity, status = rng.choice(severities), rng.choice(statuses)
                buffer.write(
                    f"{asset.pk}\t{asset.team_id}\ttrivy\tvulnerability\t{rule}\t"
                    f"{package}: flaw {n} in parser\t"
                    f"{severity}\t{package}\t1.{n % 9}.0\t1.{n % 9}.1\tusr/lib/{package}\t{asset.name}\t\t"
                    f"https://nvd.nist.gov/vuln/detail/{rule}\t{n:064x}\t{status}\t{seen.isoformat()}\t"
                    f"{now.isoformat()}\t{due}\tf\n"
                )
            buffer.seek(0)
            cursor.copy_expert(
                "COPY findings_finding (asset_id, team_id, scanner, category, rule_id, title, severity,"
                " package, installed_version, fixed_version, location, target, description, url,"
                " fingerprint, status, first_seen, last_seen, sla_due, kev) FROM STDIN",
                buffer,
            )
        cursor.execute("VACUUM ANALYZE findings_finding")
    print(f"built {N_FINDINGS:,} findings on {len(assets):,} assets in {time.perf_counter() - started:.1f} s")
    from findings.models import Finding

    return teams, list(Finding.objects.filter(asset__is_restricted=False).values_list("id", flat=True)[:1])


def _timed(client: Any, urls: list[str]) -> list[float]:
    times = []
    for url in urls:
        started = time.perf_counter()
        response = client.get(url, HTTP_HOST="localhost")
        times.append(_ms(started))
        assert response.status_code == 200, (url, response.status_code)
    return times


def bench_pages(teams: list[Any], finding_id: int) -> dict[str, Any]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from hygiene.models import Membership, TeamRole
    from hygiene.services.teams import user_create

    member = user_create(username="bench-member", email="m@example.org", password="bench-password-123",
                         role="Member")  # fmt: skip
    Membership.objects.create(team=teams[0], user=member, role=TeamRole.CHAMPION)
    lead = user_create(username="bench-lead", email="l@example.org", password="bench-password-123",
                       role="Security lead")  # fmt: skip
    until = timezone.now() + timezone.timedelta(days=30)
    auditor = user_create(username="bench-auditor", email="a@example.org", password="bench-password-123",
                          role="Auditor", access_expires_at=until)  # fmt: skip
    views = {
        "default": "/findings/",
        "search_word": "/findings/?q=openssl",
        "search_cve": f"/findings/?q={_cve(1234)}",
        "kev": "/findings/?kev=on",
        "past_sla": "/findings/?past_sla=on",
        "epss_sort": "/findings/?sort=epss",
        "newest_sort": "/findings/?sort=newest",
        "sla_sort": "/findings/?sort=sla_due",
        "page_40": "/findings/?page=40",
        # The API has no default status: every finding the person may see, worst first.
        "api_default": "/api/v1/findings/",
        "api_open": "/api/v1/findings/?status=open",
        "api_search": "/api/v1/findings/?q=openssl",
    }
    results: dict[str, Any] = {}
    for who, user in (("member", member), ("auditor", auditor), ("lead", lead)):
        client = Client()
        client.force_login(user)
        _timed(client, ["/findings/"] * 3)  # warm-up: connections, template caches
        for name, url in views.items():
            times = _timed(client, [url] * REQUESTS)
            results[f"{who}_{name}"] = (round(statistics.median(times), 1), _p95(times))
        detail = _timed(client, [f"/findings/{finding_id}/"] * REQUESTS) if who == "lead" else []
        if detail:
            results["lead_detail"] = (round(statistics.median(detail), 1), _p95(detail))
    client = Client()
    client.force_login(member)
    queries = []
    for size in (25, 200):
        with CaptureQueriesContext(connection) as captured:
            client.get(f"/findings/?per_page={size}", HTTP_HOST="localhost")
        queries.append(len(captured))
    for name, (p50, p95) in results.items():
        print(f"{name:<22} median {p50:>8.1f} ms   p95 {p95:>8.1f} ms")
    print(f"queries per list page at 25 and 200 rows: {queries}")
    return {"pages": results, "queries": queries}


def bench_enrichment(rng: random.Random) -> dict[str, float]:
    from findings.models import Finding
    from findings.services.enrichment import epss_load, kev_load

    lines = ["#model_version:v2025.03.14,score_date:2025-06-01T00:00:00+0000", "cve,epss,percentile"]
    lines += [f"{_cve(n)},{rng.random() ** 4:.5f},{rng.random():.5f}" for n in range(N_EPSS)]
    epss_file = gzip.compress("\n".join(lines).encode())
    kev = {"vulnerabilities": [
        {"cveID": _cve(n), "vendorProject": "Vendor", "product": f"Product {n}", "vulnerabilityName": "Flaw",
         "dateAdded": "2024-01-02", "dueDate": "2024-01-23", "knownRansomwareCampaignUse": "Unknown"}
        for n in rng.sample(range(N_CVES), N_KEV)
    ]}  # fmt: skip
    kev_file = json.dumps(kev).encode()
    started = time.perf_counter()
    epss = epss_load(stream=io.BytesIO(epss_file), origin="bench")
    epss_ms = _ms(started)
    # The next day's file: FIRST moves most scores a little, so a daily reload rewrites most findings.
    lines[2:] = [f"{_cve(n)},{rng.random() ** 4:.5f},{rng.random():.5f}" for n in range(N_EPSS)]
    started = time.perf_counter()
    reloaded = epss_load(stream=io.BytesIO(gzip.compress("\n".join(lines).encode())), origin="bench")
    epss_reload_ms = _ms(started)
    started = time.perf_counter()
    first = kev_load(stream=io.BytesIO(kev_file), origin="bench")
    kev_ms = _ms(started)
    started = time.perf_counter()
    again = kev_load(stream=io.BytesIO(kev_file), origin="bench")
    kev_again_ms = _ms(started)
    scored = Finding.objects.filter(epss__isnull=False).count()
    print(f"EPSS load of {epss.entries:,} scores: {epss_ms / 1000:.2f} s ({epss.findings_updated:,} findings "
          f"updated, {scored:,} scored); next day's reload {epss_reload_ms / 1000:.2f} s "
          f"({reloaded.findings_updated:,} findings updated)")  # fmt: skip
    print(f"KEV load of {first.entries:,} entries: {kev_ms / 1000:.2f} s "
          f"({first.findings_updated:,} findings flagged and re-dated); "
          f"unchanged reload {kev_again_ms / 1000:.2f} s ({again.findings_updated} updated)")  # fmt: skip
    return {"epss_load_s": epss_ms / 1000, "epss_reload_s": epss_reload_ms / 1000,
            "kev_load_s": kev_ms / 1000, "kev_reload_s": kev_again_ms / 1000,
            "kev_findings_updated": first.findings_updated}  # fmt: skip


def main() -> None:
    django_setup(DB_NAME)
    create_database(DB_NAME)
    try:
        rng = random.Random(0)
        teams, ids = build(rng)
        enrichment = bench_enrichment(rng)
        pages = bench_pages(teams, ids[0])
    finally:
        drop_database(DB_NAME)
    figures = {
        "findings": N_FINDINGS,
        "member_list_p95_ms": pages["pages"]["member_default"][1],
        "lead_list_p95_ms": pages["pages"]["lead_default"][1],
        "lead_search_p95_ms": pages["pages"]["lead_search_word"][1],
        "lead_cve_search_p95_ms": pages["pages"]["lead_search_cve"][1],
        "lead_detail_p95_ms": pages["pages"]["lead_detail"][1],
        "auditor_list_p95_ms": pages["pages"]["auditor_default"][1],
        "member_search_p95_ms": pages["pages"]["member_search_word"][1],
        "auditor_search_p95_ms": pages["pages"]["auditor_search_word"][1],
        **{
            f"{who}_api_p95_ms": pages["pages"][f"{who}_api_default"][1]
            for who in ("member", "auditor", "lead")
        },
        "queries_per_list_page": pages["queries"],
        **enrichment,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
