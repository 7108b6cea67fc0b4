from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from hygiene import selectors
from hygiene.permissions import is_auditor, is_security_lead

COMING_SOON = {
    "inventory": ("Inventory", "Models, datasets, pipelines and endpoints with lineage and classification."),
    "findings": ("Findings", "Deduplicated findings from Trivy, Grype, SARIF, gitleaks and more."),
    "controls": ("Controls", "The AI minimum hygiene baseline, owners, evidence and exceptions."),
    "incidents": ("Incidents", "Incidents with playbooks, escalation paths and drills."),
    "metrics": ("Metrics", "Time to detect, time to remediate, SLA compliance and coverage, as dashboards."),
    "exports": ("Exports", "Evidence bundles, PDF compliance reports and OSCAL assessment results."),
}
# Areas whose pages are still to come; the others are served by their apps.
SOON_AREAS = ["metrics"]


@login_required
def home(request: HttpRequest) -> HttpResponse:
    # Each app's own selectors, so the overview counts exactly what the person may see.
    from assets.selectors import (
        asset_counts_for_user,
        hidden_restricted_count_for_user,
        violation_list_for_user,
    )
    from findings.selectors import (
        finding_list_for_user,
        finding_severity_counts,
        job_list_for_user,
        upload_team_options,
    )

    findings = finding_list_for_user(user=request.user, filters={"status": "open"})
    context = {
        "memberships": selectors.membership_list_for_user(user=request.user),
        "is_security_lead": is_security_lead(request.user),
        "is_auditor": is_auditor(request.user),
        "hidden_restricted": hidden_restricted_count_for_user(user=request.user)
        if is_auditor(request.user)
        else 0,
        "team_count": selectors.team_list_for_user(user=request.user).count(),
        "assets": asset_counts_for_user(user=request.user),
        "violation_count": violation_list_for_user(user=request.user).count(),
        "severity_counts": finding_severity_counts(findings=findings),
        "past_sla_count": findings.past_sla().count(),
        "kev_count": findings.kev().count(),
        "recent_jobs": job_list_for_user(user=request.user).select_related("asset")[:5],
        "may_upload": bool(upload_team_options(user=request.user)),
    }
    return render(request, "hygiene/home.html", context)


@login_required
def coming_soon(request: HttpRequest, area: str) -> HttpResponse:
    title, description = COMING_SOON[area]
    return render(
        request, "hygiene/coming_soon.html", {"title": title, "description": description, "area": area}
    )


def health(request: HttpRequest) -> HttpResponse:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")
