"""The findings list (filters, search, counts, bulk status changes) and the finding page."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from findings import selectors
from findings.forms import BulkStatusForm, FindingFilterForm
from findings.models import FindingStatus
from findings.services.findings import finding_bulk_set_status, may_triage_findings_of
from hygiene import selectors as hygiene_selectors
from hygiene.lib.pagination import paginate
from hygiene.lib.redirects import safe_next
from hygiene.permissions import is_auditor, is_security_lead, member_team_ids, token_allows


class _Counted:
    """A queryset whose row count is already known, for the paginator; its pages are read through
    ``selectors.finding_slice`` (which reads an EPSS-sorted page without sorting every match)."""

    def __init__(
        self, queryset: Any, count: int, sort: str | None = None, newest_ids: list[int] | None = None
    ) -> None:
        self._queryset = queryset
        self._count = count
        self._sort = sort
        # The rows' ids in list order when the count read them (a list asking each finding's history,
        # sorted newest first): a page is then read by id, without asking the history again.
        self._ids = newest_ids if sort == "newest" else None
        self.ordered = True

    def count(self) -> int:
        return self._count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, slice) and key.stop is not None and key.step is None:
            start = key.start or 0
            if self._ids is not None and key.stop <= len(self._ids):
                return selectors.findings_by_ids(self._ids[start : key.stop])
            return selectors.finding_slice(self._queryset, sort=self._sort, start=start, stop=key.stop)
        return self._queryset[key]


def _team_choices(request: HttpRequest) -> list[tuple[str, str]]:
    return [(team.slug, team.name) for team in hygiene_selectors.team_list_for_user(user=request.user)]


def _may_change_some(user: Any) -> bool:
    """Whether to offer bulk actions at all (the service still checks every finding)."""
    if is_auditor(user) or not token_allows(user, "write"):
        return False
    return is_security_lead(user) or bool(member_team_ids(user))


@login_required
def finding_list(request: HttpRequest) -> HttpResponse:
    data = request.GET.copy()
    if "status" not in data:
        data["status"] = FindingStatus.OPEN  # what needs doing, unless people ask for more
    form = FindingFilterForm(data, teams=_team_choices(request))
    filters = form.filters()
    findings = selectors.finding_list_for_user(user=request.user, filters=filters)
    # The counts beside the list already say how many rows match: no second COUNT over the table.
    counts = selectors.finding_list_counts(user=request.user, filters=filters)
    query = request.GET.copy()
    query.pop("page", None)
    severity_query = query.copy()
    severity_query.pop("severity", None)
    context = {
        "form": form,
        "page": paginate(
            request,
            _Counted(findings, counts.total, filters.get("sort"), counts.newest_ids),
            count_capped=counts.total_capped,
        ),
        "query": query.urlencode(),
        "severity_query": severity_query.urlencode(),
        "counts": counts.rows,
        "uncounted": any(count is None for _, _, count, _ in counts.rows),
        "selected_severity": filters.get("severity", ""),
        "bulk_form": BulkStatusForm() if _may_change_some(request.user) else None,
        "today": timezone.localdate(),
        "next": request.get_full_path(),
        "upload_url": reverse("findings:upload") if selectors.upload_team_options(user=request.user) else "",
    }
    return render(request, "findings/finding_list.html", context)


@login_required
def finding_detail(request: HttpRequest, pk: int) -> HttpResponse:
    finding = selectors.finding_get_for_user(user=request.user, pk=pk)
    may_change = may_triage_findings_of(request.user, finding.asset)
    context = {
        "finding": finding,
        "history": selectors.finding_history(finding=finding),
        "today": timezone.localdate(),
        "kev_window_days": settings.HYGIENE_KEV_WINDOW_DAYS,
        "past_sla": finding.status == FindingStatus.OPEN
        and finding.sla_due is not None
        and finding.sla_due < timezone.localdate(),
        "advisory_url": finding.url if finding.url.lower().startswith(("https://", "http://")) else "",
        "bulk_form": BulkStatusForm(initial={"action": _likely_action(finding.status)})
        if may_change
        else None,
        "next": request.get_full_path(),
    }
    return render(request, "findings/finding_detail.html", context)


def _likely_action(status: str) -> str:
    """Offer reopening first for a finding that is not open, marking false positive otherwise."""
    return FindingStatus.FALSE_POSITIVE if status == FindingStatus.OPEN else FindingStatus.OPEN


def _back(request: HttpRequest) -> str:
    return safe_next(request, "findings:list", candidate=request.POST.get("next", ""))


@login_required
@require_POST
def finding_bulk_status(request: HttpRequest) -> HttpResponse:
    form = BulkStatusForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(_back(request))
    try:
        result = finding_bulk_set_status(
            actor=request.user,
            finding_ids=form.cleaned_data["finding"],
            status=form.cleaned_data["action"],
            reason=form.cleaned_data["reason"],
        )
    except PermissionDenied as exc:
        messages.error(request, str(exc) or "You may not change these findings.")
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        verb = "marked false positive" if result.status == FindingStatus.FALSE_POSITIVE else "reopened"
        text = f"{result.changed} finding{'s' if result.changed != 1 else ''} {verb}."
        if result.unchanged:
            text += f" {result.unchanged} left as they were (already so, or risk accepted)."
        messages.success(request, text)
    return redirect(_back(request))
