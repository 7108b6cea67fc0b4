"""Exporting incidents: the page and the API stream the same rows through the list selector, audited."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from hygiene.lib.exports import Echo, csv_rows
from hygiene.services.audit import audit_event
from incidents.models import Incident
from incidents.selectors import incident_list_for_user

COLUMNS = (
    "id",
    "reference",
    "team",
    "title",
    "category",
    "severity",
    "status",
    "restricted",
    "commander",
    "occurred_at",
    "detected_at",
    "reported_at",
    "acknowledged_at",
    "contained_at",
    "resolved_at",
    "closed_at",
    "escalation_level",
)


def incident_export(*, user: Any, filters: Mapping[str, Any], export_format: str) -> Iterator[Incident]:
    """The list's incidents under the same filters and permissions, streamed; the export is audited."""
    incidents = incident_list_for_user(user=user, filters=filters)
    audit_event(
        action="export",
        object_type="incidents_incident",
        actor_id=user.pk,
        actor_label=user.get_username(),
        detail={
            "format": export_format,
            "filters": {k: str(v) for k, v in filters.items()},
            "rows": incidents.count(),
        },
    )
    return incidents.iterator(chunk_size=1000)


def export_record(incident: Incident) -> dict[str, Any]:
    return {
        "id": incident.pk,
        "reference": incident.reference,
        "team": incident.team.slug,
        "title": incident.title,
        "category": incident.category,
        "severity": incident.severity,
        "status": incident.status,
        "restricted": incident.is_restricted,
        "commander": incident.commander.get_username() if incident.commander else "",
        **{field: getattr(incident, field) for field in COLUMNS[9:16]},
        "escalation_level": incident.escalation_level,
    }


def export_csv(incidents: Iterable[Incident]) -> Iterator[str]:
    def rows() -> Iterator[list[Any]]:
        for incident in incidents:
            record = export_record(incident)
            yield [
                ""
                if record[c] is None
                else record[c].isoformat()
                if hasattr(record[c], "isoformat")
                else record[c]
                for c in COLUMNS
            ]

    return csv_rows(csv.writer(Echo()), list(COLUMNS), rows())


def export_json(incidents: Iterable[Incident]) -> Iterator[str]:
    yield "["
    separator = ""
    for incident in incidents:
        yield separator + json.dumps(export_record(incident), cls=DjangoJSONEncoder, ensure_ascii=False)
        separator = ",\n"
    yield "]\n"
