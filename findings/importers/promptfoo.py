"""promptfoo red-team results (``promptfoo redteam run`` / ``promptfoo eval -o results.json``).

The output file holds one result per test case: the plugin that generated the attack
(``metadata.pluginId``), the strategy that wrapped it (``metadata.strategyId``), the target that
answered (``provider``) and whether the grader let it pass (``success``). Results are grouped by
(plugin, target): one finding per plugin with a failed case, and every plugin recorded with its
attempts and pass rate. A case that errored (the target did not answer) counts as neither.

Refused: another tool's JSON, an eval that is no red-team run (no case names a plugin), and results
that name no target.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from findings.errors import ImportFailed

from ._redteam import failing_probe_record, promptfoo_mapping
from ._shapes import need_dict, need_list
from .base import FindingRecord, ImportExtras, ProbeStat
from .common import as_dict, as_list, as_text, load_json

NAME = "promptfoo"
LABEL = "promptfoo red-team JSON"
HAS_EXTRAS = True

_SNIFF = re.compile(rb'"evalId"\s*:|"promptfooVersion"\s*:')
_RESULTS = re.compile(rb'"results"\s*:')


def sniff(head: bytes) -> bool:
    return head.lstrip()[:1] == b"{" and bool(_SNIFF.search(head)) and bool(_RESULTS.search(head))


@dataclass
class _Plugin:
    attempts: int = 0
    passed: int = 0
    strategies: list[str] = field(default_factory=list)
    graders: list[str] = field(default_factory=list)


def parse(stream: BinaryIO, extras: ImportExtras | None = None) -> Iterator[FindingRecord]:
    document = load_json(stream, label=LABEL)
    if document is None:
        raise ImportFailed(f"{LABEL}: the file is empty; expected the JSON output of promptfoo.")
    report = need_dict(document, label=LABEL, where="the top level")
    body = report.get("results")
    if not isinstance(body, dict):
        raise ImportFailed(
            f"{LABEL}: 'results' is missing or not an object; this is not promptfoo's output file."
        )
    results = need_list(body.get("results"), label=LABEL, where="results.results", missing_ok=False)
    default_target = _config_target(as_dict(report.get("config")))
    plugins: dict[tuple[str, str], _Plugin] = {}
    for index, item in enumerate(results):
        result = need_dict(item, label=LABEL, where=f"results.results[{index}]")
        metadata = {
            **as_dict(as_dict(result.get("testCase")).get("metadata")),
            **as_dict(result.get("metadata")),
        }
        plugin_id = as_text(metadata.get("pluginId"), 200)
        if not plugin_id:
            continue
        target = _provider_name(result.get("provider")) or default_target
        if not target:
            raise ImportFailed(
                f"{LABEL}: results.results[{index}] names no target (no provider and no target in the "
                "config); findings cannot be put on a model or endpoint."
            )
        if result.get("error") and result.get("success") is not True and not result.get("gradingResult"):
            continue  # the target never answered: neither a pass nor a fail
        entry = plugins.setdefault((plugin_id, target), _Plugin())
        entry.attempts += 1
        entry.passed += 1 if result.get("success") is True else 0
        strategy = as_text(metadata.get("strategyId"), 100)
        if strategy and strategy not in entry.strategies:
            entry.strategies.append(strategy)
        grader = as_text(as_dict(as_dict(result.get("gradingResult")).get("assertion")).get("type"), 100)
        if grader and grader not in entry.graders:
            entry.graders.append(grader)
    if results and not plugins:
        raise ImportFailed(
            f"{LABEL}: no result names a red-team plugin (metadata.pluginId); this is a plain promptfoo "
            "eval, not a red-team run."
        )
    stats = []
    for (plugin_id, target), entry in plugins.items():
        owasp, atlas = promptfoo_mapping(plugin_id, entry.strategies)
        stats.append(
            ProbeStat(
                probe=plugin_id,
                attempts=entry.attempts,
                passed=entry.passed,
                detectors=entry.graders,
                owasp=owasp,
                atlas=atlas,
                target=target,
            )
        )
    if extras is not None:
        extras.probes.extend(stats)
    for stat in stats:
        if stat.failed:
            yield failing_probe_record(
                stat, tool="promptfoo", family=stat.probe.split(":", 1)[0], noun="plugin"
            )


def _provider_name(value: Any) -> str:
    if isinstance(value, str):
        return as_text(value, 800)
    provider = as_dict(value)
    return as_text(provider.get("label"), 800) or as_text(provider.get("id"), 800)


def _config_target(config: dict[str, Any]) -> str:
    for key in ("targets", "providers"):
        for item in as_list(config.get(key)) or [config.get(key)]:
            name = _provider_name(item)
            if name:
                return name
    return ""
