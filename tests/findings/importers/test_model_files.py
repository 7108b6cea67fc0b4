"""Model-file scanners (ModelScan, picklescan, fickling) on reports the real tools wrote here."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from findings.errors import ImportFailed
from findings.importers import detect_format, fickling, modelscan, parse, picklescan
from findings.importers.base import Category, Severity

DATA = Path(__file__).resolve().parents[1] / "data" / "ai"


def records(fmt: str, name: str) -> list:
    with (DATA / name).open("rb") as stream:
        return list(parse(fmt, stream))


def test_modelscan_report_gives_one_finding_per_unsafe_operator_and_flags_clean_pickles() -> None:
    found = records("modelscan", "modelscan-0.8.8.json")
    by_rule = {(record.rule_id, record.location): record for record in found}
    assert len(found) == 4
    system = by_rule[("posix.system", "evil_model.pkl")]
    assert system.category == Category.MODEL_FILE
    assert system.severity == Severity.CRITICAL
    assert system.target == "/tmp/mf"
    assert "AML.T0011.000" in system.description
    assert by_rule[("builtins.eval", "eval_model.pkl")].severity == Severity.CRITICAL
    assert by_rule[("webbrowser.open", "browser_model.pkl")].severity == Severity.HIGH
    clean = by_rule[("unsafe-serialization-format", "clean_model.pkl")]
    assert clean.severity == Severity.LOW


def test_picklescan_text_report_gives_one_finding_per_dangerous_import() -> None:
    found = records("picklescan", "picklescan-1.0.5.txt")
    assert sorted(record.rule_id for record in found) == ["builtins.eval", "posix.system", "webbrowser.open"]
    assert {record.location for record in found} == {
        "/tmp/mf/evil_model.pkl",
        "/tmp/mf/browser_model.pkl",
        "/tmp/mf/eval_model.pkl",
    }
    assert all(
        record.category == Category.MODEL_FILE and record.severity == Severity.CRITICAL for record in found
    )
    assert {record.target for record in found} == {"/tmp/mf"}


def test_picklescan_report_cut_before_its_summary_is_refused() -> None:
    text = (DATA / "picklescan-1.0.5.txt").read_bytes().split(b"-----------")[0]
    with pytest.raises(ImportFailed, match="SCAN SUMMARY"):
        list(picklescan.parse(io.BytesIO(text)))


def test_fickling_unsafe_result_names_each_unsafe_kind_and_safe_result_gives_nothing() -> None:
    unsafe = records("fickling", "fickling-0.1.12-unsafe.json")
    assert sorted(record.rule_id for record in unsafe) == [
        "fickling:UnsafeImports",
        "fickling:UnusedVariables",
    ]
    assert all(record.severity == Severity.CRITICAL for record in unsafe)
    assert "from posix import system" in unsafe[0].title + unsafe[1].title
    assert records("fickling", "fickling-0.1.12-safe.json") == []


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("modelscan-0.8.8.json", modelscan.NAME),
        ("picklescan-1.0.5.txt", picklescan.NAME),
        ("fickling-0.1.12-unsafe.json", fickling.NAME),
        ("fickling-0.1.12-safe.json", fickling.NAME),
    ],
)
def test_model_file_reports_are_detected(name: str, fmt: str) -> None:
    assert detect_format((DATA / name).read_bytes()[:65536], name) == fmt


def test_modelscan_requested_for_another_tools_report_is_refused() -> None:
    with pytest.raises(ImportFailed, match="not a ModelScan report"):
        list(modelscan.parse(io.BytesIO(b'{"summary": {}, "issues": []}')))
