"""Benchmark of the exports: a million-finding CSV export, and an evidence bundle and its verification.

Run as ``.venv/bin/python bench/exports.py`` (``--findings N`` for a smaller run). It creates its own
database (``hygiene_bench_exports``) on the configured server and drops it at the end:

- COPYs 1,000,000 open findings of one team, then streams ``/exports/findings.csv`` through Django's
  test client as a member of that team (the permission path and the filters of the list run), counting
  rows per second and sampling the process's resident memory while it streams; the same list as JSON;
- builds an engagement of another team with 2,000 control assessments (40 controls x 50 assets) carrying
  500 evidence files of 100 KB, 500 raw scan files of 100 KB, 2,000 findings and 100,000 sealed audit-log
  entries in its period, times ``bundle_write`` (records, evidence, audit-log extract, manifest, Ed25519
  signature) with its peak memory, then times ``bundle_verify`` of it;
- streams the whole audit log (those 100,000 entries) as CSV to a security lead.

The last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._database import create_database, django_setup, drop_database  # noqa: E402

DB_NAME = "hygiene_bench_exports"
EVIDENCE_FILES = 500
EVIDENCE_BYTES = 100 * 1024
BUNDLE_FINDINGS = 2_000
BUNDLE_CONTROLS = 40  # x 50 assets = 2,000 assessments
AUDIT_ENTRIES = 100_000


class PeakRss:
    """Samples this process's resident memory in a thread; ``peak_mb`` is the highest seen."""

    def __init__(self) -> None:
        import psutil

        self._process = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._process.memory_info().rss)
            self._stop.wait(0.02)

    def __enter__(self) -> PeakRss:
        self.peak = self._process.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)

    @property
    def peak_mb(self) -> float:
        return round(self.peak / 1024 / 1024, 1)


def _copy_findings(cursor: Any, assets: list[Any], count: int, start: int, rng: random.Random) -> None:
    from django.utils import timezone

    now = timezone.now()
    severities = ["critical", "high", "high", "medium", "medium", "medium", "low", "low"]
    for batch in range(0, count, 100_000):
        buffer = io.StringIO()
        for n in range(start + batch, start + min(batch + 100_000, count)):
            asset = assets[n % len(assets)]
            seen = now - timezone.timedelta(days=rng.randrange(60), minutes=rng.randrange(1440))
            buffer.write(
                f"{asset.pk}\t{asset.team_id}\ttrivy\tvulnerability\tCVE-2024-{10000 + n % 40000}\t"
                f"package-{n % 800}: flaw {n} in parser\t{rng.choice(severities)}\tpackage-{n % 800}\t"
                f"1.{n % 9}.0\t1.{n % 9}.1\tusr/lib/package\t{asset.name}\t\thttps://nvd.nist.gov/\t"
                f"{n:064x}\topen\t{seen.isoformat()}\t{now.isoformat()}\t{(seen.date())}\tf\n"
            )
        buffer.seek(0)
        cursor.copy_expert(
            "COPY findings_finding (asset_id, team_id, scanner, category, rule_id, title, severity,"
            " package, installed_version, fixed_version, location, target, description, url,"
            " fingerprint, status, first_seen, last_seen, sla_due, kev) FROM STDIN",
            buffer,
        )


