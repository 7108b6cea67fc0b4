"""SPDX 3.0 JSON-LD (Core, Software, AI, Dataset and Security profiles) -> assets, lineage, findings.

Pure: no database. The document is read with the SPDX 3 Python bindings (``spdx-python-model``,
generated from the SPDX 3.0.1 model), which check types and property shapes and resolve references;
this module only decides what becomes what, like ``assets.bom`` does for CycloneDX:

- ``ai_AIPackage`` -> a model asset; ``dataset_DatasetPackage`` -> a dataset asset;
- the document's root element (``rootElement`` of the SpdxDocument or Sbom, else what it
  ``describes``) -> an asset too, of the kind its type implies (a software package or file is the
  repository it was built from);
- every other ``software_Package`` -> a package identifier (its purl, else ``name@version``) of the
  asset that contains or depends on it, else of the root asset;
- ``software_File`` elements are no assets: a relationship naming a file is read as naming the
  package that contains it (the AI example's ``model.bin trainedOn train.txt`` is the model trained
  on the dataset);
- lineage (data flows ``source`` -> ``target``): ``M trainedOn D`` -> D -> M ``trained_on``;
  ``X descendantOf Y`` / ``Y ancestorOf X`` / ``X variantOf Y`` (a fine-tuned, quantized or merged
  model) -> Y -> X ``derived_from``; ``X dependsOn Y`` between assets -> Y -> X ``depends_on``;
- ``security_Vulnerability`` with an ``affects`` relationship (or a VEX ``affected`` / CVSS
  assessment naming an element) -> a vulnerability finding on the asset holding that element.

Refused, with the element named: not JSON-LD, not SPDX 3, a reference to an element the document
does not contain (dangling), and a cycle in the lineage it states. Nothing of a refused document is
written (the service runs in one transaction).
"""

from __future__ import annotations

import io
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from assets.bom import AssetSpec, BomContent, BomRejected, EdgeSpec
from assets.models import IDENTIFIER_MAX, NAME_MAX, AssetKind, EdgeKind

DESCRIPTION_MAX = 4000
_RT = "https://spdx.org/rdf/3.0.1/terms/Core/RelationshipType/"
_LICENCES = ("https://spdx.org/licenses/", "http://spdx.org/licenses/")
# Relationships whose "to" elements may live outside the document (licences, external maps).
_LINEAGE = {
    "trainedOn": EdgeKind.TRAINED_ON,
    "descendantOf": EdgeKind.DERIVED_FROM,
    "variantOf": EdgeKind.DERIVED_FROM,
    "ancestorOf": EdgeKind.DERIVED_FROM,
    "dependsOn": EdgeKind.DEPENDS_ON,
}
_SEVERITIES = {"critical", "high", "medium", "low", "none"}


@dataclass
class VulnerabilitySpec:
    """A vulnerability the Security profile states, and the asset keys it affects."""

    vuln_id: str
    title: str
    description: str
    severity: str
    score: float | None
    affects: list[tuple[str, str]] = field(default_factory=list)  # (asset key, package label)
    url: str = ""


@dataclass
class Spdx3Content(BomContent):
    vulnerabilities: list[VulnerabilitySpec] = field(default_factory=list)


def is_spdx3(document: Any) -> bool:
    if not isinstance(document, dict):
        return False
    context = document.get("@context")
    contexts = context if isinstance(context, list) else [context]
    return any(isinstance(c, str) and "spdx.org/rdf/3" in c for c in contexts) or str(
        document.get("spdxVersion", "")
    ).upper().startswith("SPDX-3")


def parse_spdx3(data: bytes) -> Spdx3Content:
    """Read an SPDX 3 JSON-LD document; raise ``BomRejected`` with a message for its uploader."""
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise BomRejected(f"The file is not a readable JSON-LD document ({str(exc)[:200]}).") from exc
    if not is_spdx3(document):
        raise BomRejected("The file is not an SPDX 3 JSON-LD document (no spdx.org/rdf/3 @context).")
    if not isinstance(document.get("@graph"), list):
        raise BomRejected("The SPDX 3 document has no @graph array of elements.")
    return _Reader(_load(data)).run()


