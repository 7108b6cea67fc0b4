"""The audit log under attack: bulk and COPY paths leave entries, and any rewrite of the log, including of
its newest entry, is found by ``verify_audit_log`` (the head is anchored in the signed checkpoint file,
outside the database)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from hygiene.models import AuditEntry
from hygiene.services.audit import audit_log_seal, entry_digest
from tests.conftest import SCANS_DIR
from tests.factories import TeamFactory

pytestmark = pytest.mark.django_db

KEV_SAMPLE = Path(__file__).resolve().parents[1] / "findings" / "data" / "kev_sample.json"


def _entries(object_type: str, *, action: str | None = None, since: int = 0) -> list[AuditEntry]:
    entries = AuditEntry.objects.filter(object_type=object_type, id__gt=since)
    return list(entries.filter(action=action) if action else entries)


def _mark() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


@pytest.fixture
def asset(team_a):
    from tests.factories.findings import ImageAssetFactory

    return ImageAssetFactory(team=team_a)


@pytest.fixture
def findings(asset):
    from tests.factories.findings import FindingFactory

    return [FindingFactory(asset=asset, title=f"Finding {n}") for n in range(4)]


# ---- bulk and COPY paths ------------------------------------------------------------------------------


def test_bulk_status_on_the_page_audits_every_finding_with_who_and_why(client, owner, findings):
    client.force_login(owner)
    since = _mark()

    client.post(
        "/findings/status/",
        {"finding": [f.pk for f in findings], "action": "false_positive", "reason": "test fixtures"},
    )

    entries = _entries("findings_finding", action="status_change", since=since)
    assert sorted(int(e.object_id) for e in entries) == sorted(f.pk for f in findings)
    assert {(e.actor_label, e.after["reason"]) for e in entries} == {("owner", "test fixtures")}


def test_bulk_status_through_the_api_audits_every_finding(api_client, owner, findings):
    api_client.force_authenticate(owner)
    since = _mark()

    response = api_client.post(
        "/api/v1/findings/bulk-status/",
        {"findings": [f.pk for f in findings], "status": "false_positive", "reason": "scanner noise"},
        format="json",
    )

    assert response.status_code == 200
    entries = _entries("findings_finding", action="status_change", since=since)
    assert len(entries) == len(findings)
    assert {e.after["reason"] for e in entries} == {"scanner noise"}


def _import(owner, team, asset, path: Path):
    from findings.services.jobs import job_create, job_run

    with path.open("rb") as handle:
        job = job_create(actor=owner, team=team, file=handle, filename=path.name, asset=asset, enqueue=False)
    job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "done", job.error
    return job


def test_a_scan_imported_by_copy_is_audited_through_its_job_and_what_it_mitigates(owner, team_a, asset):
    from findings.models import Finding

    since = _mark()
    first = _import(owner, team_a, asset, SCANS_DIR / "trivy" / "legacy_many_vulns.json")
    imported = _entries("findings_importjob", action="scan_import", since=since)
    assert [(e.object_id, e.actor_id) for e in imported] == [(str(first.pk), owner.pk)]
    assert imported[0].after["new"] == Finding.objects.filter(asset=asset).count() > 0

    since = _mark()
    second = _import(owner, team_a, asset, SCANS_DIR / "trivy" / "legacy_no_vuln.json")

    mitigated = _entries("findings_finding", action="status_change", since=since)
    assert len(mitigated) == second.mitigated_count == Finding.objects.filter(asset=asset).count()
    assert {(e.after["to"], e.after["job_id"]) for e in mitigated} == {("mitigated", second.pk)}


def test_a_csv_inventory_import_audits_each_asset_and_the_import(client, owner, team_a):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from assets.csv_io import COLUMNS

    rows = [dict.fromkeys(COLUMNS, "") for _ in range(3)]
    for number, row in enumerate(rows):
        row.update(team=team_a.slug, kind="model", name=f"Imported {number}", environment="production")
    data = "\n".join([",".join(COLUMNS), *(",".join(row[c] for c in COLUMNS) for row in rows)]).encode()
    since = _mark()

    client.force_login(owner)

    response = client.post("/assets/import/csv/", {"file": SimpleUploadedFile("assets.csv", data)})

    assert response.status_code == 200

    inserted = _entries("assets_asset", action="insert", since=since)
    assert sorted(e.after["name"] for e in inserted) == ["Imported 0", "Imported 1", "Imported 2"]
    assert {e.actor_label for e in inserted} == {"owner"}
    assert _entries("assets_asset", action="import", since=since)[0].after["assets_created"] == 3


def test_an_exception_over_many_findings_audits_each_covered_accepted_and_reopened_finding(
    owner, teammate, lead, asset, findings
):
    from controls.services.exceptions import exception_approve, exception_request, exceptions_expire

    since = _mark()
    exception = exception_request(
        actor=teammate, title="Later", justification="Not reachable", compensating_controls="WAF",
        risk_rating="low", expires_on=timezone.localdate() + dt.timedelta(days=5),
        finding_ids=[f.pk for f in findings],
    )  # fmt: skip
    assert len(_entries("controls_exceptionfinding", action="insert", since=since)) == len(findings)

    since = _mark()
    exception_approve(actor=owner, exception=exception)
    accepted = _entries("findings_finding", action="status_change", since=since)
    assert {(e.after["to"], e.actor_label) for e in accepted} == {("risk_accepted", "owner")}
    assert len(accepted) == len(findings)

    since = _mark()
    exceptions_expire(today=timezone.localdate() + dt.timedelta(days=6))
    reopened = _entries("findings_finding", action="status_change", since=since)
    assert {e.after["to"] for e in reopened} == {"open"} and len(reopened) == len(findings)
    assert _entries("controls_riskexception", action="exception_expire", since=since)


def test_an_assessment_run_over_some_assets_is_audited(asset):
    from controls.services.assessments import assessments_for_assets
    from tests.factories.controls import ControlFactory

    ControlFactory(code="ADV-AUDIT")
    since = _mark()

    assessments_for_assets(asset_ids=[asset.pk])

    runs = _entries("controls_assessment", action="assessment_run", since=since)
    assert len(runs) == 1
    assert runs[0].after["assets"] == [asset.pk]


def test_loading_a_feed_by_copy_is_audited(asset):
    from findings.services.enrichment import kev_load

    since = _mark()
    with KEV_SAMPLE.open("rb") as stream:
        kev_load(stream=stream, origin="kev_sample.json")

    loads = _entries("findings_keventry", action="enrichment_load", since=since)
    assert len(loads) == 1 and loads[0].after["entries"] > 0


# ---- tampering -----------------------------------------------------------------------------------------


def _tamper(sql: str, params: list) -> None:
    """What an attacker with database rights (but not the checkpoint file) can do: bypass our triggers."""
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        cursor.execute(sql, params)
        cursor.execute("SET session_replication_role = DEFAULT")


@pytest.fixture
def sealed():
    for number in range(6):
        TeamFactory(name=f"Team {number}", slug=f"team-{number}")
    audit_log_seal()
    entries = list(AuditEntry.objects.order_by("seq"))
    assert len(entries) >= 6
    call_command("verify_audit_log")  # intact before the attack
    return entries


POSITIONS = {"oldest": 0, "middle": 3, "newest": -1}
COLUMNS = {
    "actor_label": "'someone else'",
    "actor_id": "COALESCE(actor_id, 0) + 1",
    "action": "'read'",
    "object_type": "'nothing'",
    "object_id": "object_id || '0'",
    "occurred_at": "occurred_at - interval '1 microsecond'",
    "before": "'{\"forged\": true}'::jsonb",
    "after": "COALESCE(after, '{}'::jsonb) || '{\"name\": \"forged\"}'::jsonb",
    "changes": "'[\"nothing\"]'::jsonb",
    "context": '\'{"ip": "10.9.9.9"}\'::jsonb',
    "prev_hash": "repeat('1', 64)",
    "hash": "repeat('2', 64)",
}


def _victim(sealed: list[AuditEntry], position: str) -> AuditEntry:
    return sealed[POSITIONS[position]]


@pytest.mark.parametrize("column", COLUMNS)
@pytest.mark.parametrize("position", POSITIONS)
def test_altering_any_column_of_any_entry_is_detected(sealed, position, column):
    victim = _victim(sealed, position)
    _tamper(f"UPDATE hygiene_auditentry SET {column} = {COLUMNS[column]} WHERE id = %s", [victim.pk])

    with pytest.raises(CommandError, match=rf"sequence {victim.seq}\b|checkpoint"):
        call_command("verify_audit_log")


@pytest.mark.parametrize("position", POSITIONS)
def test_altering_an_entry_and_rehashing_the_chain_after_it_is_detected(sealed, position):
    """The attacker recomputes every hash from the victim on (SHA-256 is no secret): the signed
    checkpoint outside the database still vouches for the old head."""
    start = POSITIONS[position] % len(sealed)
    _tamper("UPDATE hygiene_auditentry SET actor_label = 'forger' WHERE id = %s", [sealed[start].pk])
    prev = sealed[start - 1].hash if start else "0" * 64
    for entry in sealed[start:]:
        entry.refresh_from_db()
        digest = entry_digest(entry, prev)
        _tamper(
            "UPDATE hygiene_auditentry SET prev_hash = %s, hash = %s WHERE id = %s", [prev, digest, entry.pk]
        )
        prev = digest

    with pytest.raises(CommandError, match="does not match the signed checkpoint"):
        call_command("verify_audit_log")


@pytest.mark.parametrize("position", POSITIONS)
def test_deleting_any_entry_is_detected(sealed, position):
    victim = _victim(sealed, position)
    _tamper("DELETE FROM hygiene_auditentry WHERE id = %s", [victim.pk])

    with pytest.raises(CommandError, match=rf"sequence {victim.seq}\b"):
        call_command("verify_audit_log")


@pytest.mark.parametrize("position", POSITIONS)
def test_reordering_any_entry_with_its_neighbour_is_detected(sealed, position):
    index = POSITIONS[position] % len(sealed)
    index = min(index, len(sealed) - 2)  # the newest swaps with the one before it
    one, other = sealed[index], sealed[index + 1]
    _tamper("UPDATE hygiene_auditentry SET seq = -seq WHERE id IN (%s, %s)", [one.pk, other.pk])
    _tamper("UPDATE hygiene_auditentry SET seq = %s WHERE id = %s", [other.seq, one.pk])
    _tamper("UPDATE hygiene_auditentry SET seq = %s WHERE id = %s", [one.seq, other.pk])

    with pytest.raises(CommandError, match=rf"sequence {one.seq}\b"):
        call_command("verify_audit_log")


@pytest.mark.parametrize("kept", [0, 3, 5])
def test_cutting_off_the_newest_entries_is_detected(sealed, kept):
    _tamper("DELETE FROM hygiene_auditentry WHERE seq > %s", [kept])

    with pytest.raises(CommandError, match="cut off"):
        call_command("verify_audit_log")


def test_a_forged_entry_slipped_into_the_chain_is_detected(sealed):
    victim = sealed[2]
    _tamper("UPDATE hygiene_auditentry SET seq = seq + 1000 WHERE seq >= %s", [victim.seq])
    _tamper("UPDATE hygiene_auditentry SET seq = seq - 999 WHERE seq >= 1000", [])
    forged = {k: v for k, v in json.loads(json.dumps(victim.after or {})).items()}
    _tamper(
        "INSERT INTO hygiene_auditentry (occurred_at, actor_label, action, object_type, object_id, after,"
        " changes, context, seq, prev_hash, hash) VALUES (now(), 'forger', 'insert', 'hygiene_team', '1',"
        " %s::jsonb, '[]'::jsonb, '{}'::jsonb, %s, %s, %s)",
        [json.dumps(forged), victim.seq, sealed[1].hash, "3" * 64],
    )

    with pytest.raises(CommandError, match=rf"sequence {victim.seq}\b"):
        call_command("verify_audit_log")


def test_the_checkpoint_lives_outside_the_database(sealed, settings):
    """What the database cannot rewrite: a file, signed with a key the database does not hold."""
    from hygiene.services.audit import audit_checkpoint_latest

    path = Path(settings.HYGIENE_AUDIT_CHECKPOINT_FILE)
    checkpoint = audit_checkpoint_latest()

    assert path.is_file() and checkpoint.seq == sealed[-1].seq and checkpoint.hash == sealed[-1].hash
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_settings WHERE setting LIKE %s", [f"%{settings.SECRET_KEY}%"])
        assert cursor.fetchone()[0] == 0
