"""The stored-XSS corpus: REAL scanner outputs (see ../shared/scans/SOURCES.md) and a real ML-BOM with
payloads injected into every field a page shows (titles, descriptions, rule ids, paths, package names,
URLs as ``javascript:`` links), plus the form inputs people type (asset names, tags, incident titles and
notes, control titles, exception reasons, evidence file names, engagement names).

Each payload both runs script if it is ever rendered unescaped (a dialog fires: the browser context
bypasses the CSP so a missing escape is seen, not hidden by the policy) and leaves a mark in the DOM
(an ``on*`` attribute, a ``javascript:`` link) that the test looks for."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
SCANS = Path(os.environ.get("HYGIENE_SHARED_DIR", REPO_ROOT.parent / "shared")) / "scans"

PAYLOAD = "\"'><img src=x onerror=alert(1)><svg onload=alert(2)><script>alert(3)</script>"
JS_URL = "javascript:alert(4)"
SHORT = "<b onmouseover=alert(5)>x</b>"  # for fields with a short limit (tags, codes)

# Keys whose text a page shows, and keys that hold links.
TEXT_KEYS = {
    *("Target", "PkgName", "VulnerabilityID", "Title", "Description", "PkgPath", "ID", "Message"),
    *("ruleId", "id", "name", "text", "uri", "fullyQualifiedName", "description", "package", "file"),
    *("group", "publisher", "version_label", "location", "path"),
}
URL_KEYS = {"PrimaryURL", "helpUri", "url", "dataSource", "urls", "References", "references", "links"}
# Keys an importer needs verbatim to read the file at all.
KEEP = {"Severity", "severity", "SchemaVersion", "version", "$schema", "bomFormat", "specVersion", "type"}

REAL_FILES = (
    ("trivy/scheme_2_many_vulns.json", "trivy.json"),
    ("grype/fix_available.json", "grype.json"),
    ("sarif/gitleaks_7.5.0.sarif", "gitleaks.sarif"),
)
REAL_BOM = "cyclonedx/valid-machine-learning-1.6.json"


def _inject(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: (v if k in KEEP else _inject(v, k)) for k, v in value.items()}
    if isinstance(value, list):
        if key in URL_KEYS:
            return [JS_URL for _ in value] or [JS_URL]
        return [_inject(v, key) for v in value]
    if isinstance(value, str):
        if key in URL_KEYS:
            return JS_URL
        if key in TEXT_KEYS:
            return f"{value} {PAYLOAD}"
    return value


def real_file(relative: str) -> bytes:
    return (SCANS / relative).read_bytes()


def hostile_scans() -> list[tuple[str, bytes]]:
    """(file name, content) of each real scan with the payloads injected; the name carries one too."""
    return [
        (f"{PAYLOAD}{name}", json.dumps(_inject(json.loads(real_file(relative)))).encode())
        for relative, name in REAL_FILES
    ]


def hostile_bom() -> bytes:
    bom = _inject(json.loads(real_file(REAL_BOM)))
    bom["bomFormat"], bom["specVersion"] = "CycloneDX", "1.6"
    return json.dumps(bom).encode()
