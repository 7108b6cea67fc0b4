"""Exporting the inventory: the page and the API export the same rows and audit them the same way."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from assets.models import Asset
from assets.selectors import asset_list_for_user
from hygiene.services.audit import audit_event


def asset_export(*, user: Any, filters: dict[str, str], export_format: str) -> Iterator[Asset]:
    """The list page's assets under the same filters and permissions, streamed; the export is audited."""
    assets = asset_list_for_user(user=user, filters=filters).select_related("technical_owner")
    audit_event(
        action="export",
        object_type="assets_asset",
        actor_id=user.pk,
        actor_label=user.get_username(),
        detail={"format": export_format, "filters": filters, "rows": assets.count()},
    )
    return assets.iterator(chunk_size=1000)
