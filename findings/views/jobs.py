"""Pages of the import pipeline: upload a scan, follow its job, list recent imports."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from findings import selectors
from findings.errors import ImportFailed, ScanTooLarge
from findings.forms import ScanUploadForm
from findings.models import JobStatus
from findings.services import jobs as services
from findings.uploads import scan_max_bytes
from hygiene.lib.forms import add_validation_errors
from hygiene.lib.pagination import paginate
from hygiene.lib.uploads import bounded_upload, close_connection


def _upload_context(request: HttpRequest, form: ScanUploadForm) -> dict[str, Any]:
    return {
        "form": form,
        "asset_options": selectors.upload_asset_options(user=request.user),
        "max_size": services.human_size(settings.HYGIENE_SCAN_MAX_BYTES),
    }


def _refuse_too_large(request: HttpRequest) -> HttpResponse:
    messages.error(request, services.too_large_message(None))
    form = ScanUploadForm(teams=selectors.upload_team_options(user=request.user))
    response = render(request, "findings/upload.html", _upload_context(request, form), status=413)
    # The rest of an oversized body is not read; the client must not reuse the connection.
    return close_connection(request, response)


@login_required
@bounded_upload(scan_max_bytes, _refuse_too_large)
def scan_upload(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _scan_upload_post(request)
    return _scan_upload_get(request)


def _scan_upload_get(request: HttpRequest) -> HttpResponse:
    teams = selectors.upload_team_options(user=request.user)
    if not teams:
        raise PermissionDenied(
            "Only members of a team import scans into it; auditors read them. Ask a team lead to add you."
        )
    form = ScanUploadForm(teams=teams, initial={"asset": request.GET.get("asset", "")})
    return render(request, "findings/upload.html", _upload_context(request, form))


def _scan_upload_post(request: HttpRequest) -> HttpResponse:
    teams = selectors.upload_team_options(user=request.user)
    form = ScanUploadForm(request.POST, request.FILES, teams=teams)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            team, asset = services.upload_destination(
                user=request.user, asset_ref=form.cleaned_data["asset"], team_slug=form.cleaned_data["team"]
            )
            job = services.job_create(
                actor=request.user,
                team=team,
                asset=asset,
                file=upload,
                filename=upload.name or "scan",
                requested_format=form.cleaned_data["format"],
                sha256=getattr(upload, "sha256", ""),
                size=upload.size,
            )
        except Http404 as exc:
            form.add_error("asset", str(exc) or "No such asset.")
        except ScanTooLarge:
            return _refuse_too_large(request)
        except ValidationError as exc:
            add_validation_errors(form, exc)
        except (ImportFailed, PermissionDenied) as exc:
            form.add_error(None, str(exc) or "You may not import scans for this team.")
        else:
            messages.success(request, f"“{job.filename}” received: import #{job.pk} is queued.")
            return redirect(job)
    messages.error(request, "The scan was not uploaded: see what to correct below.")
    return render(request, "findings/upload.html", _upload_context(request, form), status=400)


@login_required
def job_list(request: HttpRequest) -> HttpResponse:
    jobs = selectors.job_list_for_user(user=request.user)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": paginate(request, jobs),
        "query": query.urlencode(),
        "may_upload": bool(selectors.upload_team_options(user=request.user)),
    }
    return render(request, "findings/job_list.html", context)


@login_required
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = selectors.job_get_for_user(user=request.user, pk=pk)
    context = {
        "job": job,
        "running": job.status in (JobStatus.QUEUED, JobStatus.RUNNING),
        "duration": services.job_duration_seconds(job),
        "size": services.human_size(job.size_bytes),
        "format_label": services.format_label(job.format) if job.format else "",
        "can_retry": job.status == JobStatus.FAILED and services.may_push(request.user, team_id=job.team_id),
        "probes": list(selectors.job_probes(job=job)) if job.status == JobStatus.DONE else [],
        "check_types": selectors.check_type_labels(job.check_types),
    }
    return render(request, "findings/job_detail.html", context)


@login_required
@require_POST
def job_retry(request: HttpRequest, pk: int) -> HttpResponse:
    job = selectors.job_get_for_user(user=request.user, pk=pk)
    try:
        retry = services.job_retry(actor=request.user, job=job)
    except (ValidationError, ImportFailed) as exc:
        messages.error(request, exc.messages[0] if isinstance(exc, ValidationError) else str(exc))
        return redirect(job)
    messages.success(request, f"Import #{job.pk} is tried again as import #{retry.pk}.")
    return redirect(retry)


@login_required
def job_raw_file(request: HttpRequest, pk: int) -> FileResponse:
    """The file as it was uploaded, always as a download (scanner output is never rendered)."""
    job = selectors.job_get_for_user(user=request.user, pk=pk)
    if not job.raw_file:
        raise Http404("The raw file of this import is not kept.")
    response = FileResponse(
        job.raw_file.open("rb"),
        as_attachment=True,
        filename=job.filename,
        content_type="application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
