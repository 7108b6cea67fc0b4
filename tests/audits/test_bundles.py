"""Evidence bundles: built by the worker, verified; every kind of tampering named."""

import io
import json
import zipfile

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command

from audits.models import BundleStatus
from audits.services import signing
from audits.services.bundles import bundle_request
from audits.services.verify import bundle_verify
from hygiene.models import AuditEntry

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def built(estate, engagement, auditor):
    bundle = bundle_request(actor=auditor, engagement=engagement)  # eager Celery: built on commit
    bundle.refresh_from_db()
    assert bundle.status == BundleStatus.DONE, bundle.error
    return bundle


def _rewrite(data: bytes, change) -> bytes:
    """A copy of the ZIP ``data`` with ``change(members)`` applied to its {name: bytes}."""
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        members = {info.filename: source.read(info) for info in source.infolist()}
    change(members)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name, content in members.items():
            target.writestr(name, content)
    return out.getvalue()


def _bytes(bundle) -> bytes:
    with bundle.file.open("rb") as handle:
        return handle.read()


def _verify(data: bytes, **kwargs):
    return bundle_verify(source=io.BytesIO(data), **kwargs)


def test_bundle_holds_scope_records_evidence_and_audit_extract_and_verifies(built, estate):
    data = _bytes(built)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("manifest.json"))
        findings_csv = archive.read("records/findings.csv").decode()
        findings_json = json.loads(archive.read("records/findings.json"))
    assert {"manifest.json", "manifest.sig", "public_key.pem", "audit-log/extract.jsonl"} <= names
    assert "Issue on churn-model" in findings_csv
    assert "Issue on patients" not in findings_csv  # restricted: not granted by this engagement
    assert "Issue on platform-api" not in findings_csv  # team B: outside the scope
    assert [row["title"] for row in findings_json] == ["Issue on churn-model"]
    job = estate["jobs"]["churn-model"]
    assert f"evidence/import-jobs/scans/{job.pk}-trivy.json" in names
    assert manifest["audit_log"]["entries"] > 0
    assert manifest["audit_log"]["head_hash"]
    report = _verify(data, check_live_log=True)
    assert report.ok, report.problems()
    assert report.summary().startswith("OK")


def test_one_altered_byte_is_named(built):
    def flip(members):
        content = bytearray(members["records/findings.csv"])
        content[5] ^= 1
        members["records/findings.csv"] = bytes(content)

    report = _verify(_rewrite(_bytes(built), flip))
    assert report.altered == ["records/findings.csv"]
    assert not report.ok and report.signature == "valid"
    assert "Altered: records/findings.csv" in report.problems()[0]


def test_added_file_is_named(built):
    report = _verify(_rewrite(_bytes(built), lambda m: m.update({"evidence/planted.txt": b"x"})))
    assert report.extra == ["evidence/planted.txt"] and not report.ok


def test_dropped_file_is_named(built):
    report = _verify(_rewrite(_bytes(built), lambda m: m.pop("records/assets.json")))
    assert report.missing == ["records/assets.json"] and not report.ok


def test_edited_manifest_breaks_the_signature(built):
    def edit(members):
        manifest = json.loads(members["manifest.json"])
        manifest["engagement"]["name"] = "Something else"
        members["manifest.json"] = json.dumps(manifest).encode()

    report = _verify(_rewrite(_bytes(built), edit))
    assert report.signature == "invalid"
    assert "Bad signature" in report.problems()[0]


def test_bundle_signed_by_another_key_is_named(built):
    other = Ed25519PrivateKey.generate().public_key()
    report = _verify(_bytes(built), public_key=other)
    assert report.signature == "other-key"
    assert "another key" in report.signature_detail


def test_altered_audit_entry_in_the_extract_breaks_the_chain_even_with_a_matching_manifest(built):
    """Someone rewrites an entry and fixes the manifest's hash: the signature and the chain both say so."""
    import hashlib

    def rewrite(members):
        lines = members["audit-log/extract.jsonl"].decode().splitlines()
        for index, line in enumerate(lines):
            record = json.loads(line)
            if not record.get("redacted"):
                record["actor_label"] = "someone-else"
                lines[index] = json.dumps(record)
                break
        members["audit-log/extract.jsonl"] = ("\n".join(lines) + "\n").encode()
        manifest = json.loads(members["manifest.json"])
        for item in manifest["files"]:
            if item["path"] == "audit-log/extract.jsonl":
                item["sha256"] = hashlib.sha256(members["audit-log/extract.jsonl"]).hexdigest()
        members["manifest.json"] = json.dumps(manifest).encode()

    report = _verify(_rewrite(_bytes(built), rewrite))
    assert report.signature == "invalid"
    assert "altered" in report.chain_problem


def test_cut_off_audit_log_is_detected_against_the_live_log(built):
    """A database owner who bypasses the append-only triggers and drops the newest entries is caught."""
    from django.db import connection

    with connection.cursor() as cursor:  # only a superuser may switch triggers off like this
        cursor.execute("SET session_replication_role = replica")
        cursor.execute("DELETE FROM hygiene_auditentry WHERE seq >= %s", [built.audit_head_seq])
        cursor.execute("SET session_replication_role = DEFAULT")
    report = _verify(_bytes(built), check_live_log=True)
    assert "is gone (log cut off)" in report.live_problem


