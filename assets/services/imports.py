"""Importing the inventory from CycloneDX BOMs and CSV files; each import is all or nothing.

Who may import
    A BOM goes into one team and needs the right to contribute to it (any member; the token's
    "write" action). A BOM import only adds what the BOM states: new assets, identifiers and empty
    descriptions on the team's matching assets, and lineage edges. It never renames, moves, retires
    or lowers the classification of anything, so it is a contribution, not a change of the team's
    records, and the asset and edge services are called without an actor after that one check.
    A CSV row, on the other hand, sets every field it has: creating needs the right to contribute to
    the row's team, updating an existing asset needs the right to change it.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone

from assets.bom import AssetSpec, BomContent, parse_bom
from assets.csv_io import CsvRejected, CsvRow, RowError, parse_csv
from assets.errors import LineageCycle
from assets.models import Asset, ClassificationLevel, Environment, LineageEdge
from assets.services.assets import (
    asset_create,
    asset_update,
    lowers_classification,
    may_change_asset,
    may_declassify_asset,
)
from assets.services.classification import classification_recompute_downstream, downstream_ids
from assets.services.lineage import edge_add
from assets.services.policy import policy_check
from assets.spdx3 import Spdx3Content, parse_spdx3
from hygiene.models import Team
from hygiene.permissions import can_contribute, token_allows
from hygiene.services.audit import audit_event

BOM_TAG = "cyclonedx"
PURL_PREFIX = "pkg:"
RESOLVED_FIELDS = [
    "team",
    "technical_owner",
    "classification",
    "effective_classification",
    "effective_source",
]


@dataclass
class BomImportResult:
    assets_created: int = 0
    assets_updated: int = 0
    edges_created: int = 0
    edges_updated: int = 0
    components: int = 0
    warnings: list[str] = field(default_factory=list)
    asset_ids: list[int] = field(default_factory=list)
    findings: int = 0  # vulnerabilities an SPDX 3 security profile states, as findings on the assets

    def counts(self) -> dict[str, int]:
        return {key: value for key, value in asdict(self).items() if isinstance(value, int)}


@dataclass
class CsvImportResult:
    assets_created: int = 0
    assets_updated: int = 0
    assets_unchanged: int = 0
    asset_ids: list[int] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {key: value for key, value in asdict(self).items() if isinstance(value, int)}


def _actor_fields(actor: Any, fallback: str) -> dict[str, Any]:
    if actor is None:
        return {"actor_id": None, "actor_label": fallback}
    return {"actor_id": actor.pk, "actor_label": actor.get_username()}


# CycloneDX ---------------------------------------------------------------------------------------


@transaction.atomic
def bom_import(
    *,
    actor: Any,
    team: Team,
    data: bytes,
    environment: str = Environment.DEVELOPMENT,
    source: str = "",
    asset: Asset | None = None,
) -> BomImportResult:
    """Import a CycloneDX JSON SBOM/ML-BOM or an SPDX 3 JSON-LD document (with its AI, Dataset and
    Security profiles) into ``team``; re-importing updates, never duplicates.

    ``asset``, one of the team's assets, is the one the BOM describes: it stands for the BOM's
    subject, so the components that belong to no other asset are recorded on it. A BOM that names
    no subject needs one when it has such components (``BomRejected`` says so).
    """
    if actor is not None and not (can_contribute(actor, team_id=team.pk) and token_allows(actor, "write")):
        raise PermissionDenied(f"Only members of {team.name} can import assets into it.")
    if environment not in Environment.values:
        raise ValidationError({"environment": "Choose development, staging or production."})
    if asset is not None and asset.team_id != team.pk:
        raise ValidationError({"asset": f"{asset.name} belongs to another team than {team.name}."})
    spdx3 = _looks_like_spdx3(data)
    content: BomContent = parse_spdx3(data) if spdx3 else parse_bom(data, subject_named=asset is not None)
    result = BomImportResult(components=content.components, warnings=list(content.warnings))
    assets: dict[str, Asset] = {}
    for spec in content.assets:
        named = asset if spec.is_subject else None
        assets[spec.key] = _upsert_bom_asset(
            team=team,
            spec=spec,
            environment=environment,
            result=result,
            named=named,
            tag="spdx" if spdx3 else BOM_TAG,
        )
    _add_bom_edges(content, assets, result)
    result.asset_ids = sorted({asset.pk for asset in assets.values()})
    if isinstance(content, Spdx3Content) and content.vulnerabilities:
        result.findings = _spdx3_findings(actor, team, content, assets, source)
    affected = classification_recompute_downstream(asset_ids=result.asset_ids)
    policy_check(asset_ids=affected)
    audit_event(
        action="import",
        object_type="assets_asset",
        **_actor_fields(actor, "import_bom"),
        detail={
            **result.counts(),
            "format": "spdx3" if spdx3 else "cyclonedx",
            "spec_version": content.spec_version,
            "serial_number": content.serial_number,
            "sha256": hashlib.sha256(data).hexdigest(),
            "source": source[:300],
            "team": team.slug,
            "asset_id": asset.pk if asset is not None else None,
        },
    )
    return result


def _looks_like_spdx3(data: bytes) -> bool:
    head = data[:4096]
    return b"@context" in head and b"spdx.org/rdf/3" in head


def _spdx3_findings(
    actor: Any, team: Team, content: Spdx3Content, assets: dict[str, Asset], source: str
) -> int:
    """The Security profile's vulnerabilities as findings, one import (scanner ``spdx``) per asset.

    Runs in the BOM import's transaction: a failure writes neither assets nor findings.
    """
    from findings.importers.base import Category, FindingRecord
    from findings.importers.common import severity_from_cvss
    from findings.services.jobs import job_import_records

    by_asset: dict[str, list[FindingRecord]] = {}
    for vuln in content.vulnerabilities:
        severity = vuln.severity or (severity_from_cvss(vuln.score) if vuln.score else "medium")
        for key, package in vuln.affects:
            by_asset.setdefault(key, []).append(
                FindingRecord(
                    category=Category.VULNERABILITY,
                    rule_id=vuln.vuln_id,
                    title=(f"{vuln.vuln_id} in {package}" if package else vuln.title or vuln.vuln_id)[:500],
                    severity=severity,
                    package=package[:300],
                    cvss=vuln.score,
                    target=package,
                    description="\n".join(part for part in (vuln.title, vuln.description) if part),
                    url=vuln.url,
                )
            )
    count = 0
    for key, records in by_asset.items():
        job_import_records(
            team=team,
            asset=assets[key],
            records=records,
            scanner="spdx",
            filename=(source or "spdx3.json")[:255],
            uploaded_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        count += len(records)
    return count


def _find_bom_asset(team: Team, spec: AssetSpec) -> Asset | None:
    """The team's asset this spec describes: by package URL, then by name, then other identifiers."""
    same_kind = Asset.objects.filter(team=team, kind=spec.kind)
    purls = [value for value in spec.identifiers if value.startswith(PURL_PREFIX)]
    if purls and (match := same_kind.filter(identifiers__overlap=purls).order_by("id").first()):
        return match
    if match := same_kind.filter(name__iexact=spec.name).first():
        return match
    # Bare bom-refs ("component-a", UUIDs) only mean something inside one BOM; names with a
    # version, URLs and image references identify the thing itself.
    distinctive = [
        v for v in spec.identifiers if not v.startswith(PURL_PREFIX) and any(c in v for c in "@/:")
    ]
    if distinctive:
        return same_kind.filter(identifiers__overlap=distinctive).order_by("id").first()
    return None


