"""What auditing every change of a finding's status by trigger costs an import, and the audit log's reads.

Run as ``.venv/bin/python bench/audit_status.py [--findings N]``. It creates its own database
(``hygiene_bench_audit``), fills one asset with N open findings, then times the import's mitigation
statement (every finding gone from a newer scan: N status changes, the worst case) with the status
trigger on, and again with it off on a fresh copy of the same rows, and times the audit log's first
page for a security lead and for an auditor (scoped by asset visibility) over the entries written.
The last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._database import create_database, django_setup, drop_database  # noqa: E402

DB_NAME = "hygiene_bench_audit"
MITIGATE = """
UPDATE findings_finding f
   SET mitigated_at = now(), status = CASE WHEN f.status = 'open' THEN 'mitigated' ELSE f.status END
 WHERE f.asset_id = %s AND f.mitigated_at IS NULL AND f.status <> 'mitigated'
"""
FILL = """
INSERT INTO findings_finding (asset_id, team_id, scanner, category, rule_id, title, severity, package,
    installed_version, fixed_version, location, target, description, url, fingerprint, status,
    first_seen, last_seen, kev)
SELECT %s, %s, 'trivy', 'vulnerability', 'CVE-2024-' || n, 'Issue ' || n, 'high', 'lib' || (n %% 500),
       '1.0', '1.1', '', '', '', '', md5(%s || n::text), 'open', now(), now(), false
  FROM generate_series(1, %s) AS n
"""


def _fill(cursor: object, asset: object, n: int, salt: str) -> None:
    cursor.execute(FILL, [asset.pk, asset.team_id, salt, n])  # type: ignore[attr-defined]


def _time_mitigation(asset: object, n: int, *, trigger: bool) -> float:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        _fill(cursor, asset, n, "on" if trigger else "off")
        if not trigger:
            cursor.execute("ALTER TABLE findings_finding DISABLE TRIGGER hygiene_audit_finding_status")
        started = time.perf_counter()
        cursor.execute(MITIGATE, [asset.pk])  # type: ignore[attr-defined]
        elapsed = time.perf_counter() - started
        if not trigger:
            cursor.execute("ALTER TABLE findings_finding ENABLE TRIGGER hygiene_audit_finding_status")
        cursor.execute("DELETE FROM findings_finding WHERE asset_id = %s", [asset.pk])  # type: ignore[attr-defined]
    return elapsed


def _page_ms(user: object, repeats: int = 15) -> float:
    from hygiene.selectors import audit_entry_list_for_user

    timings = []
    for _ in range(repeats):
        for cached in ("_hygiene_visible_assets", "_hygiene_grants"):
            user.__dict__.pop(cached, None)
        started = time.perf_counter()
        list(audit_entry_list_for_user(user=user)[:25])
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--findings", type=int, default=50_000)
    n = parser.parse_args().findings
    django_setup(DB_NAME)
    create_database(DB_NAME)
    try:
        import datetime as dt

        from django.contrib.auth import get_user_model
        from django.utils import timezone

        from assets.models import Asset, ClassificationLevel
        from hygiene.models import AuditEntry, Team
        from hygiene.roles import AUDITOR, SECURITY_LEAD
        from hygiene.services.teams import user_create

        team = Team.objects.create(name="Bench", slug="bench")
        restricted = ClassificationLevel.objects.filter(is_restricted=True).first()
        asset = Asset.objects.create(team=team, name="bench-image", kind="container_image")
        hidden = Asset.objects.create(
            team=team, name="bench-restricted", classification=restricted, is_restricted=True
        )
        with_trigger = _time_mitigation(asset, n, trigger=True)
        without = _time_mitigation(asset, n, trigger=False)
        _time_mitigation(hidden, n // 2, trigger=True)  # entries an auditor must not see
        entries = AuditEntry.objects.count()
        lead = user_create(username="lead", email="l@example.org", password="x" * 20, role=SECURITY_LEAD)
        auditor = user_create(
            username="auditor",
            email="a@example.org",
            password="x" * 20,
            role=AUDITOR,
            access_expires_at=timezone.now() + dt.timedelta(days=5),
        )
        lead = get_user_model().objects.get(pk=lead.pk)
        auditor = get_user_model().objects.get(pk=auditor.pk)
        figures = {
            "findings": n,
            "mitigate_with_status_audit_s": round(with_trigger, 3),
            "mitigate_without_status_audit_s": round(without, 3),
            "status_audit_us_per_change": round((with_trigger - without) / n * 1e6, 1),
            "audit_entries": entries,
            "lead_audit_page_ms": round(_page_ms(lead), 2),
            "auditor_audit_page_ms": round(_page_ms(auditor), 2),
        }
    finally:
        drop_database(DB_NAME)
    for key, value in figures.items():
        print(f"{key:34} {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