def test_verify_bundle_command_reports_ok_and_names_problems(built, tmp_path):
    good = tmp_path / "good.zip"
    good.write_bytes(_bytes(built))
    out = io.StringIO()
    call_command("verify_bundle", str(good), stdout=out)
    assert out.getvalue().startswith("OK")
    bad = tmp_path / "bad.zip"
    bad.write_bytes(_rewrite(_bytes(built), lambda m: m.pop("records/assets.csv")))
    err = io.StringIO()
    with pytest.raises(CommandError, match="NOT OK"):
        call_command("verify_bundle", str(bad), stderr=err)
    assert "Missing: records/assets.csv" in err.getvalue()


def test_not_a_zip_is_refused():
    report = _verify(b"%PDF-1.7 definitely not a zip")
    assert report.refused == "this is not a ZIP file."


def test_climbing_paths_are_refused(tmp_path):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("manifest.json", b"{}")
        archive.writestr("../../etc/cron.d/evil", b"* * * * * root rm -rf /")
    report = _verify(out.getvalue())
    assert "would leave the bundle's folder" in report.refused
    assert not list(tmp_path.iterdir())


def test_zip_bomb_is_refused_without_extracting():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", b"{}")
        archive.writestr("records/bomb.csv", b"\0" * (64 * 1024 * 1024))
    report = _verify(out.getvalue())
    assert "ZIP bomb" in report.refused


def test_public_key_is_stable_and_shown_in_the_bundle(built):
    with zipfile.ZipFile(io.BytesIO(_bytes(built))) as archive:
        assert archive.read("public_key.pem").decode() == signing.public_key_pem()


def test_restricted_engagement_bundle_holds_restricted_records(estate, restricted_engagement, auditor):
    bundle = bundle_request(actor=auditor, engagement=restricted_engagement)
    bundle.refresh_from_db()
    with zipfile.ZipFile(io.BytesIO(_bytes(bundle))) as archive:
        titles = {row["title"] for row in json.loads(archive.read("records/findings.json"))}
    assert titles == {"Issue on churn-model", "Issue on patients"}


def test_members_and_other_auditors_cannot_request_a_bundle(engagement, owner):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        bundle_request(actor=owner, engagement=engagement)


def test_upload_larger_than_the_limit_is_refused(settings):
    settings.HYGIENE_BUNDLE_VERIFY_MAX_BYTES = 100
    report = _verify(b"PK" + b"\0" * 200)
    assert "larger than 100 bytes" in report.refused


def test_bundle_page_follows_progress_and_download_is_audited(client, built, auditor):
    from tests.conftest import client_for

    client_for(client, auditor)
    page = client.get(f"/audits/bundles/{built.pk}/").content.decode()
    assert "Download the bundle" in page and built.sha256 in page
    assert client.get(f"/audits/bundles/{built.pk}/status/").json()["status"] == "done"
    response = client.get(f"/audits/bundles/{built.pk}/download/")
    assert b"".join(response.streaming_content) == _bytes(built)
    assert AuditEntry.objects.filter(action="download", object_id=str(built.pk), actor_id=auditor.pk).exists()


def test_verify_page_names_each_problem(client, built, lead):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.conftest import client_for

    client_for(client, lead)
    page = client.get("/audits/verify/").content.decode()
    assert signing.key_fingerprint() in page
    tampered = _rewrite(_bytes(built), lambda m: m.update({"evidence/planted.txt": b"x"}))
    response = client.post("/audits/verify/", {"file": SimpleUploadedFile("b.zip", tampered)})
    assert response.status_code == 422
    assert "Extra: evidence/planted.txt" in response.content.decode()
    response = client.post("/audits/verify/", {"file": SimpleUploadedFile("b.zip", b"not a zip")})
    assert "this is not a ZIP file" in response.content.decode()


def test_bundles_larger_than_the_default_upload_cap_verify_on_page_and_api(
    client, api_client, built, lead, settings
):
    """Bundles run to many MB: the verify paths set their own cap instead of the default one."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.conftest import client_for

    data = _bytes(built)
    settings.HYGIENE_UPLOAD_DEFAULT_MAX_BYTES = len(data) // 2
    client_for(client, lead)
    page = client.post("/audits/verify/", {"file": SimpleUploadedFile("b.zip", data)})
    api_client.force_authenticate(lead)
    api = api_client.post("/api/v1/bundles/verify/", {"file": io.BytesIO(data)}, format="multipart")

    assert page.status_code == 200 and "OK" in page.content.decode()
    assert api.status_code == 200 and api.json()["ok"] is True
    settings.HYGIENE_BUNDLE_VERIFY_MAX_BYTES = len(data) // 2
    refused = client.post("/audits/verify/", {"file": SimpleUploadedFile("b.zip", data)}, follow=True)
    assert "larger than the" in refused.content.decode()