def _level_named(label: str) -> ClassificationLevel | None:
    if not label:
        return None
    return (
        ClassificationLevel.objects.filter(slug__iexact=label).first()
        or ClassificationLevel.objects.filter(name__iexact=label).first()
    )


def _merged_identifiers(current: list[str], imported: list[str]) -> list[str]:
    """Keep what people added; the BOM is the truth about package URLs, so stale purls go."""
    wanted = set(imported)
    kept = [value for value in current if value in wanted or not value.startswith(PURL_PREFIX)]
    return kept + [value for value in imported if value not in kept]


def _upsert_bom_asset(
    *,
    team: Team,
    spec: AssetSpec,
    environment: str,
    result: BomImportResult,
    named: Asset | None = None,
    tag: str = BOM_TAG,
) -> Asset:
    level = _level_named(spec.classification)
    existing = named or _find_bom_asset(team, spec)
    if existing is None:
        result.assets_created += 1
        return asset_create(
            actor=None,
            team=team,
            name=spec.name,
            kind=spec.kind,
            environment=environment,
            classification=level,
            identifiers=spec.all_identifiers,
            tags=[tag],
            description=spec.description,
        )
    if existing.pk not in result.asset_ids:
        result.asset_ids.append(existing.pk)
        result.assets_updated += 1
    values: dict[str, Any] = {}
    identifiers = _merged_identifiers(existing.identifiers, spec.all_identifiers)
    if identifiers != existing.identifiers:
        values["identifiers"] = identifiers
    if spec.description and not existing.description:
        values["description"] = spec.description
    if level is not None and existing.classification_id is None:
        values["classification"] = level
    return asset_update(actor=None, asset=existing, **values) if values else existing


