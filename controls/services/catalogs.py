"""Loading framework catalogs: all of a catalog or nothing, re-loads updating in place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from controls.catalogs import CatalogError, ParsedCatalog
from controls.catalogs.atlas import read_atlas
from controls.catalogs.builtin import ai_rmf, owasp_llm
from controls.catalogs.oscal import read_oscal
from controls.models import Framework, Requirement
from hygiene.services.audit import audit_event

REQUIREMENT_FIELDS = ("label", "title", "description", "kind", "is_group", "withdrawn", "position", "depth")


def catalog_read(path: Path, *, slug: str = "") -> ParsedCatalog:
    """Parse a catalog file: ATLAS YAML by its extension, OSCAL JSON or XML otherwise."""
    if path.suffix.lower() in (".yaml", ".yml"):
        return read_atlas(path)
    return read_oscal(path, slug=slug)


def catalog_load(*, path: Path, slug: str = "", actor: Any = None) -> Framework:
    """Read and store a catalog file; a file that cannot be read raises CatalogError, writing nothing."""
    return catalog_save(catalog=catalog_read(path, slug=slug), actor=actor)


def builtin_catalogs_load() -> list[Framework]:
    """Store the frameworks shipped in code (NIST AI RMF 1.0, OWASP Top 10 for LLM 2025)."""
    return [catalog_save(catalog=ai_rmf()), catalog_save(catalog=owasp_llm())]


def _check_tree(catalog: ParsedCatalog) -> None:
    seen: set[str] = set()
    for requirement in catalog.requirements:
        if requirement.identifier in seen:
            raise CatalogError(
                f"The catalog lists “{requirement.identifier}” twice; identifiers must be unique."
            )
        if requirement.parent is not None and requirement.parent not in seen:
            raise CatalogError(f"“{requirement.identifier}” names an unknown parent “{requirement.parent}”.")
        seen.add(requirement.identifier)


@transaction.atomic
def catalog_save(*, catalog: ParsedCatalog, actor: Any = None) -> Framework:
    """Create or update a framework and its requirement tree in place.

    Requirements keep their ids (and so their mappings) across re-loads; one no longer in the catalog is
    deleted unless a control maps to it, in which case it is kept and marked withdrawn.
    """
    _check_tree(catalog)
    framework, created = Framework.objects.select_for_update().get_or_create(
        slug=catalog.slug, defaults={"name": catalog.name}
    )
    for field in ("name", "version", "publisher", "source", "url", "licence", "attribution"):
        setattr(framework, field, getattr(catalog, field))
    framework.loaded_at = timezone.now()
    framework.save()
    existing = {r.identifier: r for r in Requirement.objects.filter(framework=framework)}
    to_create, to_update = [], []
    for position, parsed in enumerate(catalog.requirements):
        values = {field: getattr(parsed, field) for field in REQUIREMENT_FIELDS if field != "position"}
        values["position"] = position
        current = existing.get(parsed.identifier)
        if current is None:
            to_create.append(Requirement(framework=framework, identifier=parsed.identifier, **values))
        elif any(getattr(current, key) != value for key, value in values.items()):
            for key, value in values.items():
                setattr(current, key, value)
            to_update.append(current)
    Requirement.objects.bulk_create(to_create, batch_size=1000)
    Requirement.objects.bulk_update(to_update, REQUIREMENT_FIELDS, batch_size=1000)
    ids = dict(Requirement.objects.filter(framework=framework).values_list("identifier", "id"))
    parents = [
        Requirement(pk=ids[p.identifier], parent_id=ids[p.parent] if p.parent else None)
        for p in catalog.requirements
    ]
    Requirement.objects.bulk_update(parents, ["parent"], batch_size=1000)
    listed = {p.identifier for p in catalog.requirements}
    gone = Requirement.objects.filter(framework=framework).exclude(identifier__in=listed)
    withdrawn = gone.filter(mappings__isnull=False).distinct().update(withdrawn=True, parent=None)
    deleted, _ = gone.filter(mappings__isnull=True).delete()
    audit_event(
        action="catalog_load",
        object_type="controls_framework",
        object_id=str(framework.pk),
        actor_id=getattr(actor, "pk", None),
        actor_label=actor.get_username() if actor is not None else "operator",
        detail={
            "framework": framework.slug,
            "version": framework.version,
            "created": created,
            "requirements": len(catalog.requirements),
            "added": len(to_create),
            "updated": len(to_update),
            "withdrawn": withdrawn,
            "removed": deleted,
        },
    )
    return framework
