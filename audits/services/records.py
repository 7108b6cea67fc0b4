"""An engagement's in-scope records of one section, as CSV or JSON (what its bundle holds); audited."""

from __future__ import annotations

from typing import Any

from django.http import Http404

from audits.models import Engagement
from audits.sections import SECTIONS
from hygiene.lib.exports import stream_csv, stream_json
from hygiene.services.audit import audit_event
from hygiene.services.exports import FORMATS, Export


def engagement_records(*, engagement: Engagement, actor: Any, key: str, export_format: str) -> Export:
    """Section ``key`` of ``engagement`` in its scope (read as ``actor`` if that is the auditor inside it)."""
    from audits.selectors import section_context

    section = SECTIONS.get(key)
    if section is None or export_format not in FORMATS:
        raise Http404("No such records.")
    ctx = section_context(engagement, user=actor)
    audit_event(
        action="export",
        object_type="audits_engagement",
        object_id=str(engagement.pk),
        actor_id=actor.pk,
        actor_label=actor.get_username(),
        detail={"section": key, "format": export_format},
    )
    stream = stream_csv if export_format == "csv" else stream_json
    return Export(
        chunks=stream(section.columns, section.rows(ctx)),
        content_type=FORMATS[export_format],
        filename=f"engagement-{engagement.pk}-{key}.{export_format}",
    )