def bench_export(n_findings: int, rng: random.Random, *, sort: bool = False) -> dict[str, Any]:
    from django.db import connection
    from django.test import Client

    from assets.models import Asset
    from hygiene.models import Membership, Team, TeamRole
    from hygiene.services.teams import user_create

    team = Team.objects.create(name="Export team", slug="export-team")
    assets = Asset.objects.bulk_create(
        Asset(team=team, name=f"image-{a}", kind="container_image", environment="production")
        for a in range(200)
    )
    started = time.perf_counter()
    with connection.cursor() as cursor:
        _copy_findings(cursor, assets, n_findings, 0, rng)
        cursor.execute("VACUUM ANALYZE findings_finding")
    print(f"loaded {n_findings:,} findings in {time.perf_counter() - started:.1f} s")
    member = user_create(username="bench-member", email="m@example.org", password="bench-password-123",
                         role="Member")  # fmt: skip
    Membership.objects.create(team=team, user=member, role=TeamRole.MEMBER)
    client = Client()
    client.force_login(member)
    # Warm-up, as a running server is: the first request imports every view and loads the URL conf
    # (seconds on this machine), which is no part of an export's speed.
    assert client.get("/exports/", HTTP_HOST="localhost").status_code == 200
    query = "?sort=severity" if sort else ""
    rows, size, seconds, rss = _stream(client, "/exports/findings.csv" + query)
    rows -= 1  # the header
    assert rows == n_findings, (rows, n_findings)
    rate = round(rows / seconds)
    print(f"findings CSV export: {rows:,} rows, {size / 1024 / 1024:.0f} MiB in {seconds:.1f} s = "
          f"{rate:,} rows/s; peak RSS {rss.peak_mb} MB")  # fmt: skip
    copy_rate = _raw_copy_rate(member, n_findings, sort=sort)
    print(
        f"raw COPY of the same query to /dev/null: {copy_rate:,} rows/s; export/COPY = {rate / copy_rate:.2f}"
    )
    json_rows, json_size, json_seconds, json_rss = _stream(client, "/exports/findings.json" + query)
    json_rows -= 2  # "[" and "]" stand on lines of their own
    assert json_rows == n_findings, (json_rows, n_findings)
    json_rate = round(json_rows / json_seconds)
    print(f"findings JSON export: {json_rows:,} objects, {json_size / 1024 / 1024:.0f} MiB in "
          f"{json_seconds:.1f} s = {json_rate:,} rows/s; peak RSS {json_rss.peak_mb} MB")  # fmt: skip
    return {"findings_csv_rows": rows, "findings_csv_rows_per_s": rate, "export_peak_rss_mb": rss.peak_mb,
            "export_s": round(seconds, 2), "export_sorted": sort, "raw_copy_rows_per_s": copy_rate,
            "export_to_raw_copy_ratio": round(rate / copy_rate, 3), "findings_json_rows_per_s": json_rate,
            "json_export_peak_rss_mb": json_rss.peak_mb}  # fmt: skip


def _stream(client: Any, url: str) -> tuple[int, int, float, PeakRss]:
    """(lines, bytes, seconds, peak memory) of downloading ``url`` as a browser would, chunk by chunk."""
    lines = size = 0
    with PeakRss() as rss:
        started = time.perf_counter()
        response = client.get(url, HTTP_HOST="localhost")
        assert response.status_code == 200 and response.streaming
        for chunk in response.streaming_content:
            size += len(chunk)
            lines += chunk.count(b"\n")
        seconds = time.perf_counter() - started
    return lines, size, seconds, rss


def _raw_copy_rate(member: Any, n_findings: int, *, sort: bool) -> int:
    """Rows per second of a bare COPY of the export's own query (same SQL, same cell expressions) into
    /dev/null, on the same server in the same run: the ceiling the streamed export is compared with."""
    from django.db import connection

    import hygiene.lib.exports as lib
    from hygiene.services.exports import export_get

    spec = export_get(key="findings")
    queryset = spec.queryset(member, spec.parse_filters(member, {"sort": "severity"} if sort else {}))
    sql, params, kinds = lib._select_sql(queryset, [lookup for _, lookup in spec.columns])
    aliases = [f"c{index}" for index in range(len(spec.columns))]
    select = ", ".join(lib._csv_expr(alias, kind) for alias, kind in zip(aliases, kinds, strict=True))
    copy_sql = f"COPY (SELECT {select} FROM ({sql}) AS export_rows({', '.join(aliases)}))"
    copy_sql += " TO STDOUT WITH (FORMAT csv)"
    connection.ensure_connection()
    with connection.connection.cursor() as cursor, open(os.devnull, "wb") as sink:
        started = time.perf_counter()
        cursor.copy_expert(cursor.mogrify(copy_sql, params).decode(), sink, size=256 * 1024)
        seconds = time.perf_counter() - started
    return round(n_findings / seconds)


