"""Generate large, realistic Trivy JSON and SARIF files for parser and ingestion benchmarks.

The shapes follow the real samples in ``shared/scans`` (Trivy SchemaVersion 2 image scans, CodeQL /
Semgrep SARIF): packages repeat across results, descriptions are long, and every generated finding
is distinct under (category, rule id, package, location) so deduplication does not shrink the set.
Files are written incrementally, so generating 300 MB needs little memory.
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import orjson

# One string split at run time reads better than sixty quoted words.
_WORDS = re.split(
    r"\s+",
    "buffer overflow heap use-after-free integer truncation crafted input remote attacker denial of "
    "service memory corruption privilege escalation out-of-bounds read write validation bypass "
    "certificate verification request smuggling null pointer dereference race condition path "
    "traversal injection sanitizer allows attackers to execute code via a specially",
)
_OS_PACKAGES = [
    "openssl", "libssl3", "libcrypto3", "zlib", "busybox", "musl", "curl", "libcurl", "expat",
    "ncurses-libs", "sqlite-libs", "libxml2", "krb5-libs", "freetype", "libpng", "libjpeg-turbo",
    "glib", "pcre2", "gnutls", "libtasn1", "bash", "coreutils", "tar", "xz-libs", "libbz2",
]  # fmt: skip
_LANG_RESULTS = [
    ("app/requirements.txt", "pip", "pypi", ["django", "urllib3", "requests", "jinja2", "pyyaml"]),
    ("app/package-lock.json", "npm", "npm", ["lodash", "minimist", "axios", "express", "semver"]),
    ("app/libs/commons-compress-1.14.jar", "jar", "maven", ["org.apache.commons:commons-compress"]),
    ("usr/local/bin/app", "gobinary", "golang", ["golang.org/x/net", "golang.org/x/crypto", "stdlib"]),
    ("app/Gemfile.lock", "bundler", "gem", ["rack", "nokogiri", "rails", "activesupport"]),
]
_SEVERITIES = ("CRITICAL", "HIGH", "HIGH", "MEDIUM", "MEDIUM", "MEDIUM", "LOW", "LOW", "UNKNOWN")
_TRIVY_RECORD_BYTES = 3000  # what one generated vulnerability weighs with the default description
_TRIVY_DESCRIPTION = 1150


def _sentence(rng: random.Random, n_words: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(n_words)).capitalize() + "."


def _text(rng: random.Random, n_chars: int) -> str:
    parts: list[str] = []
    size = 0
    while size < n_chars:
        parts.append(_sentence(rng, rng.randint(8, 20)))
        size += len(parts[-1]) + 1
    return " ".join(parts)[:n_chars]


def _trivy_vuln(rng: random.Random, i: int, pkg: str, lang: tuple[str, str, str] | None, desc: int) -> dict:
    cve = f"CVE-{2014 + i // 2 % 11}-{10000 + i // 2}"  # two packages share each CVE, like openssl/libssl
    severity = _SEVERITIES[i % len(_SEVERITIES)]
    score = {"CRITICAL": 9.8, "HIGH": 7.5, "MEDIUM": 5.3, "LOW": 3.1, "UNKNOWN": 0.0}[severity]
    version = f"{rng.randint(0, 4)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}-r{rng.randint(0, 5)}"
    vuln: dict[str, Any] = {
        "VulnerabilityID": cve,
        "PkgID": f"{pkg}@{version}",
        "PkgName": pkg,
        "PkgIdentifier": {
            "PURL": f"pkg:{lang[2] if lang else 'apk/alpine'}/{pkg}@{version}",
            "UID": f"{i:016x}",
        },
        "InstalledVersion": version,
        "FixedVersion": f"{version}.1" if i % 3 else "",
        "Status": "fixed" if i % 3 else "affected",
        "Layer": {"DiffID": f"sha256:{rng.getrandbits(256):064x}"},
        "SeveritySource": "nvd",
        "PrimaryURL": f"https://avd.aquasec.com/nvd/{cve.lower()}",
        "DataSource": {"ID": "alpine", "Name": "Alpine Secdb", "URL": "https://secdb.alpinelinux.org/"},
        "Title": f"{pkg}: {_sentence(rng, 8)}",
        "Description": _text(rng, desc),
        "Severity": severity,
        "CweIDs": [f"CWE-{rng.randint(20, 900)}"],
        "VendorSeverity": {"nvd": 3, "redhat": 2},
        "CVSS": {
            "nvd": {"V3Vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", "V3Score": score},
            "redhat": {"V3Vector": "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:H", "V3Score": score},
        }
        if score
        else {},
        "References": [f"https://security.example.org/{cve}/{k}" for k in range(12)],
        "PublishedDate": f"20{14 + i % 11}-0{1 + i % 9}-1{i % 10}T1{i % 10}:15:00Z",
        "LastModifiedDate": "2024-02-04T13:15:00Z",
    }
    if lang:
        # Distinct paths keep (CVE, package, location) unique when a one-package pool repeats a CVE.
        vuln["PkgPath"] = f"{lang[0].rsplit('/', 1)[0]}/{pkg.replace(':', '/')}-{i}"
    return vuln


def write_trivy(
    path: str | Path, n_findings: int | None = None, seed: int = 0, *, target_bytes: int | None = None
) -> int:
    """Write a Trivy SchemaVersion 2 image report; returns the number of vulnerabilities written.

    Give ``n_findings`` (about 3 KB each), ``target_bytes`` (the count follows from the size), or both
    (descriptions are stretched or shrunk to reach the size).
    """
    if n_findings is None:
        n_findings = max(1, (target_bytes or 0) // _TRIVY_RECORD_BYTES)
    desc = _TRIVY_DESCRIPTION
    if target_bytes:
        desc = max(40, desc + target_bytes // max(1, n_findings) - _TRIVY_RECORD_BYTES)
    rng = random.Random(seed)
    header = {
        "SchemaVersion": 2,
        "CreatedAt": "2024-05-02T10:11:12.123456Z",
        "ArtifactName": "registry.example.com/team/app:1.2.3",
        "ArtifactType": "container_image",
        "Metadata": {
            "OS": {"Family": "alpine", "Name": "3.18.4"},
            "ImageID": f"sha256:{rng.getrandbits(256):064x}",
            "RepoTags": ["registry.example.com/team/app:1.2.3"],
        },
    }
    os_share = n_findings * 6 // 10
    slices = [(None, os_share)]
    rest = n_findings - os_share
    for k, lang in enumerate(_LANG_RESULTS):
        share = rest // len(_LANG_RESULTS) + (1 if k < rest % len(_LANG_RESULTS) else 0)
        slices.append((lang, share))
    with open(path, "wb") as out:
        out.write(orjson.dumps(header, option=orjson.OPT_INDENT_2)[:-2] + b',\n  "Results": [')
        i = 0
        for n, (lang, count) in enumerate(slices):
            if lang is None:
                head = {"Target": "registry.example.com/team/app:1.2.3 (alpine 3.18.4)", "Class": "os-pkgs"}
                head["Type"] = "alpine"
                pool = _OS_PACKAGES
            else:
                head = {"Target": lang[0], "Class": "lang-pkgs", "Type": lang[1]}
                pool = lang[3]
            out.write((b",\n" if n else b"\n") + orjson.dumps(head)[:-1] + b',"Vulnerabilities":[')
            for j in range(count):
                vuln = _trivy_vuln(rng, i, pool[i % len(pool)], lang[:3] if lang else None, desc)
                out.write((b",\n" if j else b"\n") + orjson.dumps(vuln, option=orjson.OPT_INDENT_2))
                i += 1
            out.write(b"]}")
        out.write(b"\n  ]\n}\n")
    return n_findings


_SARIF_LEVELS = ("error", "warning", "warning", "note")


def _sarif_rule(rng: random.Random, k: int) -> dict:
    return {
        "id": f"py/rule-{k}",
        "name": f"py/rule-{k}",
        "shortDescription": {"text": _sentence(rng, 6)},
        "fullDescription": {"text": _text(rng, 400)},
        "defaultConfiguration": {"enabled": True, "level": _SARIF_LEVELS[k % 4]},
        "help": {"text": _text(rng, 600), "markdown": _text(rng, 600)},
        "properties": {
            "tags": ["security", f"external/cwe/cwe-{rng.randint(20, 900)}"],
            "kind": "path-problem" if k % 3 == 0 else "problem",
            "precision": "high",
            "security-severity": f"{(k * 37) % 100 / 10:.1f}",
        },
    }


def _sarif_result(rng: random.Random, i: int, n_rules: int, message: int) -> dict:
    k = i % n_rules
    line = 10 + (i // n_rules) % 4000
    uri = f"src/pkg{i % 97}/module_{(i // 97) % 400}.py"
    result: dict[str, Any] = {
        "ruleId": f"py/rule-{k}",
        "ruleIndex": k,
        "level": _SARIF_LEVELS[i % 4],
        "message": {"text": _text(rng, message)},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%", "index": i % 1000},
                    "region": {"startLine": line, "startColumn": 5, "endColumn": 30},
                    "contextRegion": {
                        "startLine": line - 2,
                        "endLine": line + 2,
                        "snippet": {
                            "text": "    try:\n        os.remove(path)\n    except OSError:\n        pass\n"
                        },
                    },
                }
            }
        ],
        "partialFingerprints": {"primaryLocationLineHash": f"{rng.getrandbits(64):016x}:1"},
    }
    if i % 5 == 0:  # a minority carry data flows, as CodeQL path-problems do
        step = {
            "location": {
                "physicalLocation": {"artifactLocation": {"uri": uri}, "region": {"startLine": line}}
            }
        }
        result["codeFlows"] = [{"threadFlows": [{"locations": [step, step, step]}]}]
    return result


def write_sarif(
    path: str | Path, n_results: int | None = None, seed: int = 0, *, target_bytes: int | None = None
) -> int:
    """Write a one-run CodeQL-like SARIF 2.1.0 file (~1.5 KB per result); returns the result count."""
    per_result = 1500
    if n_results is None:
        n_results = max(1, (target_bytes or 0) // per_result)
    message = 950
    if target_bytes:
        message = max(20, message + target_bytes // max(1, n_results) - per_result)
    rng = random.Random(seed)
    rules = [_sarif_rule(rng, k) for k in range(min(250, max(1, n_results)))]
    tool = {"driver": {"name": "CodeQL", "semanticVersion": "2.15.0", "rules": rules}}
    with open(path, "wb") as out:
        out.write(b'{"$schema":"https://json.schemastore.org/sarif-2.1.0.json","version":"2.1.0","runs":[{')
        out.write(b'"tool":' + orjson.dumps(tool) + b',"versionControlProvenance":')
        out.write(
            orjson.dumps([{"repositoryUri": "https://git.example.com/team/app", "revisionId": "abc123"}])
        )
        out.write(b',"results":[')
        for i in range(n_results):
            out.write((b",\n" if i else b"\n") + orjson.dumps(_sarif_result(rng, i, len(rules), message)))
        out.write(b'],"columnKind":"utf16CodeUnits"}]}\n')
    return n_results


_MEASURE = """
import resource, sys, time
from findings.importers import parse
name, path = sys.argv[1], sys.argv[2]
wall, cpu, count = time.perf_counter(), time.process_time(), 0
with open(path, "rb") as stream:
    for _ in parse(name, stream):
        count += 1
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{name}: {count} records, {count / wall:,.0f}/s wall, {count / cpu:,.0f}/s CPU, peak RSS {rss:.0f} MB")
"""


def main() -> None:
    """Write a Trivy report and a SARIF log and time their parsing, each in a fresh interpreter."""
    import argparse
    import subprocess
    import sys
    import tempfile

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--findings", type=int, default=100_000)
    parser.add_argument("--dir", default=None, help="where to write the files (default: a temporary folder)")
    args = parser.parse_args()
    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        for name, write in (("trivy", write_trivy), ("sarif", write_sarif)):
            path = Path(folder) / f"{name}.json"
            write(path, args.findings)
            print(f"{name}: wrote {path.stat().st_size / 1e6:.0f} MB", flush=True)
            subprocess.run([sys.executable, "-c", _MEASURE, name, str(path)], cwd=root, check=True)


if __name__ == "__main__":
    main()
