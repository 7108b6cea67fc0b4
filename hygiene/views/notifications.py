from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from hygiene import selectors
from hygiene.lib.pagination import paginate
from hygiene.services import notifications as services


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    notes = selectors.notification_list_for_user(user=request.user)
    if request.GET.get("show") == "unread":
        notes = notes.filter(read_at__isnull=True)
    show = "unread" if request.GET.get("show") == "unread" else "all"
    query = "show=unread" if show == "unread" else ""
    context = {"page": paginate(request, notes), "show": show, "query": query}
    return render(request, "hygiene/notifications.html", context)


@login_required
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    count = services.notification_mark_read(user=request.user)
    messages.success(request, f"{count} notification{'s' if count != 1 else ''} marked read.")
    return redirect("notifications:list")


@login_required
@require_POST
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one notification read and go where it points (only ever a path on this site)."""
    note = get_object_or_404(selectors.notification_list_for_user(user=request.user), pk=pk)
    services.notification_mark_read(user=request.user, ids=[note.pk])
    return redirect(note.url if services.is_site_path(note.url) else "notifications:list")
