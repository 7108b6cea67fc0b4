"""The audit log captures every change, cannot be edited, and its chain reveals tampering."""

import json
import os

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.utils import InternalError
from django.utils import timezone

from hygiene.models import AuditEntry, Team
from hygiene.services.audit import actor_context, audit_log_seal
from tests.conftest import client_for
from tests.factories import TeamFactory

pytestmark = pytest.mark.django_db


def _entries_for(table: str, object_id: int) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(object_type=table, object_id=str(object_id)).order_by("id"))


def test_bulk_update_is_captured_with_before_and_after():
    team = TeamFactory(name="Old name")
    with actor_context(actor_id=42, actor_label="ops", context={"command": "test"}):
        Team.objects.filter(pk=team.pk).update(name="New name")
    update = _entries_for("hygiene_team", team.pk)[-1]
    assert update.action == "update"
    assert update.changes == ["name"]
    assert (update.before["name"], update.after["name"]) == ("Old name", "New name")
    assert (update.actor_id, update.actor_label, update.context) == (42, "ops", {"command": "test"})


def test_raw_sql_delete_is_captured():
    team = TeamFactory()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM hygiene_team WHERE id = %s", [team.pk])
    assert [entry.action for entry in _entries_for("hygiene_team", team.pk)] == ["insert", "delete"]


def test_page_change_records_who_made_it(client, owner, team_a, outsider):
    client_for(client, owner)
    client.post(f"/teams/{team_a.slug}/", {"username": outsider.username, "role": "member"})
    entry = AuditEntry.objects.filter(object_type="hygiene_membership", action="insert").latest("id")
    assert entry.actor_label == "owner"
    assert entry.after["user_id"] == outsider.pk
    assert entry.context["path"] == f"/teams/{team_a.slug}/"


def test_group_change_is_recorded_as_a_permission_change(lead, teammate):
    from hygiene.roles import SECURITY_LEAD
    from hygiene.services.teams import user_set_global_role

    user_set_global_role(actor=lead, user=teammate, role=SECURITY_LEAD)
    assert AuditEntry.objects.filter(object_type="auth_user_groups", action="insert").exists()


def test_password_hashes_never_reach_the_log(teammate):
    teammate.set_password("another long passphrase")
    teammate.save()
    entry = AuditEntry.objects.filter(object_type="auth_user", object_id=str(teammate.pk)).latest("id")
    assert "password" not in (entry.after or {})
    assert "password" not in entry.changes


def test_sign_in_failure_and_sign_out_are_logged(client, teammate):
    client.post("/accounts/login/", {"username": teammate.username, "password": "wrong"})
    client.post(
        "/accounts/login/", {"username": teammate.username, "password": "correct horse battery staple"}
    )
    client.post("/accounts/logout/")
    actions = list(AuditEntry.objects.filter(actor_label=teammate.username).values_list("action", flat=True))
    assert {"login_failed", "login", "logout"} <= set(actions)


