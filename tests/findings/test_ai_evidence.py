"""AI evidence end to end: model-file and red-team imports on model assets, the probe table, the
"last red-teamed" coverage data, and who may see them."""

from __future__ import annotations

from pathlib import Path

import pytest

from assets.models import AssetKind
from findings import selectors
from findings.models import Category, FindingStatus, JobStatus, RedTeamProbe
from findings.services import jobs
from tests.conftest import client_for
from tests.factories.assets import AssetFactory

pytestmark = pytest.mark.django_db

DATA = Path(__file__).resolve().parent / "data" / "ai"


def import_file(path: Path, asset, requested_format: str = ""):
    job = jobs.job_create_from_path(
        actor=None, team=asset.team, asset=asset, path=path, requested_format=requested_format, enqueue=False
    )
    job = jobs.job_run(job_id=job.pk)
    job.refresh_from_db()
    return job


@pytest.fixture
def model(team_a):
    return AssetFactory(team=team_a, kind=AssetKind.MODEL, name="support-bot")


def test_a_garak_run_on_a_model_writes_failing_probes_as_findings_and_every_probe_to_the_job(model):
    job = import_file(DATA / "garak-0.17.1.report.jsonl", model)

    assert job.status == JobStatus.DONE, job.error
    assert job.format == "garak"
    assert job.findings_count == 2
    assert set(model.findings.values_list("category", flat=True)) == {Category.RED_TEAM}
    probes = {probe.probe: probe for probe in RedTeamProbe.objects.filter(job=job)}
    assert len(probes) == 5
    assert (
        probes["promptinject.HijackHateHumans"].attempts,
        probes["promptinject.HijackHateHumans"].passed,
    ) == (48, 0)
    assert probes["dan.Dan_11_0"].atlas_ids == ["AML.T0054"]
    assert probes["encoding.InjectBase64"].pass_rate == 1.0


def test_a_red_team_run_that_fails_writes_neither_findings_nor_probes(model):
    data = (DATA / "garak-0.17.1.report.jsonl").read_bytes()
    truncated = Path(model.team.slug + "-cut.report.jsonl")
    path = DATA.parent / truncated.name
    path.write_bytes(data[: len(data) * 2 // 3])
    try:
        job = import_file(path, model, requested_format="garak")
    finally:
        path.unlink()

    assert job.status == JobStatus.FAILED
    assert "truncated" in job.error or "cut off" in job.error
    assert not model.findings.exists()
    assert not RedTeamProbe.objects.exists()


def test_a_promptfoo_red_team_imports_failing_plugins_and_the_plugin_table(model):
    job = import_file(DATA / "promptfoo-0.121.20-redteam.json", model)

    assert job.status == JobStatus.DONE, job.error
    assert sorted(model.findings.values_list("rule_id", flat=True)) == [
        "pii:direct",
        "shell-injection",
        "sql-injection",
    ]
    assert RedTeamProbe.objects.filter(job=job).count() == 4


def test_model_file_scans_become_model_file_findings_and_the_safe_serialization_evidence(model, owner):
    assert selectors.model_evidence_for_user(user=owner)[0].uses_safe_serialization is None

    job = import_file(DATA / "modelscan-0.8.8.json", model)

    assert job.status == JobStatus.DONE, job.error
    assert model.findings.filter(category=Category.MODEL_FILE, status=FindingStatus.OPEN).count() == 4
    evidence = selectors.model_evidence_for_user(user=owner)
    assert [(e.asset_id, e.open_model_file_findings, e.uses_safe_serialization) for e in evidence] == [
        (model.pk, 4, False)
    ]


def test_last_red_teamed_is_per_model_and_only_for_those_who_may_see_it(model, owner, outsider, team_a):
    never = AssetFactory(team=team_a, kind=AssetKind.MODEL, name="never-tested")
    job = import_file(DATA / "garak-0.17.1.report.jsonl", model)

    assert selectors.last_red_teamed_for_user(user=owner) == {model.pk: job.finished_at}
    assert selectors.last_red_teamed_for_user(user=outsider) == {}
    evidence = {e.asset_id: e for e in selectors.model_evidence_for_user(user=owner)}
    assert evidence[model.pk].last_red_teamed == job.finished_at
    assert evidence[model.pk].open_red_team_findings == 2
    assert evidence[never.pk].last_red_teamed is None
    assert selectors.check_type_labels(["red_team"]) == ["Red teaming"]
    assert selectors.check_type_labels(["model_file"]) == ["Model file scanning"]


def test_the_import_page_shows_the_probe_table_and_the_api_lists_it(
    client, api_client, model, owner, outsider
):
    job = import_file(DATA / "garak-0.17.1.report.jsonl", model)

    page = client_for(client, owner).get(job.get_absolute_url())
    assert page.status_code == 200
    body = page.content.decode()
    assert "Red-team probes" in body and "promptinject.HijackHateHumans" in body and "AML.T0054" in body

    api_client.force_login(owner)
    rows = api_client.get(f"/api/v1/scans/{job.pk}/probes/").json()
    assert {row["probe"]: row["pass_rate"] for row in rows}["test.Test"] == 1.0
    api_client.force_login(outsider)
    assert api_client.get(f"/api/v1/scans/{job.pk}/probes/").status_code == 404


def test_the_model_page_says_when_it_was_last_red_teamed_and_its_files_scanned(client, model, owner):
    page = client_for(client, owner).get(model.get_absolute_url()).content.decode()
    assert "Last red-teamed" in page and "never (import a garak or promptfoo report)" in page

    job = import_file(DATA / "promptfoo-0.121.20-redteam.json", model)

    page = client.get(model.get_absolute_url()).content.decode()
    assert "never (import a garak or promptfoo report)" not in page
    assert f"{job.finished_at:%-d %b %Y}" in page
    assert "never (import a ModelScan, picklescan or fickling report)" in page


@pytest.mark.parametrize(
    ("sample", "requested"),
    [("promptfoo-0.121.20-redteam.json", "garak"), ("modelscan-0.8.8.json", "picklescan")],
)
def test_a_report_of_another_tool_than_requested_fails_and_writes_nothing(model, sample, requested):
    job = import_file(DATA / sample, model, requested_format=requested)

    assert job.status == JobStatus.FAILED
    assert "as requested" in job.error
    assert not model.findings.exists() and not RedTeamProbe.objects.exists()
