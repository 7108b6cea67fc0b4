"""Every list exports as CSV and JSON: filters and permissions as on the page, formulas neutralised, audited,
streamed."""

import csv
import io
import json

import pytest

from hygiene.lib.exports import stream_csv, stream_json
from hygiene.models import AuditEntry
from tests.conftest import client_for
from tests.factories.findings import FindingFactory

pytestmark = pytest.mark.django_db


def _body(response) -> str:
    return b"".join(response.streaming_content).decode()


def test_member_export_holds_only_what_the_member_can_see(client, teammate, estate):
    client_for(client, teammate)
    rows = list(csv.DictReader(io.StringIO(_body(client.get("/exports/findings.csv")))))
    assert {row["title"] for row in rows} == {"Issue on churn-model", "Issue on patients"}  # team A only
    data = json.loads(_body(client.get("/exports/assets.json")))
    assert {row["name"] for row in data} == {"churn-model", "patients"}


def test_outsider_export_holds_only_their_team(client, outsider, estate):
    client_for(client, outsider)
    rows = list(csv.DictReader(io.StringIO(_body(client.get("/exports/findings.csv")))))
    assert [row["title"] for row in rows] == ["Issue on platform-api"]
    jobs = json.loads(_body(client.get("/exports/import-jobs.json")))
    assert [row["asset"] for row in jobs] == ["platform-api"]


def test_auditor_export_leaves_restricted_out_without_an_engagement(client, auditor, estate):
    client_for(client, auditor)
    titles = {row["title"] for row in json.loads(_body(client.get("/exports/findings.json")))}
    assert titles == {"Issue on churn-model", "Issue on platform-api"}


def test_export_honours_the_list_filters(client, owner, estate, team_a):
    FindingFactory(asset=estate["model"], title="Low thing", severity="low")
    client_for(client, owner)
    rows = json.loads(_body(client.get("/exports/findings.json?severity=low")))
    assert [row["title"] for row in rows] == ["Low thing"]


def test_export_neutralises_formulas_and_is_audited(client, owner, estate):
    FindingFactory(asset=estate["model"], title='=HYPERLINK("http://evil.example","click")')
    client_for(client, owner)
    text = _body(client.get("/exports/findings.csv"))
    assert "'=HYPERLINK" in text
    assert "\n=HYPERLINK" not in text and ",=HYPERLINK" not in text
    entry = AuditEntry.objects.filter(action="export", object_type="findings_finding").latest("id")
    assert entry.actor_id == owner.pk
    assert entry.after["list"] == "findings" and entry.after["format"] == "csv"


def test_audit_log_export_writes_before_and_after_as_json(client, lead, estate):
    client_for(client, lead)
    rows = list(
        csv.DictReader(io.StringIO(_body(client.get("/exports/audit-log.csv?object_type=assets_asset"))))
    )
    assert rows
    after = json.loads(rows[0]["after"].lstrip("'"))
    assert isinstance(after, dict) and "name" in after


def test_members_cannot_export_the_audit_log(client, teammate):
    client_for(client, teammate)
    response = client.get("/exports/audit-log.csv")
    assert response.status_code == 403


def test_unknown_export_and_format_are_404(client, teammate):
    client_for(client, teammate)
    assert client.get("/exports/nothing.csv").status_code == 404
    assert client.get("/exports/findings.xlsx").status_code == 404


def test_api_exports_list_and_stream(api_client, teammate, estate):
    api_client.force_authenticate(teammate)
    keys = {row["key"] for row in api_client.get("/api/v1/exports/").json()}
    assert {"assets", "findings", "import-jobs"} <= keys and "audit-log" not in keys
    response = api_client.get("/api/v1/exports/findings/json/")
    assert {row["title"] for row in json.loads(b"".join(response.streaming_content))} == {
        "Issue on churn-model",
        "Issue on patients",
    }


def test_api_export_inside_an_engagement_uses_its_scope(api_client, auditor, estate, restricted_engagement):
    api_client.force_authenticate(auditor)
    response = api_client.get(f"/api/v1/exports/findings/json/?engagement={restricted_engagement.pk}")
    titles = {row["title"] for row in json.loads(b"".join(response.streaming_content))}
    assert titles == {"Issue on churn-model", "Issue on patients"}


