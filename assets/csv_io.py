"""The inventory as CSV and JSON: the import template, row parsing with per-row errors, export writers.

Pure: no database. Parsing checks each row's shape and choices; the import service then resolves
teams, levels and people and writes. Export and import share one column list, so an export can be
edited in a spreadsheet and imported back (it upserts by team, kind and name).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder

from assets.models import (
    IDENTIFIER_MAX,
    NAME_MAX,
    TAG_MAX,
    Asset,
    AssetKind,
    Criticality,
    Environment,
    Lifecycle,
)
from hygiene.lib.exports import FORMULA_PREFIXES, Echo, csv_rows

COLUMNS = [
    *("name", "kind", "environment", "team", "classification", "criticality", "lifecycle"),
    *("technical_owner", "identifiers", "tags", "description"),
]
REQUIRED_COLUMNS = ("name", "kind", "team")
# Written by the export for people reading it; the import skips them.
READ_ONLY_COLUMNS = ("effective_classification", "is_restricted", "created_at", "updated_at")
EXPORT_COLUMNS = [*COLUMNS, *READ_ONLY_COLUMNS]
LIST_SEPARATOR = ";"
HEADER_ALIASES = {
    "team_slug": "team",
    "classification_slug": "classification",
    "technical_owner_username": "technical_owner",
    "owner": "technical_owner",
}
CHOICES = {
    "kind": AssetKind,
    "environment": Environment,
    "criticality": Criticality,
    "lifecycle": Lifecycle,
}
# Values and their labels, lower-cased ("container image" is read as container_image).
CHOICE_LOOKUP = {
    name: {key: value for value, label in choices.choices for key in (value, str(label).lower())}
    for name, choices in CHOICES.items()
}
TEMPLATE_EXAMPLES = [
    [
        *("customer-support-transcripts", "dataset", "production", "data-engineering", "restricted"),
        *("high", "active", "", "s3://support-exports/transcripts/", "pii;support"),
        "Support chat transcripts used to fine-tune the assistant.",
    ],
    [
        *("support-assistant-llm", "model", "production", "research", "", "critical", "active", ""),
        *("registry.example.org/research/support-assistant:2.1.0", "llm", "Fine-tuned support assistant."),
    ],
]


@dataclass(frozen=True)
class RowError:
    row: int  # as a spreadsheet numbers it: the header is row 1; 0 means the file as a whole
    column: str
    message: str


class CsvRejected(ValidationError):
    """The file cannot be imported as it is; ``errors`` says where. Nothing was written."""

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        first = errors[0]
        where = f"row {first.row}, {first.column}: " if first.row else ""
        more = f" ({len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        super().__init__(f"Nothing was imported. {where}{first.message}{more}", code="csv_rejected")


@dataclass
class CsvRow:
    """One data row, its values parsed; only the columns present in the file are in ``values``."""

    row: int
    name: str
    kind: str
    team: str
    classification: str | None = None  # slug; "" means unclassified, None means the column is absent
    technical_owner: str | None = None  # username, same convention
    values: dict[str, Any] = field(default_factory=dict)


def template_csv() -> str:
    """The import template: the header and two example rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    writer.writerows(TEMPLATE_EXAMPLES)
    return buffer.getvalue()


def parse_csv(data: bytes, *, max_rows: int) -> tuple[list[CsvRow], list[RowError]]:
    """The rows that parse and the problems of those that do not; a file-level problem raises."""
    text = _decode(data)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise CsvRejected([RowError(0, "", "The file is empty; start from the template.")])
        columns = _columns(header)
        rows: list[CsvRow] = []
        errors: list[RowError] = []
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            if len(rows) >= max_rows:
                raise CsvRejected([RowError(0, "", f"The file has more than {max_rows} rows; split it.")])
            row, row_errors = _parse_row(reader.line_num, columns, cells)
            errors += row_errors
            if row is not None:
                rows.append(row)
    except csv.Error as exc:
        raise CsvRejected([RowError(reader.line_num, "", f"The CSV cannot be read here: {exc}.")]) from exc
    if not rows and not errors:
        raise CsvRejected([RowError(0, "", "The file has a header but no rows.")])
    return rows, errors


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvRejected(
            [RowError(0, "", "The file is not UTF-8 text; save it as “CSV UTF-8” and try again.")]
        ) from exc


def _columns(header: list[str]) -> list[str | None]:
    """Header cells as column names; None for the read-only columns of an export."""
    columns: list[str | None] = []
    errors: list[RowError] = []
    for cell in header:
        name = cell.strip().lstrip("\ufeff").lower().replace(" ", "_")
        name = HEADER_ALIASES.get(name, name)
        if name in READ_ONLY_COLUMNS:
            columns.append(None)
        elif name in COLUMNS and name not in columns:
            columns.append(name)
        else:
            problem = "appears twice" if name in COLUMNS else "is not a column of the template"
            errors.append(RowError(1, cell[:60], f"The column “{cell[:60]}” {problem}."))
            columns.append(None)
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        errors.append(RowError(1, ", ".join(missing), f"Required column(s) missing: {', '.join(missing)}."))
    if errors:
        raise CsvRejected(errors)
    return columns


