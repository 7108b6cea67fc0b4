"""Every importer of the registry fed mutated REAL scan files (issue 13, hostile files): byte flips, cuts,
inserted junk, JSON values of the wrong type, deleted keys and deep nesting. Whatever the file, the only
error allowed is our own ``ImportFailed`` (the message the uploader reads); every record that comes out
is one the ingest pipeline can store (so the job cannot die later with an "unexpected error").

Hypothesis runs derandomized (a fixed seed) with a bounded number of examples per format, so the run is
the same on every machine and takes a few seconds per format.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from assets.bom import BomRejected, parse_bom
from assets.spdx3 import parse_spdx3
from findings.errors import ImportFailed
from findings.importers import FORMATS, detect_format, parse
from findings.importers.base import SNIFF_BYTES, FindingRecord, ImportExtras, ProbeStat
from findings.services.ingest import _copy_data, _line, fingerprint
from tests.conftest import SCANS_DIR

EXAMPLES = 100
AI_DIR = Path(__file__).resolve().parents[1] / "findings" / "data" / "ai"

# One or two real samples per format, small enough that most mutations land on fields importers read.
SAMPLES: dict[str, tuple[Path, ...]] = {
    "sarif": (SCANS_DIR / "sarif/results.sarif", SCANS_DIR / "sarif/gitleaks_7.5.0.sarif"),
    "cyclonedx": (SCANS_DIR / "cyclonedx/log4j.json", SCANS_DIR / "cyclonedx/aibom.json"),
    "spdx": (SCANS_DIR / "spdx/spdx_many_vuln.json", SCANS_DIR / "spdx/ai-example02.spdx3.json"),
    "trivy": (
        SCANS_DIR / "trivy/scheme_2_many_vulns.json",
        SCANS_DIR / "trivy/misconfigurations_and_secrets.json",
    ),
    "grype": (SCANS_DIR / "grype/many_vulns4.json",),
    "modelscan": (AI_DIR / "modelscan-0.8.8.json",),
    "fickling": (AI_DIR / "fickling-0.1.12-unsafe.json",),
    "promptfoo": (AI_DIR / "promptfoo-0.121.20-redteam.json",),
    "garak": (AI_DIR / "garak-0.17.1.report.jsonl",),
    "picklescan": (AI_DIR / "picklescan-1.0.5.txt",),
    "osv_scanner": (SCANS_DIR / "osv-scanner/some_findings.json",),
    "checkov": (SCANS_DIR / "checkov/checkov-report-many-vuln.json",),
    "bandit": (SCANS_DIR / "bandit/one_vuln.json",),
    "npm_audit": (
        SCANS_DIR / "npm-audit/many_vulns.json",
        SCANS_DIR / "npm-audit/npm_audit_7_plus__one_vuln.json",
    ),
    "dependabot": (SCANS_DIR / "dependabot/dependabot_alerts.json",),
    "pip_audit": (SCANS_DIR / "pip-audit/many_vulns_new.json",),
    "gitleaks": (SCANS_DIR / "gitleaks/gitleaks8_many.json",),
    "trufflehog": (
        SCANS_DIR / "trufflehog/v3_git.json",
        AI_DIR / "notebook-secrets/trufflehog-2.2.1-cells.jsonl",
    ),
}
# Lists longer than this are cut to their first items: a mutation then lands on an item importers read.
KEEP_ITEMS = 4

# Values of the wrong type (or the right type at its extremes) put where a field was.
HOSTILE_VALUES = st.one_of(
    st.sampled_from(
        [None, True, False, 0, -1, 2**63, -(2**70), 1e308, -0.0, "", "\x00", " ", "x" * 5000, [], {}, [None]]
    ),
    st.sampled_from([{"": None}, [[[]]], "9" * 400, "2024-13-45T99:99:99Z", "javascript:alert(1)", "../x"]),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    # No lone surrogates: orjson refuses the whole file for one, so the field would never be read.
    st.text(st.characters(exclude_categories=["Cs"]), max_size=40),
    st.lists(st.text(st.characters(exclude_categories=["Cs"]), max_size=5), max_size=3),
)
NESTING = st.sampled_from([50, 1000, 1100, 20_000])


def _load(path: Path) -> bytes:
    data = path.read_bytes()
    try:
        document = json.loads(data)
    except ValueError:
        return data
    return json.dumps(_shortened(document)).encode()


def _shortened(value: Any) -> Any:
    if isinstance(value, list):
        return [_shortened(item) for item in value[:KEEP_ITEMS]]
    if isinstance(value, dict):
        return {key: _shortened(item) for key, item in value.items()}
    return value


def _nodes(value: Any, found: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Every (container, key) pair of a JSON document, depth first."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found.append((value, key))
        _nodes(item, found)
    return found


_MARK = "\x00hygiene-fuzz-nest\x00"


@st.composite
def _json_mutation(draw: st.DrawFn, document: Any) -> bytes:
    nodes = _nodes(document, [])
    if not nodes:
        return json.dumps(draw(HOSTILE_VALUES)).encode()
    for _ in range(draw(st.integers(1, 3))):
        container, key = nodes[draw(st.integers(0, len(nodes) - 1))]
        kind = draw(st.sampled_from(["swap", "swap", "drop", "nest", "text"]))
        if kind == "drop":
            del container[key]
            nodes = _nodes(document, [])
            if not nodes:
                break
        elif kind == "nest":
            container[key] = _MARK
        elif kind == "text":  # the value as a string of itself (numbers quoted, objects flattened)
            container[key] = json.dumps(container[key])
        else:
            container[key] = draw(HOSTILE_VALUES)
    text = json.dumps(document)
    depth = draw(NESTING)
    opener = draw(st.sampled_from(["[", '{"a":']))
    closer = "]" if opener == "[" else "}"
    return text.replace(json.dumps(_MARK), opener * depth + "1" + closer * depth).encode()


@st.composite
def _byte_mutation(draw: st.DrawFn, data: bytes) -> bytes:
    kind = draw(st.sampled_from(["flip", "cut", "insert"]))
    if not data:
        return draw(st.binary(max_size=32))
    at = draw(st.integers(0, len(data) - 1))
    if kind == "cut":
        return data[:at]
    if kind == "insert":
        return data[:at] + draw(st.binary(min_size=1, max_size=16)) + data[at:]
    flipped = bytearray(data)
    for _ in range(draw(st.integers(1, 8))):
        position = draw(st.integers(0, len(data) - 1))
        flipped[position] ^= 1 << draw(st.integers(0, 7))
    return bytes(flipped)


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """A real file changed the way broken tools, disks and attackers change files."""
    lines = data.splitlines(keepends=True)
    # Mostly fields of the wrong type: a file that is not JSON at all is refused early by every importer.
    if draw(st.integers(0, 3)) > 0:
        try:
            document = json.loads(data)
        except ValueError:
            document = None
        if document is not None:
            return draw(_json_mutation(document))
        if len(lines) > 1:  # JSON lines: one line mutated as a document of its own
            index = draw(st.integers(0, len(lines) - 1))
            try:
                line = json.loads(lines[index])
            except ValueError:
                line = None
            if line is not None:
                lines[index] = draw(_json_mutation(line)) + b"\n"
                return b"".join(lines)
    return draw(_byte_mutation(data))


def _stub_due(severity: str, rule_id: str) -> tuple[str, str, str]:
    return ("\\N", "f", "\\N")


_TEXT_FIELDS = (
    *("category", "rule_id", "title", "severity", "package", "installed_version", "fixed_version"),
    *("location", "target", "description", "url", "tool", "identity"),
)


def _check_storable(record: FindingRecord) -> None:
    """What the ingest would choke on (an "unexpected error" job) or the database would refuse."""
    for name in _TEXT_FIELDS:
        assert isinstance(getattr(record, name), str), f"{name} is {type(getattr(record, name)).__name__}"
    assert record.cvss is None or (type(record.cvss) is float and 0 <= record.cvss <= 10), record.cvss
    if record.published_at is not None:
        assert isinstance(record.published_at, dt.datetime) and record.published_at.tzinfo is not None
    with contextlib.suppress(ImportFailed):  # an unknown category: refused with a message
        _copy_data([_line(record, fingerprint(record), _stub_due)])


def _check_probe(probe: ProbeStat) -> None:
    assert type(probe.probe) is str and type(probe.target) is str
    assert type(probe.attempts) is int and 0 <= probe.attempts < 2**31, probe.attempts
    assert type(probe.passed) is int and 0 <= probe.passed < 2**31, probe.passed
    for values, width in ((probe.detectors, None), (probe.owasp, 20), (probe.atlas, 20)):
        assert all(type(value) is str for value in values), values
        assert width is None or all(len(value) <= width for value in values), values
    assert all(math.isfinite(value) for value in (probe.pass_rate,))


def _import(format_name: str, filename: str, data: bytes) -> None:
    with contextlib.suppress(ImportFailed):
        detect_format(data[:SNIFF_BYTES], filename)
    extras = ImportExtras()
    try:
        records = list(parse(format_name, io.BytesIO(data), extras))
    except ImportFailed as exc:
        assert str(exc).strip(), "an import error must say what is wrong"
        return
    for record in records:
        _check_storable(record)
    for probe in extras.probes:
        _check_probe(probe)


def test_every_format_of_the_registry_is_fuzzed():
    assert set(SAMPLES) == set(FORMATS)
    for paths in SAMPLES.values():
        assert all(path.exists() for path in paths), paths


@pytest.mark.parametrize("format_name", sorted(SAMPLES))
def test_mutated_real_files_fail_only_with_a_clean_import_error(format_name):
    samples = [(path.name, _load(path)) for path in SAMPLES[format_name]]
    # The unmutated samples import, with findings: the fuzz starts from working files.
    assert any(list(parse(format_name, io.BytesIO(data), ImportExtras())) for _, data in samples)

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def run(data):
        index = data.draw(st.integers(0, len(samples) - 1))
        name, original = samples[index]
        _import(format_name, name, data.draw(mutated(original)))

    run()


# ---- the inventory's BOM imports (CycloneDX ML-BOM, SPDX 3 AI and dataset profiles) -----------------

BOM_SAMPLES = {
    "cyclonedx": (
        SCANS_DIR / "cyclonedx/aibom.json",
        SCANS_DIR / "cyclonedx/valid-machine-learning-1.6.json",
    ),
    "spdx3": (SCANS_DIR / "spdx/ai-example02.spdx3.json", SCANS_DIR / "spdx/dataset-example01.spdx3.json"),
}


def _read_bom(kind: str, data: bytes) -> None:
    try:
        content = parse_spdx3(data) if kind == "spdx3" else parse_bom(data, subject_named=True)
    except BomRejected as exc:
        assert exc.messages and all(message.strip() for message in exc.messages)
        return
    keys = {spec.key for spec in content.assets}
    for spec in content.assets:
        assert isinstance(spec.name, str) and isinstance(spec.kind, str) and isinstance(spec.description, str)
        assert all(isinstance(value, str) for value in spec.all_identifiers), spec.all_identifiers
    assert all(edge.source in keys and edge.target in keys for edge in content.edges), content.edges


@pytest.mark.parametrize("kind", sorted(BOM_SAMPLES))
def test_mutated_real_boms_are_refused_only_with_a_clean_message(kind):
    samples = [_load(path) for path in BOM_SAMPLES[kind]]
    for data in samples:
        _read_bom(kind, data)

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def run(data):
        original = samples[data.draw(st.integers(0, len(samples) - 1))]
        _read_bom(kind, data.draw(mutated(original)))

    run()
