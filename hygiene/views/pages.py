from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

COMING_SOON = {
    "inventory": ("Inventory", "Models, datasets, pipelines and endpoints with lineage and classification."),
    "findings": ("Findings", "Deduplicated findings from Trivy, Grype, SARIF, gitleaks and more."),
    "controls": ("Controls", "The AI minimum hygiene baseline, owners, evidence and exceptions."),
    "incidents": ("Incidents", "Incidents with playbooks, escalation paths and drills."),
    "exports": ("Exports", "Evidence bundles, PDF compliance reports and OSCAL assessment results."),
}
# Areas whose pages are still to come; the others (metrics is the overview) are served by their apps.
SOON_AREAS: list[str] = []


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
