"""CycloneDX JSON SBOM / ML-BOM (spec 1.2 to 1.7) -> the assets and lineage edges it describes.

Pure: no database. ``parse_bom`` checks the document with cyclonedx-python-lib's JSON schema and
returns ``AssetSpec``/``EdgeSpec`` values that ``assets.services.imports`` writes.

What becomes an asset, and why
    A security lead's inventory lists the things a team runs and is answerable for, not every
    package inside them: a BOM of a web application lists hundreds of npm or Composer libraries,
    and 200 library "assets" would bury the dozen that matter. So:

    - the BOM's subject (``metadata.component``) is an asset;
    - ML models (``machine-learning-model``), datasets (``data`` components and the datasets a
      model card names), containers and services are assets wherever they appear;
    - every other component (library, framework, application, operating system, file, firmware...)
      is recorded as an identifier (its package URL, else ``name@version``) on the asset that
      depends on it, so a scanner finding on that package is matched to the asset by identifier.
      The owning asset is the one whose dependency graph reaches the component through non-asset
      components; failing that, the asset it is nested in; failing that, the BOM's subject.

The subject
    The uploader may name the asset the BOM describes; that asset then stands for the subject
    (whether the BOM names one or not) and gets what the subject would. A BOM that names no subject
    and whose components would belong to no asset is refused with a message asking to name one,
    rather than imported as nothing.

Kinds
    machine-learning-model -> model; data -> dataset; container -> container_image;
    services -> endpoint. The subject keeps the kind its type implies: application, framework,
    library and file -> repository (an SBOM's subject is the code project it was generated from,
    which is what repository scanners report on); platform, operating-system, device, firmware,
    device-driver -> infrastructure.

Lineage (data flows ``source`` -> ``target``, see ``assets.models.LineageEdge``)
    - a model card's dataset D of model M -> edge D -> M ``trained_on``;
    - ``dependencies``: "X dependsOn Y" between two assets -> edge Y -> X ``depends_on``
      (``derived_from`` when the entry names a derivation relation such as "finetuned");
    - an asset without a ``dependencies`` entry of its own (typically the BOM's subject) is taken to
      depend on the asset components directly inside it that no other asset depends on, which is
      the CycloneDX convention that a BOM's components make up its subject.

Identifiers of an asset: its purl, its bom-ref, ``name@version``, its name for images and models
(image references and model names are what scanners report), and its repository (``vcs``) URL.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import jsonschema
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonValidator
from django.core.exceptions import ValidationError

from assets.models import IDENTIFIER_MAX, NAME_MAX, AssetKind, EdgeKind

# 1.0 and 1.1 exist only as XML. 1.2 and 1.3 have no ML models or datasets; the rest reads the same.
SUPPORTED_SPEC_VERSIONS = ("1.2", "1.3", "1.4", "1.5", "1.6", "1.7")
# The key of the subject that stands for the asset the uploader named, when the BOM names none.
NAMED_SUBJECT_KEY = "(the asset named for this BOM)"
DESCRIPTION_MAX = 4000
MAX_SCHEMA_ERRORS = 200  # a hostile file can hold millions; past this many the verdict is clear

ASSET_TYPES = {
    "machine-learning-model": AssetKind.MODEL,
    "data": AssetKind.DATASET,
    "container": AssetKind.CONTAINER_IMAGE,
}
SUBJECT_TYPES = {
    **ASSET_TYPES,
    "application": AssetKind.REPOSITORY,
    "framework": AssetKind.REPOSITORY,
    "library": AssetKind.REPOSITORY,
    "file": AssetKind.REPOSITORY,
    "cryptographic-asset": AssetKind.REPOSITORY,
    "platform": AssetKind.INFRASTRUCTURE,
    "operating-system": AssetKind.INFRASTRUCTURE,
    "device": AssetKind.INFRASTRUCTURE,
    "device-driver": AssetKind.INFRASTRUCTURE,
    "firmware": AssetKind.INFRASTRUCTURE,
}
# Kinds whose name is itself what scanners report (an image reference, a model id).
NAME_IS_IDENTIFIER = {AssetKind.CONTAINER_IMAGE, AssetKind.MODEL}
# Relations some ML-BOM generators put on dependsOn items: the dependent was made from the other.
DERIVATION_RELATIONS = {"adapter", "finetuned", "fine-tuned", "quantized", "merge", "merged", "distilled"}

# Schema errors under these keys concern parts of a BOM the import never reads (licences, hashes,
# free-form properties...): they are reported as warnings, not refusals. Real generators get them
# wrong (aibom.json gives a licence both an id and a name), and refusing a whole inventory over a
# licence text would help nobody.
DESCRIPTIVE_KEYS = {
    *("licenses", "properties", "externalReferences", "hashes", "supplier", "manufacturer"),
    *("manufacture", "authors", "author", "publisher", "copyright", "evidence", "pedigree", "swid"),
    *("releaseNotes", "signature", "quantitativeAnalysis", "considerations", "annotations", "tools"),
    *("lifecycles", "cpe", "omniborId", "swhid", "cryptoProperties", "mime-type", "scope"),
    *("description", "inputs", "outputs", "approach", "task", "architectureFamily", "modelArchitecture"),
    *("contents", "governance", "graphics", "sensitiveData", "vulnerabilities", "formulation"),
    *("compositions", "definitions", "declarations", "timestamp", "endpoints", "data", "trustZone"),
    *("authenticated", "x-trust-boundary", "provider", "tags", "modified", "omniborId"),
}


class BomRejected(ValidationError):
    """The file is not a CycloneDX 1.2-1.7 JSON BOM this import can read; nothing was written."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="bom_rejected")


