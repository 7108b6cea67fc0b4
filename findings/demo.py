"""Demo findings for the demo inventory: two months of scans of the serving image and the repositories.

Records are built here (no file from ../shared is read at run time) and merged by the import pipeline's
own service, ``job_import_records``, as import jobs dated in the past, so first-seen dates, mitigations
between scans, SLA due dates (some past) and the history of each finding look like real use. The KEV
and EPSS rows are the real catalogue entries and scores of the CVEs used, as of early 2025.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from assets.models import Asset
from findings.importers.base import FindingRecord
from findings.models import EpssScore, Finding, KevEntry
from findings.services.enrichment import epss_apply_to_findings, kev_apply_to_findings
from findings.services.findings import finding_bulk_set_status
from findings.services.jobs import job_import_records
from findings.services.sources import source_create

NVD = "https://nvd.nist.gov/vuln/detail/"
IMAGE = "registry.example.org/research/llm-serving:1.4.2"

# rule id, severity, package, installed, fixed, title, cvss
SERVING_VULNS: list[tuple[str, str, str, str, str, str, float]] = [
    ("CVE-2023-4863", "high", "libwebp7", "1.2.4-0.2", "1.2.4-0.2+deb12u1",
     "libwebp: heap buffer overflow in WebP codec (BuildHuffmanTable)", 8.8),
    ("CVE-2023-44487", "high", "libnghttp2-14", "1.52.0-1", "1.52.0-1+deb12u1",
     "HTTP/2 Rapid Reset: request cancellation can reset many streams quickly", 7.5),
    ("CVE-2024-6387", "high", "openssh-client", "1:9.2p1-2", "1:9.2p1-2+deb12u3",
     "openssh: regreSSHion, signal handler race condition in sshd", 8.1),
    ("CVE-2023-38545", "critical", "libcurl4", "7.88.1-10", "7.88.1-10+deb12u4",
     "curl: SOCKS5 heap buffer overflow", 9.8),
    ("CVE-2025-32434", "critical", "torch", "2.5.1", "2.6.0",
     "PyTorch: torch.load with weights_only=True still allows remote code execution", 9.3),
    ("CVE-2024-11393", "high", "transformers", "4.44.2", "4.48.0",
     "Hugging Face Transformers MaskFormer model deserialization of untrusted data", 8.8),
    ("CVE-2024-8939", "medium", "vllm", "0.6.1", "0.6.2",
     "vLLM: denial of service through the best_of parameter", 6.2),
    ("CVE-2024-23334", "high", "aiohttp", "3.9.0", "3.9.2",
     "aiohttp: follow_symlinks allows directory traversal for static routes", 7.5),
    ("CVE-2024-22195", "medium", "jinja2", "3.1.2", "3.1.3",
     "Jinja2: HTML attribute injection through the xmlattr filter", 5.4),
    ("CVE-2024-35195", "medium", "requests", "2.31.0", "2.32.0",
     "Requests: Session keeps verify=False for later requests to the same host", 5.6),
    ("CVE-2024-37891", "medium", "urllib3", "2.0.7", "2.2.2",
     "urllib3: Proxy-Authorization header kept on cross-origin redirects", 4.4),
    ("CVE-2024-6345", "high", "setuptools", "68.0.0", "70.0.0",
     "setuptools: remote code execution via download functions of package_index", 8.8),
    ("CVE-2023-50782", "high", "cryptography", "41.0.7", "42.0.0",
     "cryptography: Bleichenbacher timing oracle in RSA decryption", 7.5),
    ("CVE-2024-0727", "low", "libssl3", "3.0.11-1", "3.0.13-1~deb12u1",
     "openssl: denial of service via null dereference in PKCS12 parsing", 5.5),
]  # fmt: skip
# Fixed by the rebuild between the two scans (gone from the second one).
FIXED_BY_REBUILD = {"CVE-2023-38545", "CVE-2024-22195", "CVE-2024-0727"}
NEW_IN_REBUILD: list[tuple[str, str, str, str, str, str, float]] = [
    ("CVE-2024-45590", "high", "body-parser", "1.20.2", "1.20.3",
     "body-parser: denial of service when url encoding is enabled", 7.5),
]  # fmt: skip

KEV = [
    ("CVE-2023-4863", "Google", "Chromium WebP",
     "Google Chromium WebP Heap-Based Buffer Overflow Vulnerability", "2023-09-13", "2023-10-04", False),
    ("CVE-2023-44487", "IETF", "HTTP/2", "HTTP/2 Rapid Reset Attack Vulnerability",
     "2023-10-10", "2023-10-31", False),
]  # fmt: skip
EPSS = {
    "CVE-2023-4863": (0.93805, 0.99836),
    "CVE-2023-44487": (0.94437, 0.99975),
    "CVE-2024-6387": (0.41373, 0.97389),
    "CVE-2023-38545": (0.20164, 0.96211),
    "CVE-2025-32434": (0.00521, 0.65880),
    "CVE-2024-11393": (0.00843, 0.74912),
    "CVE-2024-23334": (0.43651, 0.97453),
    "CVE-2024-22195": (0.00063, 0.26840),
    "CVE-2024-35195": (0.00045, 0.17212),
    "CVE-2024-37891": (0.00081, 0.34529),
    "CVE-2024-6345": (0.00171, 0.54620),
    "CVE-2023-50782": (0.00222, 0.60104),
}


def _vulns(rows: list[tuple[str, str, str, str, str, str, float]]) -> list[FindingRecord]:
    return [
        FindingRecord(
            category="vulnerability",
            rule_id=rule_id,
            title=title,
            severity=severity,
            package=package,
            installed_version=installed,
            fixed_version=fixed,
            location=f"{IMAGE} (debian 12.5)"
            if "-" in installed or ":" in installed
            else "usr/lib/python3.11",
            target=IMAGE,
            cvss=cvss,
            description=f"{title}. Upgrade {package} to {fixed} or later.",
            url=f"{NVD}{rule_id}",
        )
        for rule_id, severity, package, installed, fixed, title, cvss in rows
    ]


def _repository_records() -> list[FindingRecord]:
    repo = "https://git.example.org/research/support-llm"
    return [
        FindingRecord(category="secret", rule_id="huggingface-access-token", severity="critical",
                      title="Hugging Face access token committed", location="scripts/push_model.py:12",
                      target=repo, description="Token hf_****************************3kQ in a push script."),
        FindingRecord(category="code_weakness", rule_id="B301", severity="medium",
                      title="pickle.load of data that may come from outside",
                      location="eval/load_cache.py:41",
                      target=repo, url="https://bandit.readthedocs.io/en/latest/blacklists/blacklist_calls.html"),
        FindingRecord(category="code_weakness", rule_id="python.lang.security.audit.eval-detected",
                      severity="high", title="eval() on model output", location="agents/tools.py:88",
                      target=repo, description="Model output reaches eval(): prompt injection becomes code."),
        FindingRecord(category="code_weakness", rule_id="B615", severity="medium",
                      title="Hugging Face from_pretrained without a pinned revision",
                      location="train/finetune.py:23", target=repo),
    ]  # fmt: skip


def _notebook_records() -> list[FindingRecord]:
    notebook = "https://jupyter.example.org/research/prompt-experiments.ipynb"
    return [
        FindingRecord(category="secret", rule_id="openai-api-key", severity="high",
                      title="OpenAI API key in notebook output", location="cell 7, output",
                      target=notebook,
                      description="sk-proj-****************************Xw2 printed by a cell."),
    ]  # fmt: skip


def _cluster_records() -> list[FindingRecord]:
    cluster = "k8s://gpu-prod-eu-west-1"
    checks = [
        ("CKV_K8S_16", "high", "Container should not be privileged", "deployment/vllm-server"),
        ("CKV_K8S_40", "medium", "Containers should run as a high UID", "deployment/vllm-server"),
        ("CKV_K8S_8", "low", "Liveness probe should be configured", "deployment/moderation-proxy"),
        ("CKV_K8S_21", "low", "The default namespace should not be used", "deployment/moderation-proxy"),
    ]
    return [
        FindingRecord(category="misconfiguration", rule_id=rule, severity=severity, title=title,
                      location=f"k8s/serving.yaml:{resource}", target=cluster,
                      url=f"https://docs.prisma.io/en/enterprise-edition/policy-reference/{rule.lower()}")
        for rule, severity, title, resource in checks
    ]  # fmt: skip


def _import(asset: Asset, scanner: str, records: list[FindingRecord], *, days_ago: int, user: Any) -> None:
    """One past import job through the pipeline's merge, with the records kept as its raw file."""
    seen_at = timezone.now() - dt.timedelta(days=days_ago)
    job_import_records(
        team=asset.team,
        asset=asset,
        records=records,
        scanner=scanner,
        started_at=seen_at,
        uploaded_by=user,
        filename=f"{scanner}-{asset.name}-{seen_at:%Y%m%d}.json",
    )


