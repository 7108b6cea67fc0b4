"""Creating, changing and retiring assets, and the provenance of datasets."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from assets.models import (
    IDENTIFIER_MAX,
    TAG_MAX,
    Asset,
    AssetKind,
    ClassificationLevel,
    DatasetProvenance,
    Lifecycle,
    TransformationLogEntry,
)
from assets.services.classification import classification_recompute_downstream, downstream_ids
from assets.services.policy import policy_check
from controls.services.hooks import assess_assets_after_commit
from hygiene.models import Team
from hygiene.permissions import can_change, can_contribute, can_edit, token_allows

EDITABLE_FIELDS = (
    "team",
    "name",
    "kind",
    "environment",
    "technical_owner",
    "criticality",
    "lifecycle",
    "classification",
    "identifiers",
    "tags",
    "description",
)
# Changing any of these can change what the policy checks find downstream.
POLICY_FIELDS = {"environment", "lifecycle", "classification", "kind"}


def _clean_list(values: list[str] | None, *, max_length: int, label: str) -> list[str]:
    cleaned: list[str] = []
    for value in values or []:
        value = value.strip()
        if not value or value in cleaned:
            continue
        if len(value) > max_length:
            raise ValidationError({label: f"“{value[:40]}…” is longer than {max_length} characters."})
        cleaned.append(value)
    return cleaned


def _check_unique(asset: Asset) -> None:
    clash = Asset.objects.filter(team_id=asset.team_id, kind=asset.kind, name__iexact=asset.name)
    if clash.exclude(pk=asset.pk).exists():
        raise ValidationError(
            {"name": f"{asset.team} already has a {asset.get_kind_display().lower()} named “{asset.name}”."}
        )


def _check_may_contribute(actor: Any, team: Team) -> None:
    if actor is not None and not (can_contribute(actor, team_id=team.pk) and token_allows(actor, "write")):
        raise PermissionDenied(f"Only members of {team.name} can add assets to it.")


def may_change_asset(user: Any, asset: Asset) -> bool:
    """Whether ``user`` may edit ``asset``, its lineage and provenance: any member of its team, a
    security lead, or a person granted it."""
    return can_edit(user, asset, team_id=asset.team_id, grant_perm="assets.change_asset")


def may_declassify_asset(user: Any, asset: Asset) -> bool:
    """Whether ``user`` may lower ``asset``'s declared classification: its team's champion or lead, a
    security lead, or a person granted it."""
    return can_change(user, asset, team_id=asset.team_id, grant_perm="assets.change_asset")


def _check_may_change(actor: Any, asset: Asset) -> None:
    if actor is not None and not may_change_asset(actor, asset):
        raise PermissionDenied(f"Only members of {asset.team}, or a security lead, can change this asset.")


def lowers_classification(current: ClassificationLevel | None, new: ClassificationLevel | None) -> bool:
    """Whether going from ``current`` to ``new`` makes the declared level less strict (or removes it)."""
    if current is None:
        return False
    return new is None or new.rank < current.rank


def _check_may_declassify(actor: Any, asset: Asset, new: ClassificationLevel | None) -> None:
    if actor is None or not lowers_classification(asset.classification, new):
        return
    if not may_declassify_asset(actor, asset):
        target = new.name if new is not None else "unclassified"
        raise PermissionDenied(
            f"Lowering {asset.name} from {asset.classification} to {target} needs the approval of "
            f"{asset.team}'s champion or lead, or a security lead."
        )


def _refresh_derived(asset_ids: list[int], *, reclassify: bool) -> None:
    affected = classification_recompute_downstream(asset_ids=asset_ids) if reclassify else []
    affected = affected or downstream_ids(asset_ids)
    policy_check(asset_ids=affected)
    assess_assets_after_commit(asset_ids=affected)


@transaction.atomic
def asset_create(
    *,
    actor: Any,
    team: Team,
    name: str,
    kind: str,
    environment: str = "development",
    technical_owner: Any = None,
    criticality: str = "medium",
    classification: ClassificationLevel | None = None,
    identifiers: list[str] | None = None,
    tags: list[str] | None = None,
    description: str = "",
) -> Asset:
    """Register an asset in ``team``; any member of the team may."""
    _check_may_contribute(actor, team)
    asset = Asset(
        team=team,
        name=name.strip(),
        kind=kind,
        environment=environment,
        technical_owner=technical_owner,
        criticality=criticality,
        classification=classification,
        effective_classification=classification,
        is_restricted=bool(classification and classification.is_restricted),
        identifiers=_clean_list(identifiers, max_length=IDENTIFIER_MAX, label="identifiers"),
        tags=_clean_list(tags, max_length=TAG_MAX, label="tags"),
        description=description,
    )
    asset.full_clean(validate_unique=False, validate_constraints=False)
    _check_unique(asset)
    asset.save()
    policy_check(asset_ids=[asset.pk])
    assess_assets_after_commit(asset_ids=[asset.pk])
    return asset


@transaction.atomic
def asset_update(*, actor: Any, asset: Asset, **values: Any) -> Asset:
    """Change an asset's fields; classification and policy are recomputed downstream when needed."""
    _check_may_change(actor, asset)
    unknown = set(values) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown asset fields: {', '.join(sorted(unknown))}.")
    if "team" in values and values["team"].pk != asset.team_id:
        _check_may_contribute(actor, values["team"])
    if "identifiers" in values:
        values["identifiers"] = _clean_list(
            values["identifiers"], max_length=IDENTIFIER_MAX, label="identifiers"
        )
    if "tags" in values:
        values["tags"] = _clean_list(values["tags"], max_length=TAG_MAX, label="tags")
    if "name" in values:
        values["name"] = values["name"].strip()
    if "classification" in values:
        _check_may_declassify(actor, asset, values["classification"])
    changed = [field for field, value in values.items() if getattr(asset, field) != value]
    if not changed:
        return asset
    for field in changed:
        setattr(asset, field, values[field])
    asset.updated_at = timezone.now()
    asset.full_clean(validate_unique=False, validate_constraints=False)
    _check_unique(asset)
    asset.save(update_fields=[*changed, "updated_at"])
    if POLICY_FIELDS.intersection(changed):
        _refresh_derived([asset.pk], reclassify="classification" in changed)
    return asset


