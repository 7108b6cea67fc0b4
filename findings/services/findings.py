"""Status changes people make on findings: mark false positive, reopen.

A change of a finding's status is audited by a database trigger (``findings`` migration 0005), one
entry per finding whoever makes it; the service tells it who acts and why, and that entry is also the
finding page's status history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from controls.services.hooks import assess_assets_after_commit
from findings.models import Finding, FindingStatus
from findings.selectors import finding_list_for_user
from findings.services.history import closing_fields, status_sightings_write
from hygiene.permissions import can_edit, is_auditor, token_allows
from hygiene.services.audit import audit_local

MAX_BULK = 1000
MAX_REASON = 1000
# Which statuses each action moves a finding from. Risk acceptance belongs to exceptions (approved by
# a lead or champion other than the requester), so neither action touches risk-accepted findings.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    FindingStatus.FALSE_POSITIVE: (FindingStatus.OPEN, FindingStatus.MITIGATED),
    FindingStatus.OPEN: (FindingStatus.FALSE_POSITIVE, FindingStatus.MITIGATED),
}


@dataclass(frozen=True)
class BulkResult:
    status: str
    changed: int
    unchanged: int


@transaction.atomic
def finding_bulk_set_status(
    *, actor: Any, finding_ids: Sequence[int], status: str, reason: str
) -> BulkResult:
    """Mark findings false positive or reopen them, all or none, with the reason recorded."""
    if status not in TRANSITIONS:
        raise ValidationError({"status": "Choose “false_positive” or “open” (reopen)."})
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Say why: the reason is kept in the finding's history."})
    if len(reason) > MAX_REASON:
        raise ValidationError({"reason": f"Keep the reason under {MAX_REASON} characters."})
    ids = sorted({int(pk) for pk in finding_ids})
    if not ids:
        raise ValidationError({"findings": "Select at least one finding."})
    if len(ids) > MAX_BULK:
        raise ValidationError({"findings": f"Change at most {MAX_BULK} findings at a time."})
    findings = _lock(actor, ids)
    if len(findings) != len(ids):
        raise ValidationError({"findings": f"{len(ids) - len(findings)} of the findings do not exist."})
    _check_can_change(actor, findings)
    changing = [f for f in findings if f.status in TRANSITIONS[status]]
    if changing:
        _apply(actor, changing, status, reason)
    return BulkResult(status=status, changed=len(changing), unchanged=len(findings) - len(changing))


def _lock(actor: Any, ids: list[int]) -> list[Finding]:
    findings = Finding.objects.all() if actor is None else finding_list_for_user(user=actor)
    return list(
        findings.filter(pk__in=ids)
        .select_related("asset")
        .only("id", "status", "rule_id", "team_id", "asset_id", "asset__team_id", "asset__name")
        .order_by("id")
        .select_for_update(of=("self",))
    )


def _check_can_change(actor: Any, findings: list[Finding]) -> None:
    if actor is None:
        return
    if is_auditor(actor) or not token_allows(actor, "write"):
        raise PermissionDenied("Auditors and read-only tokens cannot change findings.")
    refused = {
        f.asset.name
        for f in {f.asset_id: f for f in findings}.values()
        if not may_triage_findings_of(actor, f.asset)
    }
    if refused:
        names = ", ".join(sorted(refused)[:5])
        raise PermissionDenied(
            f"Only members of the owning team, or a security lead, can triage findings on {names}."
        )


def may_triage_findings_of(user: Any, asset: Any) -> bool:
    """Whether ``user`` may mark ``asset``'s findings false positive or reopen them: any member of its
    team (risk acceptance goes through an exception a champion or lead approves)."""
    return can_edit(user, asset, team_id=asset.team_id, grant_perm="assets.change_asset")


def _apply(actor: Any, findings: list[Finding], status: str, reason: str) -> None:
    fields: dict[str, Any] = {"status": status, **closing_fields(status)}
    if status == FindingStatus.OPEN:
        fields["mitigated_at"] = None
    actor_id = None if actor is None else actor.pk
    actor_label = "operator" if actor is None else actor.get_username()
    with audit_local(actor_id=actor_id, actor_label=actor_label, reason=reason):
        Finding.objects.filter(pk__in=[f.pk for f in findings]).update(**fields)
    status_sightings_write(finding_ids=[f.pk for f in findings], status=status)
    assess_assets_after_commit(asset_ids={f.asset_id for f in findings})