def _load_bundle_data(rng: random.Random) -> Any:
    import hashlib

    from django.core.files.base import ContentFile
    from django.db import connection
    from django.utils import timezone

    from assets.models import Asset
    from audits.models import Engagement
    from findings.models import ImportJob
    from hygiene.models import Team
    from hygiene.roles import AUDITOR
    from hygiene.services.audit import audit_log_seal
    from hygiene.services.teams import user_create

    team = Team.objects.create(name="Audited team", slug="audited-team")
    assets = Asset.objects.bulk_create(
        Asset(team=team, name=f"model-{a}", kind="model", environment="production") for a in range(50)
    )
    now = timezone.now()
    for n in range(EVIDENCE_FILES):
        content = rng.randbytes(EVIDENCE_BYTES)
        ImportJob.objects.create(
            team=team, asset=assets[n % len(assets)], format="trivy", filename=f"scan-{n}.json",
            raw_file=ContentFile(content, name=f"scan-{n}.json"), sha256=hashlib.sha256(content).hexdigest(),
            size_bytes=len(content), status="done", created_at=now - timezone.timedelta(days=n % 30),
        )  # fmt: skip
    _assessments_with_evidence(team, assets, rng)
    with connection.cursor() as cursor:
        _copy_findings(cursor, assets, BUNDLE_FINDINGS, 10_000_000, rng)
        buffer = io.StringIO()
        for n in range(AUDIT_ENTRIES):
            at = now - timezone.timedelta(seconds=AUDIT_ENTRIES - n)
            after = json.dumps({"name": f"object {n}", "status": "open", "n": n})
            buffer.write(
                f'{at.isoformat()}\t\\N\tbench\tupdate\tassets_asset\t{n}\t\\N\t{after}\t["status"]\t{{}}\t\t\n'
            )
        buffer.seek(0)
        cursor.copy_expert(
            "COPY hygiene_auditentry (occurred_at, actor_id, actor_label, action, object_type, object_id,"
            " before, after, changes, context, prev_hash, hash) FROM STDIN",
            buffer,
        )
        cursor.execute("ANALYZE")
    started = time.perf_counter()
    sealed = _seal_in_bulk()
    audit_log_seal()  # anything left, through the service
    print(f"sealed {sealed:,} audit entries in {time.perf_counter() - started:.1f} s")
    auditor = user_create(username="bench-auditor", email="a@example.org", password="bench-password-123",
                          role=AUDITOR)  # fmt: skip
    engagement = Engagement.objects.create(
        name="Bench audit", auditor=auditor, period_start=(now - timezone.timedelta(days=60)).date(),
        period_end=now.date(), ends_at=now + timezone.timedelta(days=5),
    )  # fmt: skip
    engagement.teams.set([team])
    return engagement


def _assessments_with_evidence(team: Any, assets: list[Any], rng: random.Random) -> int:
    """40 attested controls assessed on each of the 50 assets, every fourth assessment with a 100 KB file."""
    import hashlib

    from django.core.files.base import ContentFile

    from controls.models import Assessment, AssessmentStatus, Control, Domain, Evidence, EvidenceKind, Mode

    controls = Control.objects.bulk_create(
        Control(code=f"BENCH-{n:02}", title=f"Bench control {n}", objective="Bench.",
                domain=Domain.GOVERNANCE, mode=Mode.ATTESTED, rule="evidence")
        for n in range(BUNDLE_CONTROLS)
    )  # fmt: skip
    statuses = [AssessmentStatus.PASSING, AssessmentStatus.FAILING, AssessmentStatus.NOT_ASSESSED]
    assessments = Assessment.objects.bulk_create(
        Assessment(control=control, asset=asset, team=team, status=rng.choice(statuses))
        for control in controls
        for asset in assets
    )
    for n, assessment in enumerate(assessments[: EVIDENCE_FILES * 4 : 4]):
        content = rng.randbytes(EVIDENCE_BYTES)
        Evidence.objects.create(
            assessment=assessment, team=team, kind=EvidenceKind.FILE, title=f"Evidence {n}",
            file=ContentFile(content, name=f"evidence-{n}.bin"), filename=f"evidence-{n}.bin",
            content_type="application/octet-stream", sha256=hashlib.sha256(content).hexdigest(),
            size_bytes=len(content),
        )  # fmt: skip
    return len(assessments)


