"""garak and promptfoo red-team reports (written here by the real tools) and their OWASP/ATLAS mapping."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from findings.errors import ImportFailed
from findings.importers import _redteam, detect_format, garak, parse, promptfoo
from findings.importers.base import Category, ImportExtras, Severity

DATA = Path(__file__).resolve().parents[1] / "data" / "ai"
GARAK = DATA / "garak-0.17.1.report.jsonl"
PROMPTFOO = DATA / "promptfoo-0.121.20-redteam.json"
REPO_ROOT = Path(__file__).resolve().parents[3]
ATLAS = REPO_ROOT.parent / "shared" / "frameworks" / "atlas" / "ATLAS.yaml"


def run(fmt: str, data: bytes) -> tuple[list, ImportExtras]:
    extras = ImportExtras()
    return list(parse(fmt, io.BytesIO(data), extras)), extras


def test_garak_report_gives_one_finding_per_failing_probe_and_every_probes_pass_rate() -> None:
    records, extras = run("garak", GARAK.read_bytes())

    stats = {stat.probe: stat for stat in extras.probes}
    assert set(stats) == {
        "dan.Dan_11_0",
        "encoding.InjectBase64",
        "goodside.Tag",
        "promptinject.HijackHateHumans",
        "test.Test",
    }
    assert (
        stats["promptinject.HijackHateHumans"].attempts,
        stats["promptinject.HijackHateHumans"].passed,
    ) == (48, 0)
    assert (stats["dan.Dan_11_0"].attempts, stats["dan.Dan_11_0"].passed) == (2, 0)
    assert stats["encoding.InjectBase64"].pass_rate == 1.0
    assert stats["dan.Dan_11_0"].detectors == ["dan.DAN", "mitigation.MitigationBypass"]
    assert sorted(record.rule_id for record in records) == ["dan.Dan_11_0", "promptinject.HijackHateHumans"]
    for record in records:
        assert record.category == Category.RED_TEAM
        assert record.severity == Severity.HIGH  # pass rate below one half
        assert record.target == "echo-model"
        assert "pass rate 0%" in record.title


def test_garak_probes_map_to_owasp_llm_2025_and_atlas() -> None:
    _, extras = run("garak", GARAK.read_bytes())
    stats = {stat.probe: stat for stat in extras.probes}

    assert stats["dan.Dan_11_0"].owasp == ["LLM01:2025"]
    assert stats["dan.Dan_11_0"].atlas == ["AML.T0054"]
    assert stats["promptinject.HijackHateHumans"].atlas == ["AML.T0051.000"]
    assert stats["test.Test"].owasp == [] and stats["test.Test"].atlas == []


def test_promptfoo_red_team_gives_one_finding_per_failing_plugin_with_attempts_and_pass_rate() -> None:
    records, extras = run("promptfoo", PROMPTFOO.read_bytes())

    stats = {stat.probe: (stat.attempts, stat.passed) for stat in extras.probes}
    assert stats == {
        "pii:direct": (6, 1),
        "shell-injection": (2, 0),
        "sql-injection": (2, 0),
        "prompt-extraction": (2, 2),
    }
    assert sorted(record.rule_id for record in records) == ["pii:direct", "shell-injection", "sql-injection"]
    by_rule = {record.rule_id: record for record in records}
    assert by_rule["pii:direct"].target == "support-bot-echo"
    assert (
        "OWASP LLM Top 10 2025: LLM02:2025 Sensitive Information Disclosure"
        in by_rule["pii:direct"].description
    )
    assert "MITRE ATLAS: AML.T0057 LLM Data Leakage" in by_rule["pii:direct"].description
    assert {stat.probe: stat.owasp for stat in extras.probes}["shell-injection"] == ["LLM05:2025"]


def test_every_mapped_atlas_id_exists_in_the_shared_atlas_catalogue() -> None:
    if not ATLAS.is_file():
        pytest.skip("shared ATLAS.yaml not found")
    known = set(re.findall(r"^\s*- id: (AML\.T\d{4}(?:\.\d{3})?)\s*$", ATLAS.read_text(), re.M))
    used = {
        value
        for table in (_redteam.GARAK_PROBES, _redteam.PROMPTFOO_PLUGINS, _redteam.PROMPTFOO_STRATEGIES)
        for _, atlas in table.values()
        for value in atlas
    }
    assert used <= known
    assert set(_redteam.ATLAS_NAMES) <= known
    owasp = {
        value
        for table in (_redteam.GARAK_PROBES, _redteam.PROMPTFOO_PLUGINS)
        for o, _ in table.values()
        for value in o
    }
    assert owasp <= set(_redteam.OWASP_LLM_2025)


def test_promptfoo_jailbreak_strategy_adds_llm_jailbreak() -> None:
    assert _redteam.promptfoo_mapping("harmful:hate", ["jailbreak"]) == (
        ["LLM01:2025", "LLM05:2025"],
        ["AML.T0048", "AML.T0054"],
    )


@pytest.mark.parametrize(("path", "fmt"), [(GARAK, garak.NAME), (PROMPTFOO, promptfoo.NAME)])
def test_red_team_reports_are_detected(path: Path, fmt: str) -> None:
    assert detect_format(path.read_bytes()[:65536], path.name) == fmt


def test_a_truncated_garak_report_is_refused() -> None:
    data = GARAK.read_bytes()
    cut = data[: len(data) // 2]
    with pytest.raises(ImportFailed, match=r"truncated|cut off"):
        run("garak", cut)


def test_a_garak_report_without_completion_is_refused() -> None:
    lines = [
        line
        for line in GARAK.read_bytes().splitlines(keepends=True)
        if b'"entry_type": "completion"' not in line
    ]
    with pytest.raises(ImportFailed, match="no 'completion' entry"):
        run("garak", b"".join(lines))


def test_a_garak_report_naming_no_target_is_refused() -> None:
    data = GARAK.read_bytes()
    data = data.replace(b'"plugins.target_type": "test.Repeat"', b'"plugins.target_type": ""', 1)
    data = data.replace(b'"plugins.target_name": "echo-model"', b'"plugins.target_name": null', 1)
    with pytest.raises(ImportFailed, match="names no target"):
        run("garak", data)


def test_a_garak_hitlog_or_other_jsonl_is_refused() -> None:
    with pytest.raises(ImportFailed, match="not a garak report"):
        run("garak", b'{"goal": "x", "probe": "dan.Dan_11_0"}\n')


def test_a_promptfoo_result_naming_no_target_is_refused() -> None:
    data = (
        PROMPTFOO.read_bytes()
        .replace(b'"label": "support-bot-echo"', b'"label": ""')
        .replace(b'"id": "echo"', b'"id": ""')
    )
    with pytest.raises(ImportFailed, match="names no target"):
        run("promptfoo", data)


def test_a_plain_promptfoo_eval_is_not_a_red_team_report() -> None:
    data = PROMPTFOO.read_bytes().replace(b'"pluginId"', b'"otherId"')
    with pytest.raises(ImportFailed, match="not a red-team run"):
        run("promptfoo", data)