@transaction.atomic
def asset_retire(*, actor: Any, asset: Asset) -> Asset:
    """Mark an asset retired: it leaves the policy checks but keeps its history and lineage."""
    _check_may_change(actor, asset)
    if asset.lifecycle == Lifecycle.RETIRED:
        raise ValidationError(f"{asset.name} is already retired.")
    asset.lifecycle = Lifecycle.RETIRED
    asset.updated_at = timezone.now()
    asset.save(update_fields=["lifecycle", "updated_at"])
    _refresh_derived([asset.pk], reclassify=False)
    return asset


@transaction.atomic
def provenance_set(
    *,
    actor: Any,
    dataset: Asset,
    source: str,
    collected_on: dt.date | None = None,
    purpose: str = "",
    legal_basis: str = "",
    contains_personal_data: bool = False,
    anonymization_applied: bool = False,
    retention_until: dt.date | None = None,
) -> DatasetProvenance:
    """Record (or correct) where a dataset came from and how long it may be kept."""
    _check_may_change(actor, dataset)
    if dataset.kind != AssetKind.DATASET:
        raise ValidationError("Provenance is recorded for datasets only.")
    if collected_on and retention_until and retention_until < collected_on:
        raise ValidationError({"retention_until": "Retention cannot end before the data was collected."})
    values = {
        "source": source.strip(),
        "collected_on": collected_on,
        "purpose": purpose,
        "legal_basis": legal_basis,
        "contains_personal_data": contains_personal_data,
        "anonymization_applied": anonymization_applied,
        "retention_until": retention_until,
        "updated_at": timezone.now(),
    }
    provenance = DatasetProvenance.objects.filter(dataset=dataset).first()
    if provenance is None:
        provenance = DatasetProvenance(dataset=dataset, **values)
        provenance.full_clean()
        provenance.save()
    else:
        for field, value in values.items():
            setattr(provenance, field, value)
        provenance.full_clean()
        provenance.save(update_fields=list(values))
    policy_check(asset_ids=[dataset.pk])
    return provenance


@transaction.atomic
def transformation_append(
    *, actor: Any, dataset: Asset, description: str, occurred_at: dt.datetime | None = None
) -> TransformationLogEntry:
    """Append a step to a dataset's transformation log; members of its team may (entries never change)."""
    if actor is not None and not (
        can_contribute(actor, team_id=dataset.team_id) and token_allows(actor, "write")
    ):
        raise PermissionDenied("Only members of the dataset's team can add to its transformation log.")
    if dataset.kind != AssetKind.DATASET:
        raise ValidationError("Transformations are logged for datasets only.")
    description = description.strip()
    if not description:
        raise ValidationError({"description": "Say what was done to the data."})
    when = occurred_at or timezone.now()
    if when > timezone.now() + dt.timedelta(minutes=5):
        raise ValidationError({"occurred_at": "A transformation cannot be logged in the future."})
    return TransformationLogEntry.objects.create(
        dataset=dataset,
        occurred_at=when,
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_label=actor.get_username() if actor is not None else "system",
        description=description,
    )