@dataclass
class AssetSpec:
    """One asset the BOM describes. ``key`` names it inside this BOM only."""

    key: str
    kind: str
    name: str  # empty for the stand-in of a named asset (``NAMED_SUBJECT_KEY``)
    identifiers: list[str] = field(default_factory=list)  # its own: purl, bom-ref, name@version...
    components: list[str] = field(default_factory=list)  # purls of the packages recorded on it
    description: str = ""
    classification: str = ""  # a data classification the BOM states (datasets), e.g. "public"
    is_subject: bool = False

    _seen: set[str] = field(default_factory=set, repr=False)

    def add_identifier(self, value: str, *, component: bool = False) -> None:
        if value and value not in self._seen:
            self._seen.add(value)
            (self.components if component else self.identifiers).append(value)

    @property
    def all_identifiers(self) -> list[str]:
        return [*self.identifiers, *self.components]


@dataclass(frozen=True)
class EdgeSpec:
    source: str  # upstream asset key
    target: str  # downstream asset key
    kind: str


@dataclass
class BomContent:
    spec_version: str
    serial_number: str
    assets: list[AssetSpec]
    edges: list[EdgeSpec]
    components: int  # components and services listed, the subject excluded
    warnings: list[str]


@dataclass
class _Node:
    """A component or service of the BOM, before the asset/identifier decision is final."""

    key: str
    raw: dict[str, Any]
    parent: str | None  # key of the node it is nested in
    kind: str | None  # asset kind, or None for a component recorded as an identifier
    is_subject: bool = False


def parse_bom(data: bytes, *, subject_named: bool = False) -> BomContent:
    """Read a CycloneDX JSON document; raise ``BomRejected`` with a message for its uploader.

    ``subject_named``: the uploader named the asset the BOM describes, which stands for the BOM's
    subject (the spec with ``is_subject``; keyed ``NAMED_SUBJECT_KEY`` when the BOM names none).
    """
    document = _load(data)
    _refuse_nul(document)
    spec_version = _check_format(document)
    warnings = _validate(document, spec_version, data)
    return _Extraction(document, warnings, subject_named=subject_named).run(spec_version)


