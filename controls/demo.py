"""Demo controls: the baseline assessed over the demo inventory, owners for some controls and not
others, evidence (current, expiring, expired), and exceptions in every state, all through the services
so the audit log and notifications look like real use."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from assets.models import Asset
from controls.models import Assessment, Control, ExceptionStatus, RiskException
from controls.services.assessments import assessment_run
from controls.services.catalogs import builtin_catalogs_load
from controls.services.controls import baseline_seed
from controls.services.evidence import evidence_add
from controls.services.exceptions import (
    exception_approve,
    exception_reject,
    exception_request,
    exception_withdraw,
    exceptions_expire,
)
from controls.services.ownership import ownership_set
from findings.models import Finding

# (team slug, control code, owner username): the rest of the baseline is left for the gap pages.
OWNERS = [
    ("research", "HYG-SEC-01", "researcher"),
    ("research", "HYG-SEC-02", "researcher"),
    ("research", "HYG-VUL-01", "champion"),
    ("research", "HYG-VUL-03", "champion"),
    ("research", "HYG-IR-01", "champion"),
    ("research", "HYG-GOV-02", "champion"),
    ("platform", "HYG-VUL-01", "platform"),
    ("platform", "HYG-VUL-03", "platform"),
    ("platform", "HYG-ENV-01", "platform"),
    ("platform", "HYG-IR-03", "platform"),
]


def _days(n: int) -> dt.date:
    return timezone.localdate() + dt.timedelta(days=n)


def _assessment(code: str, *, asset: Asset | None = None, team: Any = None) -> Assessment:
    if asset is not None:
        return Assessment.objects.get(control__code=code, asset=asset)
    return Assessment.objects.get(control__code=code, team=team, asset__isnull=True)


def seed_demo_data(*, teams: dict[str, Any], users: dict[str, Any]) -> None:
    builtin_catalogs_load()
    baseline_seed(assess=False)
    assets = {asset.name: asset for asset in Asset.objects.filter(team__in=teams.values())}
    if "support-llm-ft" not in assets:
        return  # the inventory demo did not run
    assessment_run()
    for team, code, owner in OWNERS:
        lead = users["champion"] if team == "research" else users["platform"]
        ownership_set(
            actor=lead, control=Control.objects.get(code=code), team=teams[team], owner=users[owner]
        )
    _evidence(teams, users, assets)
    _exceptions(users, assets)
    assessment_run()


def _evidence(teams: dict[str, Any], users: dict[str, Any], assets: dict[str, Asset]) -> None:
    evidence_add(
        actor=users["champion"], assessment=_assessment("HYG-IR-01", team=teams["research"]), kind="text",
        title="Incident response plan v3", collected_on=_days(-40), expires_on=_days(325),
        text="Plan reviewed with the on-call rota; playbooks for prompt injection and data leakage.",
    )  # fmt: skip
    evidence_add(
        actor=users["champion"], assessment=_assessment("HYG-GOV-02", team=teams["research"]), kind="link",
        title="Security training completion report", url="https://lms.example.org/reports/research-2026",
        collected_on=_days(-15),
    )  # fmt: skip
    evidence_add(
        actor=users["platform"], assessment=_assessment("HYG-IR-03", team=teams["platform"]), kind="file",
        title="Restore drill of the model registry", collected_on=_days(-30), expires_on=_days(335),
        file=SimpleUploadedFile(
            "restore-drill.txt", b"Restore of model registry from backup: 42 min, RTO met.\n", "text/plain"
        ),
    )  # fmt: skip
    evidence_add(
        actor=users["platform"], assessment=_assessment("HYG-IR-02", team=teams["platform"]), kind="text",
        title="Tabletop: leaked API key", collected_on=_days(-200), expires_on=_days(-20),
        text="Scenario: an API key of the serving image leaked in a public gist.",
    )  # fmt: skip
    evidence_add(
        actor=users["researcher"], assessment=_assessment("HYG-SUP-02", asset=assets["base-llm-7b"]),
        kind="text", title="Weights verified against the publisher's checksums", collected_on=_days(-5),
        text="SHA-256 of every shard matches the model card; licence reviewed.",
    )  # fmt: skip


def _exceptions(users: dict[str, Any], assets: dict[str, Asset]) -> None:
    def open_findings(asset: str) -> list[int]:
        return list(
            Finding.objects.filter(asset=assets[asset], status="open")
            .order_by("severity_rank")
            .values_list("pk", flat=True)[:2]
        )

    common = {"compensating_controls": "", "risk_rating": "medium"}
    notebook = open_findings("prompt-experiments")
    if notebook:
        exception_request(
            actor=users["researcher"], title="Test key in an archived notebook", finding_ids=notebook[:1],
            justification="The key belongs to a sandbox account with no data; it is rotated weekly.",
            expires_on=_days(30), **common,
        )  # fmt: skip
    serving = open_findings("llm-serving")
    if serving:
        approved = exception_request(
            actor=users["platform"], title="Upstream fix not released yet", finding_ids=serving[:1],
            justification="No fixed package in the base image yet; the service is internal only.",
            expires_on=_days(25), compensating_controls="Network policy limits callers to the API gateway.",
            risk_rating="high",
        )  # fmt: skip
        exception_approve(
            actor=users["lead"], exception=approved, comment="Rebuild as soon as the fix lands."
        )
    repo = open_findings("support-llm-repo")
    if repo:
        rejected = exception_request(
            actor=users["champion"], title="Weak hash used for cache keys", finding_ids=repo[:1],
            justification="Only used for cache keys.", expires_on=_days(60), **common,
        )  # fmt: skip
        exception_reject(
            actor=users["lead"], exception=rejected, comment="Switch to SHA-256: a one-line fix."
        )
    if len(repo) > 1:
        expired = exception_request(
            actor=users["champion"], title="Fix planned for the next release", finding_ids=repo[1:2],
            justification="Release train in three weeks.", expires_on=_days(20), **common,
        )  # fmt: skip
        exception_approve(actor=users["lead"], exception=expired, comment="OK for one release.")
        RiskException.objects.filter(pk=expired.pk).update(expires_on=_days(-1))
        exceptions_expire()
    control = Control.objects.get(code="HYG-OPS-02")
    monitoring = exception_request(
        actor=users["champion"], title="Output monitoring during the migration to the new gateway",
        asset=assets["support-llm-ft"], control=control, expires_on=_days(45),
        justification="Output logs are sampled by hand daily until the gateway ships.",
        compensating_controls="Daily manual review of 200 sampled answers.", risk_rating="medium",
    )  # fmt: skip
    exception_approve(
        actor=users["lead"], exception=monitoring, comment="Daily review is enough for six weeks."
    )
    withdrawn = exception_request(
        actor=users["lead"], title="Dashboard classification pending", asset=assets["ab-test-dashboard"],
        control=Control.objects.get(code="HYG-DATA-01"), expires_on=_days(20),
        justification="Owner asked for a week.", risk_rating="low", compensating_controls="",
    )  # fmt: skip
    exception_withdraw(actor=users["lead"], exception=withdrawn)
    assert RiskException.objects.filter(status=ExceptionStatus.WITHDRAWN).exists()