def _parse_row(
    line: int, columns: list[str | None], cells: list[str]
) -> tuple[CsvRow | None, list[RowError]]:
    if len(cells) > len(columns):
        return None, [RowError(line, "", f"The row has {len(cells)} cells; the header has {len(columns)}.")]
    raw = {
        name: _unquote(cells[i].strip()) if i < len(cells) else "" for i, name in enumerate(columns) if name
    }
    errors: list[RowError] = []
    values: dict[str, Any] = {}
    for name in raw:
        value: Any
        if "\x00" in raw[name]:
            # PostgreSQL text cannot hold it; refused here rather than failing the write.
            value, problem = "", "The cell contains a NUL character (\\0); remove it."
        elif name in CHOICES:
            value, problem = _choice(name, raw[name])
        elif name in ("identifiers", "tags"):
            value, problem = _list_value(name, raw[name])
        else:
            value, problem = raw[name], ""
        if problem:
            errors.append(RowError(line, name, problem))
        elif value != "" or name in ("description", "identifiers", "tags"):
            values[name] = value
    for name in REQUIRED_COLUMNS:
        if not raw.get(name) and not any(error.column == name for error in errors):
            errors.append(RowError(line, name, f"{name.capitalize()} is required."))
    if len(raw.get("name", "")) > NAME_MAX:
        errors.append(RowError(line, "name", f"The name is longer than {NAME_MAX} characters."))
    if errors:
        return None, errors
    return CsvRow(
        row=line,
        name=values.pop("name"),
        kind=values.pop("kind"),
        team=values.pop("team"),
        classification=values.pop("classification", "" if "classification" in raw else None),
        technical_owner=values.pop("technical_owner", "" if "technical_owner" in raw else None),
        values=values,
    ), []


def _unquote(value: str) -> str:
    """Undo the export's CSV-injection guard ("'=x" -> "=x") so an export imports back unchanged."""
    if value.startswith("'") and value[1:2] and value[1] in FORMULA_PREFIXES:
        return value[1:]
    return value


def _choice(name: str, value: str) -> tuple[str, str]:
    if not value:
        return "", ""
    found = CHOICE_LOOKUP[name].get(value.strip().lower())
    if found is not None:
        return found, ""
    allowed = ", ".join(CHOICES[name].values)
    return "", f"“{value[:60]}” is not a valid {name}; use one of: {allowed}."


def _list_value(name: str, value: str) -> tuple[list[str], str]:
    items = [item.strip() for item in value.split(LIST_SEPARATOR) if item.strip()]
    limit = IDENTIFIER_MAX if name == "identifiers" else TAG_MAX
    too_long = next((item for item in items if len(item) > limit), None)
    if too_long:
        return [], f"“{too_long[:40]}…” is longer than {limit} characters."
    return list(dict.fromkeys(items)), ""


# Export --------------------------------------------------------------------------------------------


def _export_record(asset: Asset) -> dict[str, Any]:
    return {
        "name": asset.name,
        "kind": asset.kind,
        "environment": asset.environment,
        "team": asset.team.slug,
        "classification": asset.classification.slug if asset.classification else "",
        "criticality": asset.criticality,
        "lifecycle": asset.lifecycle,
        "technical_owner": asset.technical_owner.get_username() if asset.technical_owner else "",
        "identifiers": list(asset.identifiers),
        "tags": list(asset.tags),
        "description": asset.description,
        "effective_classification": (
            asset.effective_classification.slug if asset.effective_classification else ""
        ),
        "is_restricted": asset.is_restricted,
        "created_at": asset.created_at,
        "updated_at": asset.updated_at,
    }


def export_csv(assets: Iterable[Asset]) -> Iterator[str]:
    """CSV lines for a streaming response; every cell is guarded against spreadsheet formulas."""

    def rows() -> Iterator[list[Any]]:
        for asset in assets:
            record = _export_record(asset)
            record["identifiers"] = LIST_SEPARATOR.join(record["identifiers"])
            record["tags"] = LIST_SEPARATOR.join(record["tags"])
            record["is_restricted"] = "yes" if record["is_restricted"] else "no"
            record["created_at"] = record["created_at"].isoformat()
            record["updated_at"] = record["updated_at"].isoformat()
            yield [record[column] for column in EXPORT_COLUMNS]

    return csv_rows(csv.writer(Echo()), EXPORT_COLUMNS, rows())


def export_json(assets: Iterable[Asset]) -> Iterator[str]:
    """A JSON array, one asset per chunk, for a streaming response."""
    yield "["
    separator = "\n"
    for asset in assets:
        record = {"id": asset.pk, **_export_record(asset)}
        yield separator + json.dumps(record, cls=DjangoJSONEncoder, ensure_ascii=False)
        separator = ",\n"
    yield "\n]\n"
