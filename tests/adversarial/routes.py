"""The routes the application answers, read from the URL conf and the OpenAPI schema (never typed by hand)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache

from django.urls import URLPattern, URLResolver, get_resolver

API_PREFIX = "api/v1/"
HTTP_METHODS = ("get", "post", "put", "patch", "delete")
_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")


def _normalise(route: str) -> str:
    """A router's regex (``^assets/(?P<pk>[^/.]+)/$``) in the URL conf's own ``<pk>`` spelling."""
    route = route.replace("^", "").replace("$", "")
    return _GROUP.sub(lambda m: f"<{m.group(1)}>", route)


def _walk(patterns: list, prefix: str = "") -> Iterator[tuple[str, object]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + _normalise(str(pattern.pattern)))
        elif isinstance(pattern, URLPattern):
            yield prefix + _normalise(str(pattern.pattern)), pattern.callback


@cache
def url_conf_routes() -> tuple[str, ...]:
    """Every route of the URL conf; the admin site counts as one route (``admin/``), format-suffix
    twins of DRF's DefaultRouter (``.json``) as the route they suffix."""
    routes: set[str] = set()
    for route, _callback in _walk(get_resolver().url_patterns):
        if route.startswith("admin/"):
            routes.add("admin/")
            continue
        if "<drf_format_suffix:format>" in route or "<format>" in route:
            continue
        routes.add(route)
    return tuple(sorted(routes))


def schema_path_to_route(path: str) -> str:
    """``/api/v1/assets/{id}/`` as the URL conf spells it (``api/v1/assets/<id>/``)."""
    return re.sub(r"\{(\w+)\}", r"<\1>", path.lstrip("/"))


def schema_operations(schema: dict) -> list[tuple[str, str]]:
    """(path, METHOD) of every operation the OpenAPI schema documents."""
    return sorted(
        (path, method.upper())
        for path, item in schema["paths"].items()
        for method in item
        if method in HTTP_METHODS
    )


def route_params(route: str) -> list[str]:
    return re.findall(r"<(?:\w+:)?(\w+)>", route)


def fill(route: str, values: dict[str, object]) -> str:
    """The route with its parameters filled: ``assets/<int:pk>/`` → ``/assets/12/``."""
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), route)


def shape(route: str) -> str:
    """The route with its parameters unnamed: ``scans/<int:pk>/`` and the schema's ``scans/{id}/`` agree."""
    return re.sub(r"<[^>]+>", "<>", route)
