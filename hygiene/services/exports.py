"""Every list exports: a registry of exportable lists, each streamed through its app's selector and audited.

Apps register their lists (``export_register``) from their ``AppConfig.ready``; the export pages and the API
serve any registered list the same way: the list page's filters, the viewer's permissions (the list's
selector returns the queryset), CSV or JSON that PostgreSQL writes row by row from that queryset, streamed
from a server-side cursor, and one ``export`` entry in the audit log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from hygiene.lib.exports import queryset_csv, queryset_json
from hygiene.permissions import engagement_scope, is_active_user
from hygiene.services.audit import audit_event

FORMATS = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


def _everyone(user: Any) -> bool:
    return is_active_user(user)


@dataclass(frozen=True)
class ExportList:
    """One exportable list: its columns ((name, ORM lookup) pairs), the selector that gives a user's rows
    under filters, and how to parse the list page's filters."""

    key: str
    title: str
    object_type: str
    columns: tuple[tuple[str, str], ...]
    queryset: Callable[[Any, Mapping[str, Any]], QuerySet[Any]]
    parse_filters: Callable[[Any, Mapping[str, Any]], dict[str, Any]]
    list_url_name: str = ""
    allowed: Callable[[Any], bool] = field(default=_everyone)


EXPORTS: dict[str, ExportList] = {}


def export_register(spec: ExportList) -> None:
    """Add a list to the exports (idempotent: a second registration of a key replaces the first)."""
    EXPORTS[spec.key] = spec


def export_lists_for_user(*, user: Any) -> list[ExportList]:
    return [spec for spec in EXPORTS.values() if spec.allowed(user)]


def export_get(*, key: str) -> ExportList:
    spec = EXPORTS.get(key)
    if spec is None:
        raise Http404("No such export.")
    return spec


@dataclass(frozen=True)
class Export:
    chunks: Iterator[str] | Iterator[bytes]
    content_type: str
    filename: str


def export_stream(*, user: Any, key: str, export_format: str, params: Mapping[str, Any]) -> Export:
    """The list ``key`` as ``user`` sees it under ``params`` (the list page's query), streamed; audited."""
    spec = export_get(key=key)
    if export_format not in FORMATS:
        raise Http404("Exports are CSV or JSON.")
    if not spec.allowed(user):
        raise PermissionDenied(f"You may not export {spec.title.lower()}.")
    filters = spec.parse_filters(user, params)
    detail: dict[str, Any] = {
        "list": key,
        "format": export_format,
        "filters": {name: _plain(value) for name, value in filters.items()},
    }
    scope = engagement_scope(user)
    if scope is not None:
        detail["engagement"] = scope.engagement_id
    audit_event(
        action="export",
        object_type=spec.object_type,
        actor_id=user.pk,
        actor_label=user.get_username(),
        detail=detail,
    )
    queryset = spec.queryset(user, filters)
    stream = queryset_csv if export_format == "csv" else queryset_json
    return Export(
        chunks=stream(queryset, spec.columns),
        content_type=FORMATS[export_format],
        filename=f"{key}.{export_format}",
    )


def _plain(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [str(item) for item in value]
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)
