"""Secrets in Jupyter notebooks: located by cell and output, one finding across checkpoint copies.

gitleaks and trufflehog v3 are Go binaries no registry reachable here ships, so their reports are
built here in the shape of the real shared samples (tests/../shared/scans/gitleaks, trufflehog), for
the files ``scripts/notebook_cells.py`` really writes from a notebook and its checkpoint copy.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from findings.importers import gitleaks, trufflehog
from findings.models import Category, JobStatus
from findings.services import jobs
from tests.factories.assets import AssetFactory

pytestmark = pytest.mark.django_db

REPO_ROOT = Path(__file__).resolve().parents[2]
SECRET = "AKIAIOSFODNN7EXAMPLE"


def make_notebook(folder: Path) -> None:
    notebook = {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": ["# Churn model\n"]},
            {
                "cell_type": "code",
                "metadata": {},
                "execution_count": 1,
                "source": ["import boto3\n", f"key = '{SECRET}'\n"],
                "outputs": [],
            },
            {
                "cell_type": "code",
                "metadata": {},
                "execution_count": 2,
                "source": ["print(os.environ)\n"],
                "outputs": [{"output_type": "stream", "name": "stdout", "text": [f"AWS_KEY={SECRET}\n"]}],
            },
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (folder / "notebooks" / ".ipynb_checkpoints").mkdir(parents=True)
    text = json.dumps(notebook, indent=1)
    (folder / "notebooks" / "churn.ipynb").write_text(text)
    (folder / "notebooks" / ".ipynb_checkpoints" / "churn-checkpoint.ipynb").write_text(text)


def laid_out(tmp_path: Path) -> list[tuple[str, int]]:
    """Run the real layout script; (relative path, line) of every file line holding the secret."""
    make_notebook(tmp_path / "repo")
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
    hits = []
    for path in sorted((tmp_path / "out").rglob("*.txt")):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if SECRET in line:
                hits.append((str(path.relative_to(tmp_path / "out")), number))
    return hits


def gitleaks_report(hits: list[tuple[str, int]]) -> bytes:
    return json.dumps(
        [
            {
                "Description": "AWS",
                "StartLine": line,
                "EndLine": line,
                "StartColumn": 1,
                "EndColumn": 20,
                "Match": SECRET,
                "Secret": SECRET,
                "File": path,
                "Commit": "",
                "Entropy": 3.6,
                "RuleID": "aws-access-token",
                "Tags": [],
            }
            for path, line in hits
        ]
    ).encode()


def test_the_layout_script_writes_one_file_per_cell_and_output(tmp_path):
    hits = laid_out(tmp_path)

    assert hits == [
        ("notebooks/.ipynb_checkpoints/churn-checkpoint.ipynb.cells/cell-2.txt", 2),
        ("notebooks/.ipynb_checkpoints/churn-checkpoint.ipynb.cells/cell-3-output-1.txt", 1),
        ("notebooks/churn.ipynb.cells/cell-2.txt", 2),
        ("notebooks/churn.ipynb.cells/cell-3-output-1.txt", 1),
    ]


def test_gitleaks_secrets_in_a_notebook_are_located_by_cell_and_output(tmp_path):
    records = list(gitleaks.parse(io.BytesIO(gitleaks_report(laid_out(tmp_path)))))

    assert {record.location for record in records} == {
        "notebooks/churn.ipynb cell 2 line 2",
        "notebooks/churn.ipynb cell 3, output 1 line 1",
    }
    assert any("Notebook notebooks/churn.ipynb, cell 3, output 1, line 1" in r.description for r in records)
    assert any("(also in its .ipynb_checkpoints copy)" in r.description for r in records)
    assert all(SECRET not in value for r in records for value in (r.title, r.description, r.location))


def test_a_secret_in_a_notebook_and_its_checkpoint_copy_is_one_finding_per_cell(tmp_path, team_a):
    asset = AssetFactory(team=team_a, kind="notebook", name="churn-notebooks")
    report = tmp_path / "gitleaks.json"
    report.write_bytes(gitleaks_report(laid_out(tmp_path)))

    job = jobs.job_create_from_path(actor=None, team=team_a, asset=asset, path=report, enqueue=False)
    job = jobs.job_run(job_id=job.pk)
    job.refresh_from_db()

    assert job.status == JobStatus.DONE, job.error
    assert job.findings_count == 2  # four hits: two cells, each also in the checkpoint copy
    assert sorted(asset.findings.values_list("location", flat=True)) == [
        "notebooks/churn.ipynb cell 2 line 2",
        "notebooks/churn.ipynb cell 3, output 1 line 1",
    ]
    assert set(asset.findings.values_list("category", flat=True)) == {Category.SECRET}


def test_a_raw_notebook_and_its_checkpoint_copy_are_one_finding(tmp_path):
    hits = [("nb/churn.ipynb", 17), ("nb/.ipynb_checkpoints/churn-checkpoint.ipynb", 17)]
    records = list(gitleaks.parse(io.BytesIO(gitleaks_report(hits))))

    assert {record.location for record in records} == {"nb/churn.ipynb:17"}
    assert "line 17 of its JSON" in records[1].description


def test_trufflehog_secrets_in_notebook_cells_are_located_and_folded_the_same_way(tmp_path):
    lines = [
        json.dumps(
            {
                "SourceMetadata": {"Data": {"Filesystem": {"file": path, "line": line}}},
                "SourceID": 1,
                "SourceType": 15,
                "SourceName": "trufflehog - filesystem",
                "DetectorType": 2,
                "DetectorName": "AWS",
                "DecoderName": "PLAIN",
                "Verified": False,
                "Raw": SECRET,
                "RawV2": "",
                "Redacted": SECRET,
                "ExtraData": None,
            }
        )
        for path, line in laid_out(tmp_path)
    ]
    records = list(trufflehog.parse(io.BytesIO("\n".join(lines).encode())))

    assert {record.location for record in records} == {
        "notebooks/churn.ipynb cell 2 line 2",
        "notebooks/churn.ipynb cell 3, output 1 line 1",
    }