def test_exports_page_lists_every_registered_list(client, lead):
    client_for(client, lead)
    page = client.get("/exports/").content.decode()
    for title in ("Assets", "Findings", "Import jobs", "Audit log"):
        assert title in page


def test_stream_helpers_emit_chunks_not_one_string():
    rows = ((n, f"=cmd{n}", {"a": n}) for n in range(1200))
    chunks = list(stream_csv(["n", "text", "data"], rows, chunk_rows=500))
    assert len(chunks) >= 3
    parsed = list(csv.reader(io.StringIO("".join(chunks))))
    assert parsed[1] == ["0", "'=cmd0", '{"a": 0}']
    data = json.loads("".join(stream_json(["n"], ((n,) for n in range(1001)), chunk_rows=100)))
    assert len(data) == 1001 and data[-1] == {"n": 1000}


def _add_findings(asset, start, count):
    import hashlib

    from django.utils import timezone

    from findings.models import Finding

    now = timezone.now()
    Finding.objects.bulk_create(
        [
            Finding(
                asset=asset,
                team_id=asset.team_id,
                scanner="trivy",
                category="vulnerability",
                rule_id=f"CVE-2025-{n}",
                title=f"Streaming row {n} " + "x" * 60,
                severity="medium",
                fingerprint=hashlib.sha256(str(n).encode()).hexdigest(),
                first_seen=now,
                last_seen=now,
            )
            for n in range(start, start + count)
        ],
        batch_size=5000,
    )


def _export_peak(client, url="/exports/findings.csv") -> tuple[int, int, int]:
    """(lines, bytes, peak Python memory) of consuming the findings CSV (or ``url``'s) export."""
    import tracemalloc

    response = client.get(url)
    tracemalloc.start()
    total = rows = 0
    for chunk in response.streaming_content:
        total += len(chunk)
        rows += chunk.count(b"\n")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return rows, total, peak


def test_findings_export_streams_in_constant_memory_whatever_the_row_count(client, owner, estate):
    client_for(client, owner)
    _add_findings(estate["model"], 0, 10_000)
    small_rows, small_bytes, small_peak = _export_peak(client)
    _add_findings(estate["model"], 10_000, 40_000)
    rows, total, peak = _export_peak(client)
    assert (small_rows, rows) == (10_003, 50_003)  # + the header and team A's two findings of the estate
    assert total > 4.5 * small_bytes
    # Five times the rows, about the same peak: one chunk of rows at a time, never the whole export.
    assert peak < 1.5 * small_peak, f"peak {peak} bytes for {total} bytes, {small_peak} for {small_bytes}"


def test_findings_json_export_streams_in_constant_memory_too(client, owner, estate):
    client_for(client, owner)
    _add_findings(estate["model"], 0, 10_000)
    small_lines, small_bytes, small_peak = _export_peak(client, "/exports/findings.json")
    _add_findings(estate["model"], 10_000, 40_000)
    lines, total, peak = _export_peak(client, "/exports/findings.json")
    assert (small_lines, lines) == (10_004, 50_004)  # one object a line, "[" and "]" on their own
    assert total > 4.5 * small_bytes
    assert peak < 1.5 * small_peak, f"peak {peak} bytes for {total} bytes, {small_peak} for {small_bytes}"


@pytest.mark.django_db(transaction=True)
def test_an_abandoned_findings_export_stops_its_copy_and_leaves_the_connection_usable(owner, team_a):
    """A client that goes away mid-download ends the COPY (no thread left writing); the next request on
    the same process still reads the database."""
    import threading

    from django.db import connection

    from hygiene.lib.exports import queryset_csv
    from tests.factories.assets import AssetFactory

    _add_findings(AssetFactory(team=team_a), 0, 20_000)  # some 3 MB of CSV: more than the pipe holds
    from findings.models import Finding

    stream = queryset_csv(Finding.objects.order_by("id"), [("id", "id"), ("title", "title")])
    assert next(stream).startswith(b"id,title")
    first = next(stream)
    assert b"Streaming row" in first
    stream.close()

    assert not any(thread.name == "export-copy" for thread in threading.enumerate())
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM findings_finding")
        assert cursor.fetchone()[0] == 20_000