def _load(data: bytes) -> dict[str, Any]:
    if not data.strip():
        raise BomRejected("The file is empty; expected a CycloneDX JSON BOM.")
    try:
        document = json.loads(data)
    except UnicodeDecodeError as exc:
        raise BomRejected("The file is not text in UTF-8; expected a CycloneDX JSON BOM.") from exc
    except json.JSONDecodeError as exc:
        if exc.pos >= len(exc.doc.rstrip()):
            raise BomRejected(
                "The file ends in the middle of the JSON document; it looks truncated "
                f"(line {exc.lineno}). Upload the complete BOM."
            ) from exc
        raise BomRejected(
            f"The file is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
        ) from exc
    except RecursionError as exc:
        raise BomRejected("The JSON document is nested too deeply to be a BOM.") from exc
    if not isinstance(document, dict):
        raise BomRejected("The file is JSON but not a CycloneDX BOM: expected an object at the top level.")
    return document


def _refuse_nul(document: dict[str, Any]) -> None:
    """Refuse a NUL character in any string or key: PostgreSQL text cannot hold one."""
    stack: list[tuple[Any, list[str | int]]] = [(document, [])]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                where = _json_path(path)
                raise BomRejected(
                    f"The BOM has a NUL character (\\u0000) in {where}; remove it and upload again."
                )
        elif isinstance(value, dict):
            for key, item in reversed(value.items()):
                if "\x00" in key:
                    raise BomRejected(f"The BOM has a NUL character (\\u0000) in a key of {_json_path(path)}")
                stack.append((item, [*path, key]))
        elif isinstance(value, list):
            stack.extend((item, [*path, index]) for index, item in reversed(list(enumerate(value))))


def _check_format(document: dict[str, Any]) -> str:
    if "spdxVersion" in document or "@graph" in document or "SPDXID" in document:
        raise BomRejected(
            "This is an SPDX document of version 2; this import reads CycloneDX JSON and SPDX 3 "
            "JSON-LD. Ask your SBOM tool for one of those (e.g. `syft -o cyclonedx-json`, "
            "`trivy --format cyclonedx`)."
        )
    if document.get("bomFormat") != "CycloneDX":
        found = document.get("bomFormat")
        what = f"bomFormat is {str(found)[:40]!r}" if found else "it has no bomFormat"
        raise BomRejected(f"The file is JSON but not a CycloneDX BOM: {what}, expected 'CycloneDX'.")
    spec_version = str(document.get("specVersion", ""))[:10]
    if spec_version not in SUPPORTED_SPEC_VERSIONS:
        raise BomRejected(
            f"CycloneDX specVersion {spec_version or '(missing)'} is not supported; "
            f"this import reads {', '.join(SUPPORTED_SPEC_VERSIONS)}."
        )
    return spec_version


def _unique_items(validator: Any, unique: bool, instance: Any, schema: dict[str, Any]) -> Iterator[Any]:
    """``uniqueItems`` in linear time: jsonschema compares every pair, which takes minutes on a BOM
    of 5,000 components; canonical JSON text of each item is hashable and compares the same way."""
    if not unique or not validator.is_type(instance, "array"):
        return
    seen: set[str] = set()
    for item in instance:
        key = json.dumps(item, sort_keys=True, separators=(",", ":"))
        if key in seen:
            yield jsonschema.ValidationError("has repeated items, which the schema forbids")
            return
        seen.add(key)


@lru_cache(maxsize=len(SUPPORTED_SPEC_VERSIONS))
def _validator(spec_version: str) -> Any:
    """cyclonedx-python-lib's validator for the version (its bundled schemas and their references),
    with the linear ``uniqueItems``; compiled once per version."""
    library = JsonValidator(SchemaVersion.from_version(spec_version))._validator
    fast = jsonschema.validators.extend(type(library), validators={"uniqueItems": _unique_items})
    return fast(library.schema, registry=library._registry, format_checker=library.format_checker)


