"""An auditor works inside one engagement at a time: its scope is attached to them on every request.

The engagement is checked on every request, so one that ends (its date passes or a lead ends it) stops
access at once, mid-session. Every request that read restricted data inside an engagement is audited.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from hygiene.permissions import engagement_enter, is_auditor, restricted_read

SESSION_KEY = "hygiene_engagement_id"
Handler = Callable[[HttpRequest], HttpResponse]


class EngagementMiddleware:
    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        engagement_id = session.get(SESSION_KEY) if session is not None else None
        if not engagement_id or not request.user.is_authenticated:
            return self._respond(request)
        from audits.models import Engagement
        from audits.selectors import engagement_scope_of

        user: Any = request.user
        engagement = Engagement.objects.filter(pk=engagement_id, auditor_id=user.pk).first()
        if engagement is None or not engagement.is_active or not is_auditor(user):
            session.pop(SESSION_KEY, None)
            if engagement is not None:
                messages.warning(
                    request,
                    f"The engagement “{engagement.name}” has ended: its scope is no longer open to you.",
                )
            return redirect("audits:list")
        engagement_enter(user, engagement_scope_of(engagement))
        request.engagement = engagement  # type: ignore[attr-defined]
        return self._respond(request)

    def _respond(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        engagement = getattr(request, "engagement", None)  # the workspace may have just entered one
        if engagement is not None and restricted_read(request.user):
            engagement_read_log(
                user=request.user, engagement=engagement, request=request, status=response.status_code
            )
        return response


def engagement_read_log(*, user: Any, engagement: Any, request: HttpRequest, status: int) -> None:
    """One audit entry per request that read restricted data inside an engagement."""
    from hygiene.middleware import request_context
    from hygiene.services.audit import audit_event

    audit_event(
        action="restricted_read",
        object_type="audits_engagement",
        object_id=str(engagement.pk),
        actor_id=user.pk,
        actor_label=user.get_username(),
        detail={"path": request.path[:300], "query": request.GET.dict(), "status": status},
        context=request_context(request),
    )
