"""Rendered dashboard content kept per state of the data: exact, never stale.

A dashboard is a pure function of the rows it reads, the day (age bands, due dates, the current month)
and who looks (their pk, role, the audit engagement they work in) and the request's path and filters.
The rows are summarised by the data version (migration metrics/0005): it moves whenever any table a
dashboard reads changes. So content kept under (version, today, viewer, path) is what computing it
again would give.

The version is read BEFORE computing. A writer that commits between the read and the computation may
make the content newer than its version says, never older: the next reader sees a higher version and
misses. A transaction that has itself written to a tracked table (a test, a service that renders after
a write) sees rows no other transaction sees under the same version, so it neither reads nor fills the
cache.

Only views call this, after their permission checks: the cache never decides who may see what.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest
from rest_framework.request import Request

from hygiene.permissions import (
    RESTRICTED_READ_ATTR,
    engagement_scope,
    is_auditor,
    is_security_lead,
    restricted_read,
    token_team_id,
)
from metrics import selectors

# An entry is exact for as long as the version holds; the limit only frees memory from idle entries.
KEEP_SECONDS = 6 * 3600

VERSION_SQL = """
SELECT (SELECT value FROM metrics_data_version_base) + (SELECT count(*) FROM metrics_data_version_log),
       EXISTS (SELECT 1 FROM metrics_data_version_log WHERE txid = txid_current_if_assigned())
"""


def data_version() -> int | None:
    """The committed data's version; None when this transaction has written data a dashboard reads."""
    with connection.cursor() as cursor:
        cursor.execute(VERSION_SQL)
        version, wrote = cursor.fetchone()
    return None if wrote else int(version)


def viewer_key(request: HttpRequest | Request, kind: str) -> str | None:
    """The cache key of what ``request`` would see now, or None when nothing may be kept."""
    version = data_version()
    if version is None:
        return None
    user: Any = request.user
    viewer = (
        user.pk,
        is_security_lead(user),
        is_auditor(user),
        engagement_scope(user),
        token_team_id(user),
        request.get_full_path(),
    )
    digest = hashlib.sha256(repr(viewer).encode()).hexdigest()
    return f"metrics:dashboard:{kind}:{version}:{selectors.today().isoformat()}:{digest}"


def cached_content(request: HttpRequest | Request, kind: str, compute: Callable[[], Any]) -> Any:
    """``compute()``, or what it gave the same viewer for the same path on the same data and day.

    Whether computing read restricted data inside an engagement is kept with the content and replayed,
    so the engagement's read log records a cached view as it records a computed one.
    """
    key = viewer_key(request, kind)
    kept = cache.get(key) if key is not None else None
    if kept is not None:
        content, read_restricted = kept
        if read_restricted:
            setattr(request.user, RESTRICTED_READ_ATTR, True)
        return content
    content = compute()
    if key is not None:
        cache.set(key, (content, restricted_read(request.user)), KEEP_SECONDS)
    return content