def _validate(document: dict[str, Any], spec_version: str, data: bytes) -> list[str]:
    """Check the document against the CycloneDX schema; refuse structural errors, list the rest.

    Why the schema and then the dict, not ``Bom.from_json``: the library's deserializer stops at
    the first part it cannot model (it raises on aibom.json's licences, which name both an SPDX
    id and a name, and on its dependsOn objects), while the import only needs components,
    services, model cards and dependencies. The schema tells exactly where a file is wrong, so
    errors in the parts we read refuse the file and errors elsewhere become warnings.
    """
    fatal: list[str] = []
    tolerated: list[str] = []
    try:
        errors = _validator(spec_version).iter_errors(document)
        for count, error in enumerate(errors):
            if count >= MAX_SCHEMA_ERRORS:
                break
            path = list(error.absolute_path)
            where = _json_path(path)
            if _tolerable(path, error.instance):
                tolerated.append(where)
            else:
                fatal.append(f"{where}: {_short(error.message)}")
    except RecursionError as exc:
        raise BomRejected("The JSON document is nested too deeply to be a BOM.") from exc
    if fatal:
        shown = "; ".join(fatal[:3])
        more = f" (and {len(fatal) - 3} more)" if len(fatal) > 3 else ""
        raise BomRejected(f"The BOM does not follow the CycloneDX {spec_version} schema: {shown}{more}.")
    if not tolerated:
        return []
    places = ", ".join(tolerated[:5]) + (f" and {len(tolerated) - 5} more" if len(tolerated) > 5 else "")
    return [
        f"The BOM departs from the CycloneDX {spec_version} schema in {len(tolerated)} place(s) the "
        f"import does not rely on ({places}); those parts were ignored."
    ]


def _tolerable(path: list[str | int], instance: Any) -> bool:
    if any(isinstance(step, str) and step in DESCRIPTIVE_KEYS for step in path):
        return True
    # dependsOn items written as {"ref": ..., "relation": ...} objects (rust-aibom-generator):
    # the ref is readable, so the dependency is kept.
    in_depends_on = len(path) >= 2 and path[-2] == "dependsOn"
    return in_depends_on and isinstance(instance, dict) and isinstance(instance.get("ref"), str)


def _json_path(path: list[str | int]) -> str:
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text or "the top level"


def _short(message: str) -> str:
    return message if len(message) <= 160 else message[:157] + "..."


def _text(value: Any, limit: int) -> str:
    return value.strip()[:limit] if isinstance(value, str) else ""


