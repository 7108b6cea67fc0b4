"""The control catalogue: security leads add, edit and retire controls and their mappings (each row
change is in the audit log through the tables' triggers); ``baseline_seed`` writes the baseline."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from assets.models import AssetKind, ClassificationLevel, Environment
from controls.baseline import BASELINE
from controls.models import Control, ControlMapping, Domain, Mode, Requirement, Scope
from controls.rules import RULES
from controls.services.assessments import assessment_run, controls_retired_cleanup
from hygiene.permissions import is_security_lead, token_allows

EDITABLE = ("title", "objective", "domain", "mode", "rule", "scope", "cadence_days", "applies_to_kinds",
            "applies_to_environments", "min_classification")  # fmt: skip


def may_manage_controls(user: Any) -> bool:
    return is_security_lead(user) and token_allows(user, "write")


def _require_lead(actor: Any) -> None:
    if actor is not None and not may_manage_controls(actor):
        raise PermissionDenied("Only security leads can change the control catalogue.")


def _validate(values: dict[str, Any]) -> None:
    if values.get("domain") not in Domain.values:
        raise ValidationError({"domain": "Choose a domain."})
    if values.get("scope") not in Scope.values:
        raise ValidationError({"scope": "Choose whether it applies to each asset or each team."})
    mode, rule = values.get("mode"), values.get("rule") or "evidence"
    if mode == Mode.AUTOMATED and rule not in RULES:
        raise ValidationError({"rule": "An automated control needs one of the rules."})
    if mode == Mode.AUTOMATED and values.get("scope") == Scope.TEAM:
        raise ValidationError({"scope": "Automated rules assess assets; team-level controls are attested."})
    if mode == Mode.ATTESTED:
        values["rule"] = "evidence"
    if not 1 <= int(values.get("cadence_days") or 0) <= 3650:
        raise ValidationError({"cadence_days": "The cadence is between 1 and 3650 days."})
    bad_kinds = set(values.get("applies_to_kinds") or []) - set(AssetKind.values)
    bad_envs = set(values.get("applies_to_environments") or []) - set(Environment.values)
    if bad_kinds or bad_envs:
        raise ValidationError(
            f"Unknown asset kinds or environments: {', '.join(sorted(bad_kinds | bad_envs))}."
        )


@transaction.atomic
def control_create(*, actor: Any, code: str, **values: Any) -> Control:
    _require_lead(actor)
    code = code.strip().upper()
    if not code or len(code) > 30:
        raise ValidationError({"code": "Give a code of at most 30 characters, e.g. HYG-OPS-06."})
    if Control.objects.filter(code=code).exists():
        raise ValidationError({"code": f"A control {code} exists already."})
    unknown = set(values) - set(EDITABLE)
    if unknown:
        raise ValidationError(f"Unknown control fields: {', '.join(sorted(unknown))}.")
    _validate(values)
    control = Control.objects.create(code=code, **values)
    transaction.on_commit(lambda: _assess_later(control.pk))
    return control


@transaction.atomic
def control_update(*, actor: Any, control: Control, **values: Any) -> Control:
    _require_lead(actor)
    unknown = set(values) - set(EDITABLE)
    if unknown:
        raise ValidationError(f"Unknown control fields: {', '.join(sorted(unknown))}.")
    merged = {field: getattr(control, field) for field in EDITABLE} | values
    _validate(merged)
    changed = [field for field in EDITABLE if getattr(control, field) != merged[field]]
    if not changed:
        return control
    for field in changed:
        setattr(control, field, merged[field])
    control.updated_at = timezone.now()
    control.save(update_fields=[*changed, "updated_at"])
    transaction.on_commit(lambda: _assess_later(control.pk))
    return control


@transaction.atomic
def control_retire(*, actor: Any, control: Control) -> Control:
    """Retire a control: it leaves the baseline, its assessments and counts go; its history stays."""
    _require_lead(actor)
    if control.retired_at is not None:
        raise ValidationError(f"{control.code} is already retired.")
    control.retired_at = timezone.now()
    control.save(update_fields=["retired_at"])
    controls_retired_cleanup(control=control)
    return control


@transaction.atomic
def control_restore(*, actor: Any, control: Control) -> Control:
    _require_lead(actor)
    if control.retired_at is None:
        raise ValidationError(f"{control.code} is in force.")
    control.retired_at = None
    control.save(update_fields=["retired_at"])
    transaction.on_commit(lambda: _assess_later(control.pk))
    return control


def _assess_later(control_id: int) -> None:
    from controls.tasks import assess_control

    assess_control.delay(control_id)


@transaction.atomic
def mapping_add(*, actor: Any, control: Control, requirement: Requirement) -> ControlMapping:
    _require_lead(actor)
    mapping, created = ControlMapping.objects.get_or_create(control=control, requirement=requirement)
    if not created:
        raise ValidationError(f"{control.code} already maps to {requirement.display_id}.")
    return mapping


@transaction.atomic
def mapping_remove(*, actor: Any, mapping: ControlMapping) -> None:
    _require_lead(actor)
    mapping.delete()


@transaction.atomic
def baseline_seed(*, assess: bool = True) -> dict[str, int]:
    """Write the baseline controls and their mappings; idempotent, and leads' edits are kept.

    Frameworks must be loaded first (``seed_baseline`` does); mappings to requirements that are not
    loaded are skipped and made on a later run.
    """
    levels = dict(ClassificationLevel.objects.values_list("slug", "pk"))
    requirements = {
        (slug, identifier): pk
        for slug, identifier, pk in Requirement.objects.values_list("framework__slug", "identifier", "pk")
    }
    created = mappings = 0
    for item in BASELINE:
        control, was_created = Control.objects.get_or_create(
            code=item.code,
            defaults={
                "title": item.title,
                "objective": item.objective,
                "domain": item.domain,
                "mode": item.mode,
                "rule": item.rule,
                "scope": item.scope,
                "cadence_days": item.cadence_days,
                "applies_to_kinds": item.kinds,
                "applies_to_environments": item.environments,
                "min_classification_id": levels.get(item.min_classification),
                "from_baseline": True,
            },
        )
        created += was_created
        if was_created:
            wanted = [requirements[key] for key in item.maps if key in requirements]
            ControlMapping.objects.bulk_create(
                [ControlMapping(control=control, requirement_id=pk) for pk in wanted], ignore_conflicts=True
            )
            mappings += len(wanted)
        else:
            mappings += _late_mappings(control, item.maps, requirements)
    if assess and created:
        assessment_run()
    return {"controls": len(BASELINE), "created": created, "mappings": mappings}


def _late_mappings(
    control: Control, maps: list[tuple[str, str]], requirements: dict[tuple[str, str], int]
) -> int:
    """Mappings of an existing baseline control to frameworks loaded since it was seeded."""
    seeded = set(
        ControlMapping.objects.filter(control=control).values_list("requirement__framework__slug", flat=True)
    )
    wanted = [requirements[key] for key in maps if key in requirements and key[0] not in seeded]
    ControlMapping.objects.bulk_create(
        [ControlMapping(control=control, requirement_id=pk) for pk in wanted], ignore_conflicts=True
    )
    return len(wanted)