def _load(data: bytes) -> Any:
    from spdx_python_model import v3_0_1 as spdx

    objects = spdx.SHACLObjectSet()
    try:
        spdx.JSONLDDeserializer().read(io.BytesIO(data), objects)
    except Exception as exc:  # the bindings raise TypeError/ValueError/KeyError for a bad property
        raise BomRejected(
            f"The SPDX 3 document does not follow the SPDX 3.0.1 model: {str(exc)[:300]}"
        ) from exc
    return objects


def _kind_of(type_name: str) -> str | None:
    return {
        "ai_AIPackage": AssetKind.MODEL,
        "dataset_DatasetPackage": AssetKind.DATASET,
    }.get(type_name)


class _Reader:
    def __init__(self, objects: Any) -> None:
        from spdx_python_model import v3_0_1 as spdx

        self.spdx = spdx
        self.objects = objects
        self.warnings: list[str] = []
        self.specs: dict[str, AssetSpec] = {}
        self.edges: dict[tuple[str, str, str], EdgeSpec] = {}
        self.container: dict[str, str] = {}  # element id -> the id of the element containing it
        self.depends: dict[str, set[str]] = defaultdict(set)  # element id -> ids it depends on
        self.elements: dict[str, Any] = {}

    def run(self) -> Spdx3Content:
        spdx = self.spdx
        for element in self.objects.foreach_type(spdx.Element):
            if element._id:
                self.elements[element._id] = element
        relationships = list(self.objects.foreach_type(spdx.Relationship))
        self._check_dangling(relationships)
        roots = self._roots()
        for element in self.elements.values():
            kind = _kind_of(type(element).__name__)
            if kind is not None:
                self._asset(element, kind)
        for element in roots:
            if element._id not in self.specs:
                name = type(element).__name__
                kind = _kind_of(name) or (AssetKind.REPOSITORY if name.startswith("software_") else None)
                if kind is not None:
                    self._asset(element, kind, subject=True)
        for rel in relationships:
            rtype = _rtype(rel)
            if rtype == "contains":
                for target in rel.to:
                    self.container.setdefault(_id(target), _id(rel.from_))
            elif rtype == "dependsOn":
                self.depends[_id(rel.from_)].update(_id(target) for target in rel.to)
        for rel in relationships:
            self._lineage(rel)
        self._check_cycles()
        components = self._attach_packages(roots)
        vulnerabilities = self._vulnerabilities(relationships)
        document = next(iter(self.objects.foreach_type(spdx.SpdxDocument)), None)
        return Spdx3Content(
            spec_version=self._spec_version(),
            serial_number=_id(document) if document is not None else "",
            assets=list(self.specs.values()),
            edges=list(self.edges.values()),
            components=components,
            warnings=self.warnings,
            vulnerabilities=vulnerabilities,
        )

    # reading --------------------------------------------------------------------------------------

    def _spec_version(self) -> str:
        info = next(iter(self.objects.foreach_type(self.spdx.CreationInfo)), None)
        return str(getattr(info, "specVersion", "") or "3.0.1")[:10]

    def _check_dangling(self, relationships: list[Any]) -> None:
        for rel in relationships:
            rtype = _rtype(rel)
            ends = [rel.from_, *rel.to]
            for end in ends:
                if isinstance(end, str) and not end.startswith(_LICENCES):
                    if end in self.elements:
                        continue
                    raise BomRejected(
                        f"The SPDX 3 relationship {_id(rel) or '(unnamed)'} ({rtype}) refers to {end!r}, "
                        "which the document does not contain (a dangling reference). Nothing was imported."
                    )

    def _roots(self) -> list[Any]:
        spdx = self.spdx
        roots: list[Any] = []
        for holder in [
            *self.objects.foreach_type(spdx.SpdxDocument),
            *self.objects.foreach_type(spdx.software_Sbom),
        ]:
            for element in getattr(holder, "rootElement", None) or []:
                if not isinstance(element, str) and not isinstance(
                    element, (spdx.SpdxDocument, spdx.software_Sbom)
                ):
                    roots.append(element)
        for rel in self.objects.foreach_type(spdx.Relationship):
            if _rtype(rel) == "describes" and isinstance(rel.from_, (spdx.SpdxDocument, spdx.software_Sbom)):
                roots.extend(target for target in rel.to if not isinstance(target, str))
        unique: dict[str, Any] = {}
        for element in roots:
            unique.setdefault(_id(element), element)
        return list(unique.values())

    def _asset(self, element: Any, kind: str, *, subject: bool = False) -> None:
        name = (_text(getattr(element, "name", "")) or _id(element).rsplit("/", 1)[-1])[:NAME_MAX]
        spec = AssetSpec(key=_id(element), kind=kind, name=name, is_subject=subject)
        spec.description = _text(getattr(element, "description", None) or getattr(element, "summary", None))[
            :DESCRIPTION_MAX
        ]
        if kind == AssetKind.MODEL:
            spec.add_identifier(name)
        for identifier in self._identifiers(element):
            self._identifier(spec, identifier)
        if kind == AssetKind.DATASET:
            level = _text(getattr(element, "dataset_confidentialityLevel", None)).rsplit("/", 1)[-1]
            # SPDX: red/amber/green/clear (Traffic Light Protocol) -> the classification levels' slugs.
            spec.classification = {
                "red": "restricted",
                "amber": "confidential",
                "green": "internal",
                "clear": "public",
            }.get(level.lower(), "")
        self.specs[spec.key] = spec

    def _identifiers(self, element: Any) -> list[str]:
        found = [_id(element)]
        purl = _text(getattr(element, "software_packageUrl", None))
        if purl:
            found.insert(0, purl)
        name, version = (
            _text(getattr(element, "name", None)),
            _text(getattr(element, "software_packageVersion", None)),
        )
        if name and version:
            found.append(f"{name}@{version}")
        location = _text(getattr(element, "software_downloadLocation", None))
        if location and location.upper() not in ("NOASSERTION", "NONE"):
            found.append(location)
        return found

    def _identifier(self, spec: AssetSpec, value: str, *, component: bool = False) -> None:
        if len(value) > IDENTIFIER_MAX:
            self.warnings.append(
                f"An identifier of {spec.name} is longer than {IDENTIFIER_MAX} characters and was skipped."
            )
            return
        spec.add_identifier(value, component=component)

    def _owner(self, element_id: str) -> str | None:
        """The asset an element is, or the nearest asset containing it."""
        seen: set[str] = set()
        current: str | None = element_id
        while current is not None and current not in seen:
            if current in self.specs:
                return current
            seen.add(current)
            current = self.container.get(current)
        return None

    # lineage --------------------------------------------------------------------------------------

    def _lineage(self, rel: Any) -> None:
        rtype = _rtype(rel)
        kind = _LINEAGE.get(rtype)
        if kind is None:
            return
        start = self._owner(_id(rel.from_))
        for target in rel.to:
            end = self._owner(_id(target))
            if start is None or end is None or start == end:
                continue
            if rtype == "ancestorOf":  # the from element came first
                self._edge(start, end, kind)
            else:  # trainedOn / descendantOf / variantOf / dependsOn: the "to" side is upstream
                self._edge(end, start, kind)

    def _edge(self, source: str, target: str, kind: str) -> None:
        self.edges.setdefault((source, target, kind), EdgeSpec(source=source, target=target, kind=kind))

    def _check_cycles(self) -> None:
        graph: dict[str, list[str]] = defaultdict(list)
        for edge in self.edges.values():
            graph[edge.source].append(edge.target)
        state: dict[str, int] = {}
        for start in list(graph):
            if state.get(start):
                continue
            stack: list[tuple[str, int]] = [(start, 0)]
            path: list[str] = []
            while stack:
                node, index = stack.pop()
                if index == 0:
                    state[node] = 1
                    path.append(node)
                children = graph.get(node, [])
                if index < len(children):
                    stack.append((node, index + 1))
                    child = children[index]
                    if state.get(child) == 1:
                        cycle = [*path[path.index(child) :], child]
                        names = " → ".join(self.specs[key].name for key in cycle)
                        raise BomRejected(
                            f"The SPDX 3 document states a cycle in its lineage ({names}): data cannot flow "
                            "in a circle. Nothing was imported."
                        )
                    if not state.get(child):
                        stack.append((child, 0))
                else:
                    state[node] = 2
                    path.pop()

    # packages as identifiers ----------------------------------------------------------------------

    def _attach_packages(self, roots: list[Any]) -> int:
        subject = next((_id(root) for root in roots if _id(root) in self.specs), None)
        dependants: dict[str, set[str]] = defaultdict(set)
        for holder, targets in self.depends.items():
            for target in targets:
                dependants[target].add(holder)
        count = 0
        unattached = 0
        for element_id, element in self.elements.items():
            if type(element).__name__ != "software_Package" or element_id in self.specs:
                continue
            count += 1
            owners = {owner for holder in dependants.get(element_id, ()) if (owner := self._owner(holder))}
            owner = self._owner(element_id)
            if owner:
                owners.add(owner)
            if not owners and subject:
                owners.add(subject)
            if not owners:
                unattached += 1
                continue
            identifier = self._package_label(element)
            for key in sorted(owners):
                self._identifier(self.specs[key], identifier, component=True)
        if unattached:
            self.warnings.append(
                f"{unattached} package(s) belong to no asset (the document names no root element and no "
                "asset contains or depends on them); they were not recorded."
            )
        return count

    @staticmethod
    def _package_label(element: Any) -> str:
        purl = _text(getattr(element, "software_packageUrl", None))
        if purl:
            return purl
        name, version = (
            _text(getattr(element, "name", None)),
            _text(getattr(element, "software_packageVersion", None)),
        )
        return f"{name}@{version}" if version else name or _id(element)

    # vulnerabilities ------------------------------------------------------------------------------

    def _vulnerabilities(self, relationships: list[Any]) -> list[VulnerabilitySpec]:
        spdx = self.spdx
        found: dict[str, VulnerabilitySpec] = {}
        for vuln in self.objects.foreach_type(spdx.security_Vulnerability):
            found[_id(vuln)] = VulnerabilitySpec(
                vuln_id=self._vuln_id(vuln),
                title=_text(getattr(vuln, "summary", None)) or _text(getattr(vuln, "name", None)),
                description=_text(getattr(vuln, "description", None))[:DESCRIPTION_MAX],
                severity="",
                score=None,
                url=next(
                    (
                        _text(ref.locator[0]) if ref.locator else ""
                        for ref in getattr(vuln, "externalRef", None) or []
                        if ref.locator
                    ),
                    "",
                ),
            )
        for rel in relationships:
            vuln = found.get(_id(rel.from_))
            if vuln is None:
                continue
            rtype = _rtype(rel)
            score = getattr(rel, "security_score", None)
            severity = _text(getattr(rel, "security_severity", None)).rsplit("/", 1)[-1].lower()
            if severity in _SEVERITIES:
                vuln.severity = "info" if severity == "none" else severity
            if isinstance(score, int | float):
                vuln.score = float(score)
            name = type(rel).__name__
            affected = rtype == "affects" or (
                name.startswith("security_")
                and "NotAffected" not in name
                and "Fixed" not in name
                and rtype in ("hasAssessmentFor", "affects")
            )
            if not affected:
                continue
            for target in rel.to:
                owner = self._owner(_id(target))
                if owner is None:
                    owner = self._package_owner(_id(target))
                if owner is None:
                    self.warnings.append(
                        f"{vuln.vuln_id} affects {_id(target)!r}, which belongs to no asset; "
                        "it was not recorded."
                    )
                    continue
                pair = (
                    owner,
                    self._package_label(target) if type(target).__name__ == "software_Package" else "",
                )
                if pair not in vuln.affects:
                    vuln.affects.append(pair)
        return [vuln for vuln in found.values() if vuln.affects]

    def _package_owner(self, element_id: str) -> str | None:
        for key, spec in self.specs.items():
            element = self.elements.get(element_id)
            if element is not None and self._package_label(element) in spec.components:
                return key
        return None

    @staticmethod
    def _vuln_id(vuln: Any) -> str:
        for identifier in getattr(vuln, "externalIdentifier", None) or []:
            value = _text(getattr(identifier, "identifier", None))
            if value:
                return value[:300]
        return (_text(getattr(vuln, "name", None)) or _id(vuln).rsplit("/", 1)[-1])[:300]


def _id(element: Any) -> str:
    if isinstance(element, str):
        return element
    return str(getattr(element, "_id", "") or "")


def _rtype(rel: Any) -> str:
    return str(rel.relationshipType or "").removeprefix(_RT)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""