class _Extraction:
    """Walk one validated document into asset and edge specs (a class only to share the indexes)."""

    def __init__(self, document: dict[str, Any], warnings: list[str], *, subject_named: bool = False) -> None:
        self.document = document
        self.warnings = warnings
        self.subject_named = subject_named
        self.nodes: dict[str, _Node] = {}
        self.children: dict[str | None, list[str]] = defaultdict(list)
        self.specs: dict[str, AssetSpec] = {}  # node key -> spec (merged specs share one object)
        self.edges: dict[tuple[str, str, str], EdgeSpec] = {}
        self.listed = 0

    def run(self, spec_version: str) -> BomContent:
        self._index()
        depends = self._dependencies()
        for node in self.nodes.values():
            if node.kind is not None:
                self._asset_spec(node)
        self._model_card_datasets()
        self._dependency_edges(depends)
        self._containment_edges(depends)
        self._attach_components(depends)
        unique = list({id(spec): spec for spec in self.specs.values()}.values())
        return BomContent(
            spec_version=spec_version,
            serial_number=_text(self.document.get("serialNumber"), 200),
            assets=unique,
            edges=list(self.edges.values()),
            components=self.listed,
            warnings=self.warnings,
        )

    # Indexing -----------------------------------------------------------------------------------

    def _index(self) -> None:
        metadata = self.document.get("metadata")
        subject = metadata.get("component") if isinstance(metadata, dict) else None
        pending: list[tuple[Any, str | None, str]] = []
        if isinstance(subject, dict):
            pending.append((subject, None, "subject"))
        elif self.subject_named:
            self.nodes[NAMED_SUBJECT_KEY] = _Node(
                key=NAMED_SUBJECT_KEY, raw={}, parent=None, kind=AssetKind.REPOSITORY, is_subject=True
            )
        pending += [(item, None, "component") for item in _list(self.document.get("components"))]
        pending += [(item, None, "service") for item in _list(self.document.get("services"))]
        duplicates: list[str] = []
        # Iterative, in document order: nesting depth is up to the file's author.
        pending.reverse()
        while pending:
            raw, parent, role = pending.pop()
            if not isinstance(raw, dict):
                continue
            key = self._node_key(raw)
            if key in self.nodes:
                duplicates.append(key)
                continue
            if role != "subject":
                self.listed += 1
            kind = self._kind(raw, role)
            self.nodes[key] = _Node(key=key, raw=raw, parent=parent, kind=kind, is_subject=role == "subject")
            self.children[parent].append(key)
            nested = [(item, key, "component") for item in _list(raw.get("components"))]
            nested += [(item, key, "service") for item in _list(raw.get("services"))]
            pending.extend(reversed(nested))
        if duplicates:
            self.warnings.append(
                f"{len(duplicates)} component(s) repeat a bom-ref already used "
                f"({', '.join(duplicates[:3])}); the first of each was kept."
            )

    def _node_key(self, raw: dict[str, Any]) -> str:
        ref = _text(raw.get("bom-ref"), 2000)
        return ref or f"#{len(self.nodes)}"

    @staticmethod
    def _kind(raw: dict[str, Any], role: str) -> str | None:
        if role == "service":
            return AssetKind.ENDPOINT
        component_type = _text(raw.get("type"), 40)
        if role == "subject":
            return SUBJECT_TYPES.get(component_type, AssetKind.REPOSITORY)
        return ASSET_TYPES.get(component_type)

    def _dependencies(self) -> dict[str, list[tuple[str, str]]]:
        """ref -> [(ref it depends on, relation)]; references to nothing in the BOM are dropped."""
        depends: dict[str, list[tuple[str, str]]] = {}
        dangling: list[str] = []
        for entry in _list(self.document.get("dependencies")):
            if not isinstance(entry, dict):
                continue
            ref = _text(entry.get("ref"), 2000)
            targets: list[tuple[str, str]] = []
            for item in _list(entry.get("dependsOn")):
                other, relation = (item, "") if isinstance(item, str) else _object_ref(item)
                if other in self.nodes:
                    targets.append((other, relation))
                elif other:
                    dangling.append(other)
            if ref in self.nodes:
                depends.setdefault(ref, []).extend(targets)
            elif ref:
                dangling.append(ref)
        if dangling:
            self.warnings.append(
                f"{len(dangling)} dependency reference(s) name no component of the BOM and were skipped "
                f"({', '.join(sorted(set(dangling))[:3])})."
            )
        return depends

    # Assets -------------------------------------------------------------------------------------

    def _asset_spec(self, node: _Node) -> None:
        raw = node.raw
        assert node.kind is not None
        if node.key == NAMED_SUBJECT_KEY:  # the named asset: it has its own name and identifiers
            self.specs[node.key] = AssetSpec(key=node.key, kind=node.kind, name="", is_subject=True)
            return
        name = _display_name(raw) or node.key
        spec = self._merge_target(node.kind, name) or AssetSpec(
            key=node.key, kind=node.kind, name=name[:NAME_MAX], is_subject=node.is_subject
        )
        spec.description = spec.description or _text(raw.get("description"), DESCRIPTION_MAX)
        if node.kind in NAME_IS_IDENTIFIER:
            spec.add_identifier(name)
        for identifier in _own_identifiers(raw, node.key):
            self._add_identifier(spec, identifier)
        if node.kind == AssetKind.DATASET and not spec.classification:
            spec.classification = _data_classification(raw)
        self.specs[node.key] = spec

    def _merge_target(self, kind: str, name: str) -> AssetSpec | None:
        """Two entries naming the same asset (two versions of one model) become one asset."""
        for spec in self.specs.values():
            if spec.kind == kind and spec.name == name[:NAME_MAX]:
                return spec
        return None

    def _add_identifier(self, spec: AssetSpec, identifier: str, *, component: bool = False) -> None:
        if len(identifier) > IDENTIFIER_MAX:
            self.warnings.append(
                f"An identifier of {spec.name} is longer than {IDENTIFIER_MAX} characters and was skipped."
            )
            return
        spec.add_identifier(identifier, component=component)

    def _model_card_datasets(self) -> None:
        models = [node for node in list(self.nodes.values()) if node.kind == AssetKind.MODEL]
        for node in models:
            card = node.raw.get("modelCard")
            parameters = card.get("modelParameters") if isinstance(card, dict) else None
            datasets = parameters.get("datasets") if isinstance(parameters, dict) else None
            for index, item in enumerate(_list(datasets)):
                if not isinstance(item, dict):
                    continue
                dataset_key = self._model_card_dataset(node, index, item)
                if dataset_key is not None:
                    self._edge(dataset_key, node.key, EdgeKind.TRAINED_ON)

    def _model_card_dataset(self, model: _Node, index: int, item: dict[str, Any]) -> str | None:
        ref = _text(item.get("ref"), 2000)
        if ref:
            if ref in self.specs:
                return ref
            self.warnings.append(f"The model card of {self.specs[model.key].name} names dataset {ref!r}, "
                                 "which is no dataset or model of the BOM; it was skipped.")  # fmt: skip
            return None
        bom_ref = _text(item.get("bom-ref"), 2000)
        fallback = f"{self.specs[model.key].name} dataset {index + 1}"
        name = _text(item.get("name"), NAME_MAX) or bom_ref[:NAME_MAX] or fallback
        key = bom_ref if bom_ref and bom_ref not in self.nodes else f"{model.key}#dataset{index}"
        node = _Node(key=key, raw=item, parent=model.key, kind=AssetKind.DATASET)
        self.nodes[key] = node
        spec = self._merge_target(AssetKind.DATASET, name) or AssetSpec(
            key=key, kind=AssetKind.DATASET, name=name
        )
        spec.description = spec.description or _text(item.get("description"), DESCRIPTION_MAX)
        spec.classification = spec.classification or _text(item.get("classification"), 60)
        if bom_ref:
            self._add_identifier(spec, bom_ref)
        contents = item.get("contents")
        url = _text(contents.get("url"), IDENTIFIER_MAX + 1) if isinstance(contents, dict) else ""
        if url:
            self._add_identifier(spec, url)
        self.specs[key] = spec
        return key

    # Edges --------------------------------------------------------------------------------------

    def _edge(self, source: str, target: str, kind: str) -> None:
        upstream, downstream = self.specs[source], self.specs[target]
        if upstream is downstream:
            return
        edge = EdgeSpec(source=upstream.key, target=downstream.key, kind=kind)
        self.edges.setdefault((edge.source, edge.target, edge.kind), edge)

    def _dependency_edges(self, depends: dict[str, list[tuple[str, str]]]) -> None:
        for ref, targets in depends.items():
            if ref not in self.specs:
                continue
            for other, relation in targets:
                if other in self.specs:
                    derived = relation.lower() in DERIVATION_RELATIONS
                    self._edge(other, ref, EdgeKind.DERIVED_FROM if derived else EdgeKind.DEPENDS_ON)

    def _containment_edges(self, depends: dict[str, list[tuple[str, str]]]) -> None:
        depended_on = {other for ref, targets in depends.items() if ref in self.specs for other, _ in targets}
        for key, node in list(self.nodes.items()):
            if node.kind is None or key in depends or key not in self.specs:
                continue
            inside = self.children[key] + (self.children[None] if node.is_subject else [])
            for child in inside:
                if child in self.specs and child not in depended_on:
                    self._edge(child, key, EdgeKind.DEPENDS_ON)

    # Components recorded as identifiers ---------------------------------------------------------

    def _attach_components(self, depends: dict[str, list[tuple[str, str]]]) -> None:
        owners: dict[str, set[str]] = defaultdict(set)
        for key in self.specs:
            for reached in _reach_through_components(key, depends, self.specs):
                owners[reached].add(key)
        subject_key = next((node.key for node in self.nodes.values() if node.is_subject), None)
        unattached = 0
        for node in self.nodes.values():
            if node.kind is not None:
                continue
            fallback = {subject_key} if subject_key else set()
            holders = owners.get(node.key) or self._nesting_owner(node) or fallback
            identifier = _component_identifier(node.raw)
            if not holders:
                unattached += 1
                continue
            for holder in sorted(holders):
                if identifier:
                    self._add_identifier(self.specs[holder], identifier, component=True)
        if unattached:
            raise BomRejected(
                f"The BOM names no subject (metadata.component), so {unattached} of its components "
                "belong to no asset and nothing would record them. Name the asset this BOM describes "
                "(the Asset field of the form, --asset for import_bom, asset in the API) and they will "
                "be recorded on it."
            )
        if not self.specs:
            raise BomRejected(
                "The BOM names no subject (metadata.component) and lists no component this import "
                "records: there is nothing to import. Name the asset it describes, or check the file."
            )

    def _nesting_owner(self, node: _Node) -> set[str]:
        parent = node.parent
        while parent is not None:
            if parent in self.specs:
                return {parent}
            parent = self.nodes[parent].parent
        return set()


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _object_ref(item: Any) -> tuple[str, str]:
    if isinstance(item, dict):
        return _text(item.get("ref"), 2000), _text(item.get("relation"), 40)
    return "", ""