def test_the_application_cannot_edit_or_delete_entries():
    TeamFactory()
    entry = AuditEntry.objects.latest("id")
    with pytest.raises(InternalError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(action="nothing")
    with pytest.raises(InternalError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).delete()


def test_sealed_entries_cannot_be_resealed():
    TeamFactory()
    audit_log_seal()
    entry = AuditEntry.objects.latest("id")
    with pytest.raises(InternalError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(hash="0" * 64)


def _tamper(sql: str, params: list) -> None:
    """What an attacker with database rights could do: bypass our triggers."""
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        cursor.execute(sql, params)
        cursor.execute("SET session_replication_role = DEFAULT")


@pytest.fixture
def sealed_log():
    for number in range(5):
        TeamFactory(name=f"Team {number}", slug=f"team-{number}")
    audit_log_seal()
    return list(AuditEntry.objects.order_by("seq"))


def test_verify_passes_on_an_intact_log(sealed_log, capsys):
    call_command("verify_audit_log")
    assert f"{len(sealed_log)} sealed entries verified" in capsys.readouterr().out


def test_verify_names_an_altered_entry(sealed_log):
    victim = sealed_log[2]
    _tamper("UPDATE hygiene_auditentry SET actor_label = 'someone else' WHERE id = %s", [victim.pk])
    with pytest.raises(CommandError, match=rf"sequence {victim.seq} \(entry #{victim.pk}\).*altered"):
        call_command("verify_audit_log")


def test_verify_names_a_deleted_entry(sealed_log):
    victim = sealed_log[1]
    _tamper("DELETE FROM hygiene_auditentry WHERE id = %s", [victim.pk])
    with pytest.raises(CommandError, match=rf"sequence {victim.seq} .*missing"):
        call_command("verify_audit_log")


def test_verify_detects_a_reordered_chain(sealed_log):
    first, second = sealed_log[1], sealed_log[2]
    _tamper("UPDATE hygiene_auditentry SET seq = -1 WHERE id = %s", [first.pk])
    _tamper("UPDATE hygiene_auditentry SET seq = %s WHERE id = %s", [first.seq, second.pk])
    _tamper("UPDATE hygiene_auditentry SET seq = %s WHERE id = %s", [second.seq, first.pk])
    with pytest.raises(CommandError, match=rf"sequence {first.seq} .*reordered"):
        call_command("verify_audit_log")


def test_audit_page_is_for_leads_and_auditors_only(client, lead, auditor, teammate):
    TeamFactory(name="Visible in the log")
    for user, status in ((lead, 200), (auditor, 200), (teammate, 403)):
        client_for(client, user)
        assert client.get("/audit-log/").status_code == status
    client_for(client, auditor)
    response = client.get("/audit-log/", {"object_type": "hygiene_team", "action": "insert"})
    assert "hygiene_team" in response.content.decode()


def test_audit_export_is_csv_and_is_itself_logged(client, lead):
    TeamFactory(name="Exported team")
    client_for(client, lead)
    response = client.get("/audit-log/export.csv")
    body = b"".join(response.streaming_content).decode()
    assert body.startswith("id,seq,occurred_at")
    assert "Exported team" in body
    assert AuditEntry.objects.filter(action="export", actor_label="lead").exists()


def test_sign_in_is_one_event_not_an_anonymous_row_change(client, teammate):
    client.post(
        "/accounts/login/", {"username": teammate.username, "password": "correct horse battery staple"}
    )
    entries = AuditEntry.objects.filter(
        object_type="auth_user", object_id=str(teammate.pk), action__in=["login", "update"]
    )
    assert [entry.action for entry in entries] == ["login"]


@pytest.fixture
def restricted_asset(team_a):
    from tests.factories.assets import AssetFactory, level

    return AssetFactory(
        team=team_a, name="Patient records", description="Secret cohort", classification=level("restricted")
    )


def _auditor_sees(client, api_client, auditor, asset) -> tuple[bool, bool, bool]:
    """Whether the auditor finds the asset in the audit page (by id), its CSV export and its API (by name)."""
    text = asset.name
    client_for(client, auditor)
    page = f"assets_asset #{asset.pk}<" in client.get("/audit-log/", {"per_page": 200}).content.decode()
    export = b"".join(client.get("/audit-log/export.csv").streaming_content).decode()
    api_client.force_authenticate(auditor)
    api = json.dumps(api_client.get("/api/v1/audit-log/", {"page_size": 500}).json())
    return page, text in export, text in api


def test_auditor_does_not_read_restricted_assets_through_the_audit_log(
    client, api_client, auditor, lead, restricted_asset, team_a
):
    from findings.services.findings import finding_bulk_set_status
    from tests.factories.assets import AssetFactory, LineageEdgeFactory
    from tests.factories.findings import FindingFactory, ImportJobFactory

    open_asset = AssetFactory(team=team_a, name="Public weights")
    LineageEdgeFactory(source=restricted_asset, target=open_asset)
    job = ImportJobFactory(asset=restricted_asset, filename="patients-scan.json")
    from hygiene.services.audit import audit_event

    audit_event(
        action="import_done", object_type="findings_importjob", object_id=str(job.pk), detail={"n": 1}
    )
    finding = FindingFactory(asset=restricted_asset)
    finding_bulk_set_status(actor=lead, finding_ids=[finding.pk], status="false_positive", reason="not ours")

    assert _auditor_sees(client, api_client, auditor, restricted_asset) == (False, False, False)
    assert _auditor_sees(client, api_client, auditor, open_asset) == (True, True, True)
    client_for(client, auditor)
    assert "about restricted assets or incidents are not shown" in client.get("/audit-log/").content.decode()
    client_for(client, lead)
    assert "not shown" not in client.get("/audit-log/").content.decode()
    api_client.force_authenticate(auditor)
    for object_type in ("assets_lineageedge", "findings_importjob", "findings_finding", "assets_asset"):
        rows = api_client.get("/api/v1/audit-log/", {"object_type": object_type}).json()["results"]
        keys = ("asset_id", "source_id", "target_id", "asset")
        mentioned = {(r["after"] or {}).get(key) for r in rows for key in keys}
        assert restricted_asset.pk not in mentioned, object_type
        assert all(r["object_id"] != str(restricted_asset.pk) for r in rows if object_type == "assets_asset")
        assert all(r["object_id"] != str(job.pk) for r in rows if object_type == "findings_importjob")
    api_client.force_authenticate(lead)
    rows = api_client.get("/api/v1/audit-log/", {"object_type": "findings_importjob"}).json()["results"]
    assert [r["object_id"] for r in rows] == [str(job.pk)]


def test_auditor_granted_the_restricted_asset_reads_its_entries(
    client, api_client, auditor, restricted_asset
):
    from guardian.shortcuts import assign_perm

    assign_perm("assets.view_asset", auditor, restricted_asset)
    assert _auditor_sees(client, api_client, auditor, restricted_asset) == (True, True, True)


def test_team_token_reads_only_its_team_s_audit_entries(api_client, lead, team_a, team_b):
    from tests.factories import ApiTokenFactory
    from tests.factories.assets import AssetFactory

    AssetFactory(team=team_a, name="Alpha model")
    AssetFactory(team=team_b, name="Beta model")
    token = ApiTokenFactory(user=lead, team=team_b, actions=["read"])
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.clear}")
    body = json.dumps(api_client.get("/api/v1/audit-log/", {"page_size": 500}).json())
    assert "Beta model" in body
    assert "Alpha model" not in body
    assert '"object_type": "auth_user"' not in body
    unscoped = ApiTokenFactory(user=lead, actions=["read"])
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {unscoped.clear}")
    body = json.dumps(api_client.get("/api/v1/audit-log/", {"page_size": 500}).json())
    assert "Alpha model" in body and "Beta model" in body


def test_audit_export_writes_before_and_after_as_json(client, lead):
    import csv
    import io

    team = TeamFactory(name="Quoted 'name'")
    Team.objects.filter(pk=team.pk).update(description="Now with a description")
    client_for(client, lead)
    body = b"".join(client.get("/audit-log/export.csv").streaming_content).decode()
    rows = [row for row in csv.DictReader(io.StringIO(body)) if row["object_type"] == "hygiene_team"]
    update = next(row for row in rows if row["action"] == "update")
    assert json.loads(update["before"])["name"] == "Quoted 'name'"
    assert json.loads(update["after"])["description"] == "Now with a description"
    assert json.loads(update["changes"]) == ["description"]
    assert json.loads(update["context"])["db_user"]  # changed outside the app: the session is named


def test_raw_sql_status_change_of_a_finding_is_audited_with_the_database_session_as_actor():
    from tests.factories.findings import FindingFactory

    finding = FindingFactory()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE findings_finding SET status = 'false_positive' WHERE id = %s", [finding.pk])
        cursor.execute("UPDATE findings_finding SET title = 'only the title' WHERE id = %s", [finding.pk])
    entries = list(AuditEntry.objects.filter(object_type="findings_finding", object_id=str(finding.pk)))
    assert len(entries) == 1
    entry = entries[0]
    assert entry.action == "status_change"
    assert (entry.after["from"], entry.after["to"]) == ("open", "false_positive")
    assert (entry.changes, entry.before["status"], entry.after["status"]) == (
        ["status"],
        "open",
        "false_positive",
    )
    assert entry.actor_label.startswith("db:")
    assert entry.context["db_user"]
    assert entry.scope_asset_id == finding.asset_id


def test_status_change_through_the_service_is_one_entry_with_actor_and_reason(owner, team_a):
    from findings.services.findings import finding_bulk_set_status
    from tests.factories.findings import FindingFactory, ImageAssetFactory

    finding = FindingFactory(asset=ImageAssetFactory(team=team_a))
    finding_bulk_set_status(
        actor=owner, finding_ids=[finding.pk], status="false_positive", reason="test data"
    )
    entries = list(AuditEntry.objects.filter(object_type="findings_finding", object_id=str(finding.pk)))
    assert [(e.actor_label, e.after["reason"], e.after["job_id"]) for e in entries] == [
        ("owner", "test data", None)
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('hygiene.actor_label', true), current_setting('hygiene.reason', true)"
        )
        assert cursor.fetchone() in (("", ""), (None, None))


def test_an_import_s_status_changes_are_audited_as_that_job_s(owner, team_a):
    from findings.services.ingest import ingest_records, merge_target_for
    from tests.factories.findings import FindingFactory, ImageAssetFactory, ImportJobFactory

    asset = ImageAssetFactory(team=team_a)
    finding = FindingFactory(asset=asset, scanner="trivy")
    job = ImportJobFactory(asset=asset, format="trivy")
    target = merge_target_for(asset=asset, scanner="trivy", job_id=job.pk, seen_at=timezone.now())
    ingest_records(target=target, records=[])
    finding.refresh_from_db()
    assert finding.status == "mitigated"
    entry = AuditEntry.objects.get(object_type="findings_finding", object_id=str(finding.pk))
    assert (entry.after["to"], entry.after["job_id"]) == ("mitigated", job.pk)


def test_verify_detects_the_newest_sealed_entries_cut_off(sealed_log):
    from hygiene.services.audit import audit_checkpoint_latest

    assert audit_checkpoint_latest().seq == len(sealed_log)
    newest = sealed_log[-2:]
    _tamper("DELETE FROM hygiene_auditentry WHERE id = ANY(%s)", [[entry.pk for entry in newest]])
    with pytest.raises(
        CommandError, match=rf"entries {newest[0].seq} to {newest[1].seq} are missing.*cut off"
    ):
        call_command("verify_audit_log")


def test_verify_detects_a_chain_rewritten_from_the_newest_entry(sealed_log):
    from hygiene.services.audit import entry_digest

    newest = sealed_log[-1]
    _tamper("UPDATE hygiene_auditentry SET actor_label = 'forger' WHERE id = %s", [newest.pk])
    newest.refresh_from_db()
    resealed = entry_digest(newest, newest.prev_hash)
    _tamper("UPDATE hygiene_auditentry SET hash = %s WHERE id = %s", [resealed, newest.pk])
    with pytest.raises(CommandError, match="does not match the signed checkpoint"):
        call_command("verify_audit_log")


def test_verify_refuses_a_forged_checkpoint(sealed_log, settings):
    settings.HYGIENE_AUDIT_CHECKPOINT_FILE.write_text('{"seq": 1}:forged')
    with pytest.raises(CommandError, match="signature does not hold"):
        call_command("verify_audit_log")


def test_export_carries_the_signed_checkpoint_which_later_detects_a_cut(client, lead, sealed_log, capsys):
    import csv
    import io

    client_for(client, lead)
    response = client.get("/audit-log/export.csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    last = rows[-1]
    assert (last["id"], last["seq"]) == ("checkpoint", str(sealed_log[-1].seq))
    assert response.headers["X-Audit-Checkpoint"] == last["hash"]
    api = client.get("/api/v1/audit-log/checkpoint/").json()
    assert (api["seq"], api["signed"]) == (sealed_log[-1].seq, last["hash"])

    call_command("verify_audit_log", checkpoint=last["hash"])
    assert "matches the signed checkpoint" in capsys.readouterr().out
    _tamper("DELETE FROM hygiene_auditentry WHERE seq >= %s", [sealed_log[-1].seq])
    with pytest.raises(CommandError, match="cut off"):
        call_command("verify_audit_log", checkpoint=last["hash"])


def test_no_session_variable_switches_the_append_only_protection_off():
    TeamFactory()
    audit_log_seal()
    entry = AuditEntry.objects.latest("id")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('pgtrigger.ignore', %s, false)", ["{" + ",".join(_trigger_names()) + "}"]
        )
    try:
        with pytest.raises(InternalError), transaction.atomic():
            AuditEntry.objects.filter(pk=entry.pk).delete()
        with pytest.raises(InternalError), transaction.atomic():
            AuditEntry.objects.filter(pk=entry.pk).update(actor_label="nobody")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('pgtrigger.ignore', '', false)")
    assert AuditEntry.objects.filter(pk=entry.pk, actor_label=entry.actor_label).exists()


def _trigger_names() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = 'hygiene_auditentry'::regclass")
        return [name for (name,) in cursor.fetchall()]


def _run(sql: str, params: list | None = None) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.fixture
def app_role():
    """The application's database role as docker-compose sets it up: INSERT and SELECT on the log."""
    from hygiene.audit_triggers import app_role_grants_sql

    role = f"hygiene_app_test_{os.getpid()}"  # roles are per cluster; test workers share it
    with connection.cursor() as cursor:
        cursor.execute(f"DROP ROLE IF EXISTS {role}")  # inside the test's transaction, rolled back
        cursor.execute(f"CREATE ROLE {role} NOLOGIN")
        cursor.execute(app_role_grants_sql(role))
    yield role
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")


def test_the_application_role_may_insert_read_and_seal_but_not_rewrite_the_log(app_role):
    from django.db.utils import ProgrammingError

    TeamFactory(name="Before the role")
    with connection.cursor() as cursor:
        cursor.execute(f"SET ROLE {app_role}")
    TeamFactory(name="Written by the app role")  # the audit trigger inserts as the app role
    assert audit_log_seal() >= 2  # through the owner's sealing function
    entry = AuditEntry.objects.latest("seq")
    for statement in (
        "UPDATE hygiene_auditentry SET actor_label = 'x' WHERE id = %s",
        "DELETE FROM hygiene_auditentry WHERE id = %s",
    ):
        with pytest.raises(ProgrammingError, match="permission denied"):
            _run(statement, [entry.pk])
    for statement in (
        "TRUNCATE hygiene_auditentry",
        "ALTER TABLE hygiene_auditentry DISABLE TRIGGER USER",
        "SET session_replication_role = replica",
    ):
        with pytest.raises(ProgrammingError):
            _run(statement)
    with pytest.raises(InternalError, match="does not continue the chain"):
        _run(
            "SELECT hygiene_audit_seal_apply(ARRAY[%s]::bigint[], ARRAY[1]::bigint[], ARRAY['']::text[],"
            " ARRAY['']::text[])",
            [entry.pk],
        )
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")
    call_command("verify_audit_log")


def test_worker_tasks_name_themselves_as_the_actor_of_their_changes():
    from types import SimpleNamespace

    from hygiene.signals import forget_the_task_actor, name_the_task_as_actor

    task = SimpleNamespace(name="findings.tasks.pull_sources", request=SimpleNamespace(is_eager=False))
    name_the_task_as_actor(task_id="abc-123", task=task)
    team = TeamFactory(name="Made by a task")
    forget_the_task_actor(task=task)
    entry = _entries_for("hygiene_team", team.pk)[0]
    assert entry.actor_label == "task:findings.tasks.pull_sources"
    assert entry.context == {"task": "findings.tasks.pull_sources", "id": "abc-123"}
    later = TeamFactory(name="Made outside")
    assert _entries_for("hygiene_team", later.pk)[0].actor_label.startswith("db:")


def test_no_session_variable_switches_the_capture_of_changes_off():
    team = TeamFactory(name="Watched")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT array_agg(tgname::text) FROM pg_trigger WHERE tgrelid = 'hygiene_team'::regclass"
            " AND NOT tgisinternal"
        )
        names = cursor.fetchone()[0]
        cursor.execute("SELECT set_config('pgtrigger.ignore', %s, false)", ["{" + ",".join(names) + "}"])
    try:
        Team.objects.filter(pk=team.pk).update(name="Quietly renamed")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('pgtrigger.ignore', '', false)")
    assert _entries_for("hygiene_team", team.pk)[-1].after["name"] == "Quietly renamed"