def _add_bom_edges(content: BomContent, assets: dict[str, Asset], result: BomImportResult) -> None:
    for edge in content.edges:
        source, target = assets[edge.source], assets[edge.target]
        if source.pk == target.pk:
            continue
        if LineageEdge.objects.filter(source=source, target=target, kind=edge.kind).exists():
            result.edges_updated += 1
            continue
        try:
            edge_add(actor=None, source=source, target=target, kind=edge.kind)
        except LineageCycle as exc:
            # The recorded lineage already says data flows the other way; the BOM does not overrule it.
            result.warnings.append(f"Skipped {source.name} → {target.name}: {exc.messages[0]}")
            continue
        result.edges_created += 1


# CSV ---------------------------------------------------------------------------------------------


@dataclass
class _Resolved:
    row: CsvRow
    team: Team
    existing: Asset | None
    fields: dict[str, Any]


@transaction.atomic
def csv_import(*, actor: Any, data: bytes, max_rows: int, source: str = "") -> CsvImportResult:
    """Create or update assets from CSV rows matched by (team, kind, name); any bad row writes nothing.

    Set-based, unlike the one-asset services: rows are checked with the model's own validation,
    written with one bulk insert and one bulk update, then classification and policies are
    recomputed once for every asset the file touched.
    """
    if actor is not None and not token_allows(actor, "write"):
        raise PermissionDenied("This token cannot write.")
    rows, errors = parse_csv(data, max_rows=max_rows)
    resolved, reference_errors = _resolve_rows(actor, rows)
    result = CsvImportResult()
    created, updated, changed_fields, write_errors = _prepare_writes(resolved, result)
    if errors or reference_errors or write_errors:
        raise CsvRejected(sorted([*errors, *reference_errors, *write_errors], key=lambda error: error.row))
    Asset.objects.bulk_create(created, batch_size=500)
    if updated:
        Asset.objects.bulk_update(updated, [*sorted(changed_fields), "updated_at"], batch_size=500)
    result.asset_ids = [asset.pk for asset in (*created, *updated)]
    if "classification" in changed_fields:
        classification_recompute_downstream(asset_ids=[asset.pk for asset in updated])
    policy_check(asset_ids=downstream_ids(result.asset_ids))
    audit_event(
        action="import",
        object_type="assets_asset",
        **_actor_fields(actor, "csv_import"),
        detail={
            **result.counts(),
            "format": "csv",
            "sha256": hashlib.sha256(data).hexdigest(),
            "source": source,
        },
    )
    return result


def _differs(asset: Asset, key: str, value: Any) -> bool:
    if key in ("classification", "technical_owner"):
        # Compare ids: reading the related object would cost a query per row.
        return bool(getattr(asset, f"{key}_id") != (value.pk if value is not None else None))
    return bool(getattr(asset, key) != value)


