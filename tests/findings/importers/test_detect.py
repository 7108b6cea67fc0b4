"""The importer registry: every sample of every format detects as its format; parse by name."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from findings.errors import ImportFailed
from findings.importers import FORMATS, detect_format, parse
from findings.importers.base import SNIFF_BYTES

REPO_ROOT = Path(__file__).resolve().parents[3]
SCANS = Path(os.environ.get("HYGIENE_SHARED_DIR", REPO_ROOT.parent / "shared")) / "scans"
FOLDERS = {"pip-audit": "pip_audit", "osv-scanner": "osv_scanner", "npm-audit": "npm_audit"}
SAMPLES = sorted(p for p in SCANS.glob("*/*") if p.is_file()) if SCANS.is_dir() else []
needs_samples = pytest.mark.skipif(not SAMPLES, reason=f"shared scan samples not found in {SCANS}")
# Files whose content alone cannot tell their format: what a scanner writes when it finds nothing.
# (greentic-flow__dependabot-alerts.json is `[]` too, but its own name says "dependabot".)
CONTENT_ALONE = {"gitleaks/no_findings.json": "trivy"}


def test_registry_holds_every_importer() -> None:
    assert set(FORMATS) == {
        "trivy", "grype", "sarif", "pip_audit", "bandit", "osv_scanner", "checkov",
        "gitleaks", "trufflehog", "npm_audit", "dependabot", "cyclonedx", "spdx",
        "modelscan", "picklescan", "fickling", "garak", "promptfoo",
    }  # fmt: skip
    for name, module in FORMATS.items():
        assert name == module.NAME
        assert module.LABEL and callable(module.sniff) and callable(module.parse)


@needs_samples
@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_sample_detects_as_its_format(path: Path) -> None:
    expected = FOLDERS.get(path.parent.name, path.parent.name)
    head = path.read_bytes()[:SNIFF_BYTES]
    relative = f"{path.parent.name}/{path.name}"
    # The folder is the clue a person gives by naming the upload "gitleaks/...", "trivy-report.json".
    assert detect_format(head, relative) == expected
    assert detect_format(head, path.name) == CONTENT_ALONE.get(relative, expected)


@needs_samples
@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_sample_parses_or_fails_cleanly(path: Path) -> None:
    name = detect_format(path.read_bytes()[:SNIFF_BYTES], f"{path.parent.name}/{path.name}")
    with path.open("rb") as stream:
        try:
            records = list(parse(name, stream))
        except ImportFailed as failure:
            assert FORMATS[name].LABEL in str(failure)  # e.g. SPDX 3 and npm's error object
        else:
            assert all(record.rule_id for record in records)


@pytest.mark.parametrize(
    ("head", "filename", "expected"),
    [
        (b"", "", "osv_scanner"),
        (b" \n", "scan.json", "osv_scanner"),
        (b"null", "", "trivy"),
        (b"null\n", "gitleaks-report.json", "gitleaks"),
        (b"[]", "", "pip_audit"),
        (b"[ ]\n", "reports/dependabot-alerts.json", "dependabot"),
        (b"[]", "trivy.json", "trivy"),
        (b"", "osv.json", "osv_scanner"),
        # A clue pointing at an importer that refuses the empty content is ignored.
        (b"", "cyclonedx.json", "osv_scanner"),
    ],
)
def test_empty_reports_detect_as_a_format_that_reads_no_records(
    head: bytes, filename: str, expected: str
) -> None:
    name = detect_format(head, filename)
    assert name == expected
    assert list(parse(name, io.BytesIO(head))) == []


def test_sarif_wins_over_the_tool_it_carries() -> None:
    head = b'{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "Trivy"}}, "results": []}]}'
    assert detect_format(head, "trivy.json") == "sarif"


def test_byte_order_mark_does_not_hide_the_format() -> None:
    assert detect_format(b'\xef\xbb\xbf{"SchemaVersion": 2, "ArtifactName": "a", "Results": []}') == "trivy"


@pytest.mark.parametrize(
    ("head", "fragment"),
    [
        (b"<?xml version='1.0'?><report/>", 'it is not JSON (it starts with "<?xml'),
        (b'{"hello": "world"}', "no importer recognizes its content"),
        (b"\x00\x01\x02\xff", "it is not JSON"),
    ],
)
def test_unknown_content_lists_the_supported_formats(head: bytes, fragment: str) -> None:
    with pytest.raises(ImportFailed) as failure:
        detect_format(head, "x.json")
    message = str(failure.value)
    assert fragment in message
    assert "Trivy JSON (trivy)" in message and "SARIF 2.1.0 (sarif)" in message


def test_parse_refuses_an_unknown_format_name() -> None:
    with pytest.raises(ImportFailed) as failure:
        parse("nessus", io.BytesIO(b"{}"))
    assert "nessus" in str(failure.value) and "Grype JSON (grype)" in str(failure.value)


def test_stray_low_level_errors_become_import_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(stream: io.BytesIO):  # type: ignore[no-untyped-def]
        yield from ()
        raise KeyError("Vulnerabilities")

    monkeypatch.setattr(FORMATS["bandit"], "parse", broken)
    with pytest.raises(ImportFailed) as failure:
        list(parse("bandit", io.BytesIO(b"{}")))
    assert "Bandit JSON" in str(failure.value) and "KeyError" in str(failure.value)
