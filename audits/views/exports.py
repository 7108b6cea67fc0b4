"""The exports page and the one download view that streams any registered list."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from audits import selectors
from audits.views.engagements import refuse
from hygiene.permissions import sees_all_teams
from hygiene.services.exports import export_lists_for_user, export_stream


@login_required
def export_index(request: HttpRequest) -> HttpResponse:
    context = {
        "lists": export_lists_for_user(user=request.user),
        "engagements": selectors.engagement_list_for_user(user=request.user).filter(ended_at__isnull=True)[
            :20
        ]
        if sees_all_teams(request.user)
        else [],
    }
    return render(request, "audits/exports.html", context)


@login_required
@require_GET
def export_download(request: HttpRequest, key: str, export_format: str) -> HttpResponse:
    try:
        export = export_stream(user=request.user, key=key, export_format=export_format, params=request.GET)
    except PermissionDenied as exc:
        return refuse(request, str(exc))
    response = StreamingHttpResponse(export.chunks, content_type=export.content_type)
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    return response