def test_json_export_keeps_every_character_of_awkward_text(client, owner, estate):
    """PostgreSQL writes the JSON through COPY: line breaks, quotes, backslashes, control characters
    (the ones COPY is told to use as delimiter and quote among them) and non-Latin text come back exact."""
    awkward = 'line one\nline two\r\n"quoted" \\path\\ \x01\x02\t tab, comma; café 漢字 \U0001f512'
    FindingFactory(asset=estate["model"], title=awkward, package="", fixed_version="")
    client_for(client, owner)
    response = client.get("/exports/findings.json")
    rows = json.loads(_body(response))
    mine = [row for row in rows if row["title"] == awkward]
    assert len(mine) == 1
    assert mine[0]["package"] == "" and mine[0]["cvss"] is None and mine[0]["kev"] is False


def test_json_export_of_nothing_is_an_empty_array(client, teammate):
    client_for(client, teammate)
    assert json.loads(_body(client.get("/exports/findings.json"))) == []


def test_audit_log_json_export_nests_before_and_after(client, lead, estate):
    client_for(client, lead)
    rows = json.loads(_body(client.get("/exports/audit-log.json?object_type=assets_asset")))
    assert rows and isinstance(rows[0]["after"], dict) and "name" in rows[0]["after"]


@pytest.mark.django_db(transaction=True)
def test_an_abandoned_json_export_stops_its_copy_too(owner, team_a):
    import threading

    from django.db import connection

    from findings.models import Finding
    from hygiene.lib.exports import queryset_json
    from tests.factories.assets import AssetFactory

    _add_findings(AssetFactory(team=team_a), 0, 20_000)
    stream = queryset_json(Finding.objects.order_by("id"), [("id", "id"), ("title", "title")])
    assert next(stream) == b"[\n"
    first = next(stream)
    assert first.startswith(b'{"id"') and b"Streaming row" in first
    stream.close()

    assert not any(thread.name == "export-copy" for thread in threading.enumerate())
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM findings_finding")
        assert cursor.fetchone()[0] == 20_000


def test_json_keys_are_the_column_names_whatever_their_characters(owner, estate):
    from findings.models import Finding
    from hygiene.lib.exports import queryset_json

    columns = [('title "as shown"', "title"), ("100% done", "kev"), ("asset", "asset__name")]
    chunks = queryset_json(Finding.objects.filter(asset=estate["model"]), columns)
    rows = json.loads(b"".join(chunks))
    assert rows == [{'title "as shown"': "Issue on churn-model", "100% done": False, "asset": "churn-model"}]


def test_every_registered_list_exports_as_json_with_its_own_keys(lead, estate):
    from hygiene.services.exports import EXPORTS, export_stream

    for key, spec in EXPORTS.items():
        export = export_stream(user=lead, key=key, export_format="json", params={})
        rows = json.loads(b"".join(c if isinstance(c, bytes) else c.encode() for c in export.chunks))
        assert isinstance(rows, list), key
        for row in rows:
            assert list(row) == [name for name, _ in spec.columns], key


def test_a_list_whose_scope_matches_nothing_exports_its_header_or_an_empty_array(client, lead):
    # With no control assessed, the assessments' scope compiles to "nothing" (Django writes no SQL for it).
    client_for(client, lead)
    text = _body(client.get("/exports/assessments.csv"))
    assert text.splitlines() == [text.splitlines()[0]] and text.startswith("id,control,")
    assert json.loads(_body(client.get("/exports/assessments.json"))) == []


def test_the_sql_neutralisation_agrees_with_the_python_one_on_every_first_character():
    from django.db import connection

    from hygiene.lib.exports import _neutralised, safe_cell

    cells = ["=1+1", "+1", "-1", "@SUM(1)", "\t=1", "\r=1", "", "plain", "é=1", "漢=1", " =1", "'=1", None]
    cells += [chr(code) + "x" for code in range(1, 128)]
    with connection.cursor() as cursor:
        for cell in cells:
            cursor.execute(f"SELECT {_neutralised('v')} FROM (SELECT %s::text AS v) AS cell", [cell])
            assert cursor.fetchone()[0] == safe_cell(cell), repr(cell)