def _enrichment() -> None:
    KevEntry.objects.bulk_create(
        KevEntry(cve_id=c, vendor=v, product=p, name=n, date_added=dt.date.fromisoformat(a),
                 due_date=dt.date.fromisoformat(d), known_ransomware=r)
        for c, v, p, n, a, d, r in KEV
    )  # fmt: skip
    today = timezone.localdate()
    EpssScore.objects.bulk_create(
        EpssScore(cve_id=cve, score=score, percentile=pct, scored_on=today)
        for cve, (score, pct) in EPSS.items()
    )


@transaction.atomic
def seed_demo_data(*, teams: dict[str, Any], users: dict[str, Any]) -> None:
    assets = {asset.name: asset for asset in Asset.objects.filter(team__in=teams.values())}
    if "llm-serving" not in assets:
        return  # the inventory demo did not run; findings need its assets
    _enrichment()
    serving, repo = assets["llm-serving"], assets["support-llm-repo"]
    first_scan = _vulns(SERVING_VULNS)
    rebuilt = [r for r in first_scan if r.rule_id not in FIXED_BY_REBUILD] + _vulns(NEW_IN_REBUILD)
    _import(serving, "trivy", first_scan, days_ago=52, user=users["platform"])
    _import(serving, "trivy", rebuilt, days_ago=9, user=users["platform"])
    _import(repo, "sarif", _repository_records(), days_ago=40, user=users["champion"])
    _import(repo, "sarif", _repository_records(), days_ago=3, user=users["champion"])
    _import(
        assets["prompt-experiments"], "gitleaks", _notebook_records(), days_ago=12, user=users["researcher"]
    )
    _import(assets["gpu-cluster-prod"], "checkov", _cluster_records(), days_ago=20, user=users["platform"])
    kev_apply_to_findings()
    epss_apply_to_findings()
    pickle = Finding.objects.get(asset=repo, rule_id="B301")
    finding_bulk_set_status(
        actor=users["champion"], finding_ids=[pickle.pk], status="false_positive",
        reason="The cache file is written by the same job that reads it; nothing outside reaches it.",
    )  # fmt: skip
    drop = Path(settings.HYGIENE_SCAN_FOLDER_ROOTS[0]) / teams["platform"].slug / "serving-ci"
    drop.mkdir(parents=True, exist_ok=True)
    source_create(
        actor=users["platform"], team=teams["platform"], asset=serving, name="Serving image CI drop",
        kind="folder", location=str(drop), format="trivy", interval_minutes=60,
    )  # fmt: skip
