from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render

from hygiene import selectors
from hygiene.forms import AuditFilterForm
from hygiene.lib.exports import Echo, csv_rows
from hygiene.lib.pagination import paginate
from hygiene.permissions import sees_all_teams
from hygiene.selectors import CHECKPOINT_HEADER, signed_checkpoint
from hygiene.services.audit import Checkpoint, audit_event

COLUMNS = [
    *("id", "seq", "occurred_at", "actor_label", "action", "object_type", "object_id"),
    *("changes", "before", "after", "context", "hash"),
]


def _entries(request: HttpRequest) -> tuple[AuditFilterForm, object]:
    if not sees_all_teams(request.user):
        raise PermissionDenied("The audit log is for security leads and auditors.")
    form = AuditFilterForm(request.GET or None)
    filters = {k: str(v) for k, v in form.cleaned_data.items() if v} if form.is_valid() else {}
    return form, selectors.audit_entry_list_for_user(user=request.user, filters=filters)


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    form, entries = _entries(request)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "hygiene/audit_log.html",
        {
            "form": form,
            "page": paginate(request, entries),
            "query": query.urlencode(),
            "hidden_count": selectors.audit_hidden_count_for_user(user=request.user),
        },
    )


JSON_COLUMNS = {COLUMNS.index(name) for name in ("changes", "before", "after", "context")}


def _as_json(rows: Iterator[tuple[Any, ...]]) -> Iterator[list[Any]]:
    """Write the structured columns as JSON, which any tool reads back (not Python's repr)."""
    for row in rows:
        yield [
            json.dumps(value, sort_keys=True, default=str)
            if i in JSON_COLUMNS and value is not None
            else value
            for i, value in enumerate(row)
        ]


@login_required
def audit_log_export(request: HttpRequest) -> HttpResponse:
    _, entries = _entries(request)
    audit_event(
        action="export",
        object_type="hygiene_auditentry",
        actor_id=request.user.pk,
        actor_label=request.user.get_username(),
        detail={"filters": request.GET.dict()},
    )
    writer = csv.writer(Echo())
    checkpoint = signed_checkpoint()
    rows = csv_rows(writer, COLUMNS, _with_checkpoint(entries, checkpoint))
    response = StreamingHttpResponse(rows, content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="audit-log.csv"'
    if checkpoint is not None:
        response[CHECKPOINT_HEADER] = checkpoint.signed()
    return response


def _with_checkpoint(entries: Any, checkpoint: Checkpoint | None) -> Iterator[list[Any]]:
    """The entries, then a last row with the chain's signed anchor (for verify_audit_log --checkpoint)."""
    yield from _as_json(entries.values_list(*COLUMNS).iterator(chunk_size=2000))
    if checkpoint is not None:
        row: dict[str, Any] = dict.fromkeys(COLUMNS, "")
        row.update(
            id="checkpoint",
            seq=checkpoint.seq,
            occurred_at=checkpoint.at,
            action="checkpoint",
            object_type="hygiene_auditentry",
            hash=checkpoint.signed(),
        )
        yield [row[name] for name in COLUMNS]