def _prepare_writes(
    resolved: list[_Resolved], result: CsvImportResult
) -> tuple[list[Asset], list[Asset], set[str], list[RowError]]:
    """The new and changed assets, validated as the asset services validate them; nothing saved yet."""
    now = timezone.now()
    created: list[Asset] = []
    updated: list[Asset] = []
    changed_fields: set[str] = set()
    errors: list[RowError] = []
    for item in resolved:
        if item.existing is None:
            asset = Asset(team=item.team, name=item.row.name, kind=item.row.kind, **item.fields)
            # A new asset has no lineage yet: its own level is its effective one (as asset_create does).
            asset.effective_classification = asset.classification
            asset.is_restricted = bool(asset.classification and asset.classification.is_restricted)
            target = created
        else:
            asset = item.existing
            changed = [key for key, value in item.fields.items() if _differs(asset, key, value)]
            if not changed:
                result.assets_unchanged += 1
                continue
            for key in changed:
                setattr(asset, key, item.fields[key])
            asset.updated_at = now
            changed_fields.update(changed)
            target = updated
        try:
            # The related objects were looked up by the resolver; re-checking each would cost a query.
            asset.full_clean(exclude=RESOLVED_FIELDS, validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            for column, messages in exc.message_dict.items():
                errors.append(RowError(item.row.row, column, " ".join(messages)))
            continue
        target.append(asset)
    result.assets_created, result.assets_updated = len(created), len(updated)
    return created, updated, changed_fields, errors


class _References:
    """Teams, levels and people named by the rows, each looked up once."""

    def __init__(self, actor: Any, rows: list[CsvRow]) -> None:
        self.actor = actor
        slugs = {row.team for row in rows}
        self.teams = {team.slug: team for team in Team.objects.filter(slug__in=slugs)}
        self.levels = {level.slug: level for level in ClassificationLevel.objects.all()}
        usernames = {row.technical_owner for row in rows if row.technical_owner}
        users = get_user_model().objects.filter(username__in=usernames, is_active=True)
        self.users = {user.get_username(): user for user in users}
        # Names match case-insensitively, as the asset services' uniqueness check does.
        existing = Asset.objects.annotate(lower_name=Lower("name")).filter(
            team__in=self.teams.values(), lower_name__in={row.name.lower() for row in rows}
        )
        self.assets = {(asset.team_id, asset.kind, asset.lower_name): asset for asset in existing}

    def team(self, slug: str) -> Team | None:
        team = self.teams.get(slug)
        if team is None or (self.actor is not None and not can_contribute(self.actor, team_id=team.pk)):
            return None
        return team


def _resolve_rows(actor: Any, rows: list[CsvRow]) -> tuple[list[_Resolved], list[RowError]]:
    refs = _References(actor, rows)
    errors: list[RowError] = []
    resolved: list[_Resolved] = []
    seen: dict[tuple[str, str, str], int] = {}
    for row in rows:
        row_errors, item = _resolve_row(actor, row, refs)
        key = (row.team, row.kind, row.name.lower())
        if key in seen:
            row_errors.append(RowError(row.row, "name", f"Same team, kind and name as row {seen[key]}."))
        seen.setdefault(key, row.row)
        errors += row_errors
        if item is not None and not row_errors:
            resolved.append(item)
    return resolved, errors


def _resolve_row(actor: Any, row: CsvRow, refs: _References) -> tuple[list[RowError], _Resolved | None]:
    errors: list[RowError] = []
    fields = dict(row.values)
    team = refs.team(row.team)
    if team is None:
        errors.append(RowError(row.row, "team", f"No team “{row.team[:60]}” that you can add assets to."))
    if row.classification is not None:
        fields["classification"] = refs.levels.get(row.classification) if row.classification else None
        if row.classification and fields["classification"] is None:
            known = ", ".join(refs.levels)
            message = f"No level “{row.classification[:60]}”; use one of {known}."
            errors.append(RowError(row.row, "classification", message))
    if row.technical_owner is not None:
        fields["technical_owner"] = refs.users.get(row.technical_owner) if row.technical_owner else None
        if row.technical_owner and fields["technical_owner"] is None:
            errors.append(
                RowError(row.row, "technical_owner", f"No active user “{row.technical_owner[:60]}”.")
            )
    if team is None:
        return errors, None
    existing = refs.assets.get((team.pk, row.kind, row.name.lower()))
    if existing is not None and actor is not None and not may_change_asset(actor, existing):
        errors.append(
            RowError(
                row.row,
                "name",
                f"{existing.name} exists and only members of {team.name} can change it.",
            )
        )
    if (
        existing is not None
        and actor is not None
        and "classification" in fields
        and lowers_classification(existing.classification, fields["classification"])
        and not may_declassify_asset(actor, existing)
    ):
        message = (
            f"Lowering {existing.name}'s classification needs {team.name}'s champion or lead, "
            "or a security lead."
        )
        errors.append(RowError(row.row, "classification", message))
    return errors, _Resolved(row=row, team=team, existing=existing, fields=fields)
