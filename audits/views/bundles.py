"""Evidence bundles (request, progress, download), the PDF report, OSCAL results and the verify page."""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from audits import selectors
from audits.forms import VerifyForm
from audits.models import BundleStatus, Engagement, EvidenceBundle
from audits.services import signing
from audits.services.bundles import bundle_request, may_request_bundle
from audits.services.oscal import engagement_oscal
from audits.services.records import engagement_records
from audits.services.report import engagement_report_pdf
from audits.services.verify import bundle_verify
from audits.views.engagements import refuse
from hygiene.lib.uploads import bounded_upload
from hygiene.permissions import is_security_lead, sees_all_teams
from hygiene.services.audit import audit_event


def _readable(request: HttpRequest, engagement: Engagement) -> str:
    """Why ``request.user`` may not take this engagement's data away, or "" when they may."""
    if may_request_bundle(request.user, engagement):
        return ""
    if not engagement.is_active:
        return f"The engagement “{engagement.name}” has ended; its data can no longer be exported."
    return "Only the engagement's auditor and security leads export its data."


@login_required
@require_POST
def bundle_create(request: HttpRequest, pk: int) -> HttpResponse:
    engagement = selectors.engagement_get_for_user(user=request.user, pk=pk)
    try:
        bundle = bundle_request(actor=request.user, engagement=engagement)
    except PermissionDenied as exc:
        return refuse(request, str(exc))
    messages.info(request, "The evidence bundle is being built; this page follows it.")
    return redirect(bundle)


@login_required
def bundle_detail(request: HttpRequest, pk: int) -> HttpResponse:
    bundle = selectors.bundle_get_for_user(user=request.user, pk=pk)
    return render(
        request,
        "audits/bundle_detail.html",
        {"bundle": bundle, "running": not bundle.is_finished, "fingerprint": signing.key_fingerprint()},
    )


@login_required
def bundle_status(request: HttpRequest, pk: int) -> JsonResponse:
    bundle = selectors.bundle_get_for_user(user=request.user, pk=pk)
    return JsonResponse(
        {"id": bundle.pk, "status": bundle.status, "progress": bundle.progress, "step": bundle.step}
    )


@login_required
def bundle_download(request: HttpRequest, pk: int) -> HttpResponse:
    bundle = selectors.bundle_get_for_user(user=request.user, pk=pk)
    reason = _readable(request, bundle.engagement)
    if reason:
        return refuse(request, reason)
    if bundle.status != BundleStatus.DONE or not bundle.file:
        return refuse(request, "This bundle is not ready (or its build failed).", status=409)
    return bundle_file_response(bundle, request.user)


def bundle_file_response(bundle: EvidenceBundle, user: object) -> FileResponse:
    audit_event(
        action="download",
        object_type="audits_evidencebundle",
        object_id=str(bundle.pk),
        actor_id=getattr(user, "pk", None),
        actor_label=str(getattr(user, "username", "")),
        detail={"engagement": bundle.engagement_id, "sha256": bundle.sha256},
    )
    return FileResponse(bundle.file.open("rb"), as_attachment=True, filename=bundle.filename)


@login_required
def report_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    engagement = selectors.engagement_get_for_user(user=request.user, pk=pk)
    reason = _readable(request, engagement)
    if reason:
        return refuse(request, reason)
    pdf = engagement_report_pdf(engagement=engagement, actor=request.user)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="audit-report-{engagement.pk}.pdf"'
    return response


@login_required
def oscal_json(request: HttpRequest, pk: int) -> HttpResponse:
    engagement = selectors.engagement_get_for_user(user=request.user, pk=pk)
    reason = _readable(request, engagement)
    if reason:
        return refuse(request, reason)
    document = engagement_oscal(engagement=engagement, actor=request.user)
    response = HttpResponse(json.dumps(document, indent=1), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="assessment-results-{engagement.pk}.json"'
    return response


def _verify_max_bytes() -> int:
    return int(settings.HYGIENE_BUNDLE_VERIFY_MAX_BYTES)


def _verify_too_large(request: HttpRequest) -> HttpResponse:
    limit = _verify_max_bytes() // (1024 * 1024)
    messages.error(request, f"The file is larger than the {limit} MB a bundle may be; nothing was read.")
    return redirect("audits:verify")


@login_required
@bounded_upload(_verify_max_bytes, _verify_too_large)
def verify_page(request: HttpRequest) -> HttpResponse:
    """Anyone who oversees (leads, auditors) can check a bundle here; nothing of it is kept or extracted."""
    if not sees_all_teams(request.user):
        return refuse(request, "Verifying evidence bundles is for security leads and auditors.")
    form = VerifyForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        report = bundle_verify(source=upload.file, check_live_log=True)
        audit_event(
            action="bundle_verify",
            object_type="audits_evidencebundle",
            actor_id=request.user.pk,
            actor_label=request.user.get_username(),
            detail={"filename": upload.name[:200], "ok": report.ok, "problems": report.problems()[:50]},
        )
    context = {
        "form": form,
        "report": report,
        "public_key_pem": signing.public_key_pem(),
        "fingerprint": signing.key_fingerprint(),
        "is_lead": is_security_lead(request.user),
    }
    status = 422 if report is not None and not report.ok else 200
    return render(request, "audits/verify.html", context, status=status)


@login_required
def section_records(request: HttpRequest, pk: int, key: str, export_format: str) -> HttpResponse:
    """One section's in-scope records of the engagement as CSV or JSON (what its bundle holds)."""
    engagement = selectors.engagement_get_for_user(user=request.user, pk=pk)
    reason = _readable(request, engagement)
    if reason:
        return refuse(request, reason)
    export = engagement_records(
        engagement=engagement, actor=request.user, key=key, export_format=export_format
    )
    response = StreamingHttpResponse(export.chunks, content_type=export.content_type)
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    return response