def _display_name(raw: dict[str, Any]) -> str:
    name = _text(raw.get("name"), NAME_MAX)
    group = _text(raw.get("group"), NAME_MAX)
    return f"{group}/{name}"[:NAME_MAX] if group and name else name


def _own_identifiers(raw: dict[str, Any], key: str) -> Iterator[str]:
    purl = _text(raw.get("purl"), IDENTIFIER_MAX + 1)
    if purl:
        yield purl
    if not key.startswith("#"):
        yield key
    name, version = _display_name(raw), _text(raw.get("version"), 100)
    if name and version:
        yield f"{name}@{version}"
    for reference in _list(raw.get("externalReferences")):
        if isinstance(reference, dict) and reference.get("type") == "vcs":
            url = _text(reference.get("url"), IDENTIFIER_MAX + 1)
            if url:
                yield url


def _component_identifier(raw: dict[str, Any]) -> str:
    purl = _text(raw.get("purl"), IDENTIFIER_MAX + 1)
    if purl:
        return purl
    name, version = _display_name(raw), _text(raw.get("version"), 100)
    return f"{name}@{version}" if name and version else name


def _data_classification(raw: dict[str, Any]) -> str:
    for item in _list(raw.get("data")):
        if isinstance(item, dict):
            level = _text(item.get("classification"), 60)
            if level:
                return level
    return ""


def _reach_through_components(
    start: str, depends: dict[str, list[tuple[str, str]]], assets: dict[str, AssetSpec]
) -> set[str]:
    """Components (not assets) reachable from ``start`` without passing through another asset."""
    reached: set[str] = set()
    pending = [other for other, _ in depends.get(start, [])]
    while pending:
        key = pending.pop()
        if key in reached or key in assets:
            continue
        reached.add(key)
        pending.extend(other for other, _ in depends.get(key, []))
    return reached
