"""OSCAL 1.1 assessment results of an engagement, for GRC tools that read them.

One result covers the engagement's period: the assets in scope are inventory items, scan findings are
observations about them, and sections that assess controls (the controls app, once installed) add
OSCAL findings against control objectives. UUIDs are derived from the site and object ids (UUID v5), so
the same object keeps its UUID across exports.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.utils import timezone

from audits.models import Engagement
from audits.sections import sections
from hygiene.services.audit import audit_event

OSCAL_VERSION = "1.1.3"
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:hygiene:oscal")


def _uuid_for(*parts: Any) -> str:
    site = getattr(settings, "HYGIENE_SITE_ID", "hygiene")
    return str(uuid.uuid5(_NAMESPACE, ":".join([site, *(str(part) for part in parts)])))


def engagement_oscal(*, engagement: Engagement, actor: Any) -> dict[str, Any]:
    """The assessment-results document of ``engagement`` (read in its scope); the export is audited."""
    from audits.selectors import engagement_period, section_context

    ctx = section_context(engagement)
    period = engagement_period(engagement)
    parts: dict[str, list[dict[str, Any]]] = {"inventory-items": [], "observations": [], "findings": []}
    for section in sections():
        if section.oscal is not None:
            for key, items in section.oscal(ctx, _uuid_for).items():
                parts.setdefault(key, []).extend(items)
    result: dict[str, Any] = {
        "uuid": _uuid_for("engagement", engagement.pk, "result"),
        "title": f"Results of {engagement.name}",
        "description": (
            f"Hygiene programme assessment for {engagement.period_start.isoformat()} to "
            f"{engagement.period_end.isoformat()}, frameworks: "
            f"{', '.join(engagement.framework_labels()) or 'none'}."
        ),
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "reviewed-controls": {"control-selections": [{"include-all": {}}]},
    }
    if parts["inventory-items"]:
        result["local-definitions"] = {"inventory-items": parts["inventory-items"]}
    if parts["observations"]:
        result["observations"] = parts["observations"]
    if parts["findings"]:
        result["findings"] = parts["findings"]
    document = {
        "assessment-results": {
            "uuid": _uuid_for("engagement", engagement.pk, "assessment-results", timezone.now().isoformat()),
            "metadata": {
                "title": f"Assessment results: {engagement.name}",
                "last-modified": timezone.now().isoformat(),
                "version": timezone.now().strftime("%Y%m%d%H%M%S"),
                "oscal-version": OSCAL_VERSION,
                "parties": [
                    {
                        "uuid": _uuid_for("user", engagement.auditor_id),
                        "type": "person",
                        "name": engagement.auditor.get_username(),
                    }
                ],
            },
            "import-ap": {
                "href": f"#engagement-{engagement.pk}",
                "remarks": "Audit engagement of the hygiene application.",
            },
            "results": [result],
        }
    }
    audit_event(
        action="export",
        object_type="audits_engagement",
        object_id=str(engagement.pk),
        actor_id=actor.pk,
        actor_label=actor.get_username(),
        detail={"format": "oscal-assessment-results", "observations": len(parts["observations"])},
    )
    return document
