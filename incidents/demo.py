"""Demo incidents for the demo inventory, written through the services with times in the past.

One incident in each state, playbooks running (one with an overdue step), one escalated while nobody
acknowledged it, a restricted one, a review published to Learnings, follow-ups (one overdue), and the
exercises of three teams."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from assets.models import Asset
from incidents.models import Playbook, Status
from incidents.services import (
    checklist_item_complete,
    escalation_run,
    exercise_record,
    followup_add,
    incident_add_note,
    incident_report,
    incident_transition,
    playbook_start,
    review_publish,
    review_save,
)


def _ago(**delta: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(**delta)


def _assets(*names: str) -> list[int]:
    return list(Asset.objects.filter(name__in=names).values_list("pk", flat=True))


def _advance(incident: Any, actor: Any, steps: list[tuple[str, dt.datetime]], commander: Any = None) -> Any:
    for status, at in steps:
        incident = incident_transition(
            actor=actor,
            incident=incident,
            status=status,
            at=at,
            commander=commander if status == Status.ACKNOWLEDGED else None,
        )
    return incident


def _closed_credential_leak(teams: dict[str, Any], users: dict[str, Any]) -> None:
    champion = users["champion"]
    incident = incident_report(
        actor=users["researcher"],
        team=teams["research"],
        title="Hugging Face write token committed to support-llm-repo",
        category="credential_leak",
        severity="high",
        description="gitleaks flagged an hf_ token in configs/upload.yaml on the main branch of"
        " support-llm-repo.",
        occurred_at=_ago(days=20, hours=6),
        detected_at=_ago(days=20, hours=2),
        reported_at=_ago(days=20, hours=1, minutes=50),
        asset_ids=_assets("support-llm-repo"),
    )
    incident = _advance(incident, champion, [(Status.ACKNOWLEDGED, _ago(days=20, hours=1, minutes=40))])
    run = playbook_start(
        actor=champion,
        incident=incident,
        playbook=Playbook.objects.get(slug="credential-leak"),
        at=_ago(days=20, hours=1, minutes=35),
    )
    for minutes, item in zip((20, 50, 100, 200, 400), run.items.order_by("position"), strict=False):
        checklist_item_complete(actor=champion, item=item, at=run.started_at + dt.timedelta(minutes=minutes))
    incident = _advance(
        incident,
        champion,
        [
            (Status.CONTAINED, _ago(days=20, hours=1, minutes=10)),
            (Status.RESOLVED, _ago(days=19)),
            (Status.CLOSED, _ago(days=15)),
        ],
    )
    review_save(
        actor=champion,
        incident=incident,
        root_cause="A personal access token with write scope was kept in a config file for a one-off upload.",
        lessons="Upload tokens come from the secret manager and expire within a day; pre-commit runs"
        " gitleaks.",
        summary="researcher committed a write token for the model hub to support-llm-repo while preparing an "
        "upload. champion revoked it within 20 minutes; the hub's audit log showed no use. Tokens now come "
        "from the secret manager with a one-day expiry and a pre-commit secret scan blocks such commits.",
    )
    review_publish(actor=champion, incident=incident)
    followup_add(
        actor=champion,
        incident=incident,
        title="Enable the gitleaks pre-commit hook in every research repository",
        owner=users["researcher"],
        due_on=timezone.localdate() - dt.timedelta(days=3),
    )
    followup_add(
        actor=champion,
        incident=incident,
        title="Move hub tokens to the secret manager",
        owner=champion,
        due_on=timezone.localdate() + dt.timedelta(days=10),
    )


def _running_and_restricted(teams: dict[str, Any], users: dict[str, Any]) -> None:
    champion = users["champion"]
    incident = incident_report(
        actor=champion,
        team=teams["research"],
        title="Fine-tuned support model repeats customer e-mail addresses",
        category="data_leakage",
        severity="critical",
        description="Red-team prompts make support-llm-ft complete e-mail addresses seen in training data.",
        occurred_at=_ago(hours=30),
        detected_at=_ago(hours=6),
        reported_at=_ago(hours=5, minutes=50),
        asset_ids=_assets("support-llm-ft"),
    )
    _advance(incident, champion, [(Status.ACKNOWLEDGED, _ago(hours=5, minutes=45))])
    run = playbook_start(
        actor=champion,
        incident=incident,
        playbook=Playbook.objects.get(slug="data-leakage"),
        at=_ago(hours=5),
    )
    first = run.items.order_by("position").first()
    assert first is not None
    checklist_item_complete(actor=champion, item=first, at=_ago(hours=4, minutes=40))
    incident_add_note(
        actor=champion, incident=incident, text="Serving switched to the previous model version."
    )
    _advance(incident, champion, [(Status.CONTAINED, _ago(hours=4, minutes=30))])


def _acknowledged_with_playbook(teams: dict[str, Any], users: dict[str, Any]) -> None:
    incident = incident_report(
        actor=users["engineer"],
        team=teams["data-engineering"],
        title="Prompt injection through support tickets reaches the ingest pipeline's tools",
        category="prompt_injection",
        severity="high",
        description="A ticket body instructed the summarizer to call the export tool; the call was logged.",
        occurred_at=_ago(hours=3),
        detected_at=_ago(hours=2, minutes=30),
        reported_at=_ago(hours=2, minutes=20),
        asset_ids=_assets("support-ingest"),
    )
    _advance(incident, users["lead"], [(Status.ACKNOWLEDGED, _ago(hours=2))], commander=users["engineer"])
    playbook_start(
        actor=users["engineer"],
        incident=incident,
        playbook=Playbook.objects.get(slug="prompt-injection"),
        at=_ago(hours=1, minutes=55),
    )


def _resolved_supply_chain(teams: dict[str, Any], users: dict[str, Any]) -> None:
    lead = users["platform"]
    incident = incident_report(
        actor=lead,
        team=teams["platform"],
        title="Malicious release of a tokenizer dependency in the llm-serving image",
        category="supply_chain",
        severity="high",
        occurred_at=_ago(days=6),
        detected_at=_ago(days=5, hours=20),
        reported_at=_ago(days=5, hours=19),
        asset_ids=_assets("llm-serving"),
    )
    _advance(
        incident,
        lead,
        [
            (Status.ACKNOWLEDGED, _ago(days=5, hours=18)),
            (Status.CONTAINED, _ago(days=5, hours=12)),
            (Status.RESOLVED, _ago(days=4)),
        ],
    )
    review_save(
        actor=lead,
        incident=incident,
        root_cause="The image build took the newest release instead of a pinned, verified version.",
        lessons="Pin dependencies by hash; the registry proxy blocks releases younger than 3 days.",
    )


def _unacknowledged(teams: dict[str, Any], users: dict[str, Any]) -> None:
    incident_report(
        actor=users["researcher"],
        team=teams["research"],
        title="Suspicious label flips in a batch of open-web-corpus",
        category="poisoning",
        severity="medium",
        occurred_at=_ago(hours=4),
        detected_at=_ago(hours=3),
        reported_at=_ago(hours=2),
        asset_ids=_assets("open-web-corpus"),
    )
    incident_report(
        actor=users["platform"],
        team=teams["platform"],
        title="GPU quota exhausted on gpu-cluster-prod",
        category="availability",
        severity="low",
        occurred_at=_ago(minutes=8),
        detected_at=_ago(minutes=6),
        asset_ids=_assets("gpu-cluster-prod"),
    )


def _exercises(teams: dict[str, Any], users: dict[str, Any]) -> None:
    today = timezone.localdate()
    exercise_record(
        actor=users["champion"],
        team=teams["research"],
        playbook=Playbook.objects.get(slug="prompt-injection"),
        kind="tabletop",
        held_on=today - dt.timedelta(days=40),
        scenario="A retrieval source is seeded with instructions that make the assistant e-mail"
        " conversation logs.",
        participant_ids=[users["champion"].pk, users["researcher"].pk],
        gaps_found="Nobody knew how to disable a single tool without a redeploy.",
    )
    exercise_record(
        actor=users["lead"],
        team=teams["data-engineering"],
        playbook=Playbook.objects.get(slug="poisoning"),
        kind="dr_drill",
        held_on=today - dt.timedelta(days=200),
        scenario="Restore the support conversations dataset and its transformations from backup.",
        participant_ids=[users["engineer"].pk],
        gaps_found="The restore took 9 hours; the runbook lacked the bucket's KMS key owner.",
    )
    drill = exercise_record(
        actor=users["platform"],
        team=teams["platform"],
        playbook=Playbook.objects.get(slug="supply-chain"),
        kind="tabletop",
        held_on=today - dt.timedelta(days=10),
        scenario="A popular inference library ships a release that uploads environment variables.",
        participant_ids=[users["platform"].pk],
    )
    followup_add(
        actor=users["platform"],
        exercise=drill,
        title="Block package releases younger than 3 days in the proxy",
        owner=users["platform"],
        due_on=today + dt.timedelta(days=20),
    )


def seed_demo_data(*, teams: dict[str, Any], users: dict[str, Any]) -> None:
    _closed_credential_leak(teams, users)
    _running_and_restricted(teams, users)
    _acknowledged_with_playbook(teams, users)
    _resolved_supply_chain(teams, users)
    _unacknowledged(teams, users)
    _exercises(teams, users)
    # The poisoning report has waited two hours: its escalation levels fire now, once each.
    escalation_run()