def _seal_in_bulk() -> int:
    """Chain the pending entries as ``audit_log_seal`` does (same digest), written with one COPY and one
    UPDATE: the service's batched bulk_update takes minutes for 100,000 entries; here sealing is set-up."""
    from django.db import connection

    from hygiene.models import AuditEntry
    from hygiene.services.audit import GENESIS_HASH, entry_digest

    last = AuditEntry.objects.filter(seq__isnull=False).order_by("-seq").only("seq", "hash").first()
    seq = last.seq if last and last.seq else 0
    prev = last.hash if last else GENESIS_HASH
    buffer = io.StringIO()
    count = 0
    for entry in AuditEntry.objects.filter(seq__isnull=True).order_by("id").iterator(chunk_size=5000):
        seq += 1
        entry.seq = seq
        digest = entry_digest(entry, prev)
        buffer.write(f"{entry.pk}\t{seq}\t{prev}\t{digest}\n")
        prev = digest
        count += 1
    buffer.seek(0)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE bench_seal (id bigint, seq bigint, prev text, hash text)")
        cursor.copy_expert("COPY bench_seal FROM STDIN", buffer)
        cursor.execute(
            "UPDATE hygiene_auditentry a SET seq = s.seq, prev_hash = s.prev, hash = s.hash"
            " FROM bench_seal s WHERE a.id = s.id"
        )
        cursor.execute("DROP TABLE bench_seal")
    return count


def bench_bundle(rng: random.Random) -> dict[str, Any]:
    from audits.services.bundles import bundle_write
    from audits.services.verify import bundle_verify
    from controls.models import Assessment, Evidence

    engagement = _load_bundle_data(rng)
    with tempfile.NamedTemporaryFile(suffix=".zip") as out:
        with PeakRss() as rss:
            started = time.perf_counter()
            summary = bundle_write(engagement=engagement, out=out)
            bundle_s = time.perf_counter() - started
        out.flush()
        size = os.path.getsize(out.name)
        started = time.perf_counter()
        report = bundle_verify(source=out.name, check_live_log=True)
        verify_s = time.perf_counter() - started
    assert report.ok, report.problems()
    audit_rows, audit_seconds = _audit_log_export()
    print(
        f"bundle: {summary['file_count']} files, {size / 1024 / 1024:.0f} MiB in {bundle_s:.1f} s, "
        f"peak RSS {rss.peak_mb} MB; audit extract {report.chain_entries:,} entries; "
        f"verified in {verify_s:.1f} s"
    )
    return {
        "bundle_s": round(bundle_s, 2),
        "bundle_peak_rss_mb": rss.peak_mb,
        "bundle_mb": round(size / 1024 / 1024, 1),
        "bundle_files": summary["file_count"],
        "bundle_audit_entries": report.chain_entries,
        "verify_bundle_s": round(verify_s, 2),
        "bundle_assessments": Assessment.objects.count(),
        "bundle_evidence_files": Evidence.objects.exclude(file="").count(),
        "audit_log_csv_rows": audit_rows,
        "audit_log_csv_rows_per_s": round(audit_rows / audit_seconds),
    }


def _audit_log_export() -> tuple[int, float]:
    """The whole audit log as CSV, as a security lead reads it: the other large export of the registry."""
    from django.test import Client

    from hygiene.roles import SECURITY_LEAD
    from hygiene.services.teams import user_create

    lead = user_create(username="bench-lead", email="l@example.org", password="bench-password-123",
                       role=SECURITY_LEAD)  # fmt: skip
    client = Client()
    client.force_login(lead)
    lines, size, seconds, rss = _stream(client, "/exports/audit-log.csv")
    rows = lines - 1
    print(f"audit log CSV export: {rows:,} rows, {size / 1024 / 1024:.0f} MiB in {seconds:.1f} s = "
          f"{round(rows / seconds):,} rows/s; peak RSS {rss.peak_mb} MB")  # fmt: skip
    return rows, seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--findings", type=int, default=1_000_000)
    parser.add_argument("--sorted", action="store_true", help="Export in the list's order (?sort=severity).")
    args = parser.parse_args()
    rng = random.Random(12)
    django_setup(DB_NAME)
    from django.conf import settings

    settings.MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="hygiene-bench-media-"))
    create_database(DB_NAME)
    try:
        figures = {**bench_export(args.findings, rng, sort=args.sorted), **bench_bundle(rng)}
    finally:
        drop_database(DB_NAME)
        import shutil

        shutil.rmtree(settings.MEDIA_ROOT, ignore_errors=True)
    figures["targets_met"] = {
        "findings_csv_rows_per_s>=100000": figures["findings_csv_rows_per_s"] >= 100_000,
        "export_peak_rss_mb<=200": figures["export_peak_rss_mb"] <= 200,
        "bundle_s<=60": figures["bundle_s"] <= 60,
        "bundle_peak_rss_mb<=300": figures["bundle_peak_rss_mb"] <= 300,
        "verify_bundle_s<=10": figures["verify_bundle_s"] <= 10,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
