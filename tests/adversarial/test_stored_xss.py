"""Stored XSS: the corpus of ``xss_corpus.py`` is imported (real scans and a real ML-BOM with payloads) and
typed in (asset, incident, control, exception, evidence, engagement, notification); then one browser opens
every page that shows it. On each: no dialog fires (the context bypasses the CSP, so an unescaped payload
would run), no ``javascript:`` link and no ``on*`` attribute is in the DOM, and the page was served with a
Content-Security-Policy. Uploaded HTML and SVG come back as attachments with ``nosniff``."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone

from tests.adversarial.xss_corpus import JS_URL, PAYLOAD, SHORT, hostile_bom, hostile_scans
from tests.browser import sign_in
from tests.factories.hygiene import PASSWORD

# Every element attribute that runs script or follows a link, and every inline script that is not data.
FIND_HOSTILE_DOM = """() => {
  const bad = [];
  for (const el of document.querySelectorAll("*")) {
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      const value = attr.value.replace(/[\\s\\u0000-\\u001f]/g, "").toLowerCase();
      if (name.startsWith("on")) bad.push(`${el.tagName} ${name}`);
      if (/(^|:)(href|src|action|formaction|data)$/.test(name) && value.startsWith("javascript:"))
        bad.push(`${el.tagName} ${name}=${attr.value.slice(0, 40)}`);
    }
    if (el.tagName === "SCRIPT" && !el.src && !/json/.test(el.type || "")) bad.push("inline script");
  }
  return bad;
}"""


def _data_set(team, lead, owner, auditor):
    """Everything the pages will show, made through the services wherever a person would make it."""
    from assets.models import LineageEdge
    from assets.services.assets import asset_create
    from assets.services.imports import bom_import
    from controls.models import Assessment, Evidence
    from findings.services.jobs import job_create, job_run
    from hygiene.models import Notification
    from incidents.models import Category
    from incidents.services import incident_add_note, incident_report
    from tests.factories.audits import EngagementFactory
    from tests.factories.controls import ControlFactory, ExceptionFactory

    asset = asset_create(
        actor=owner,
        team=team,
        name=f"model {PAYLOAD}",
        kind="model",
        tags=[SHORT],
        description=f"{PAYLOAD} [x]({JS_URL})",
        identifiers=[JS_URL],
    )
    upstream = asset_create(actor=owner, team=team, name=f"data {PAYLOAD}", kind="dataset")
    LineageEdge.objects.create(source=upstream, target=asset, kind="derived_from")
    jobs = []
    for name, content in hostile_scans():
        job = job_create(
            actor=owner, team=team, file=io.BytesIO(content), filename=name, asset=asset, enqueue=False
        )
        jobs.append(job_run(job_id=job.pk))
    bom_import(actor=owner, team=team, data=hostile_bom(), asset=asset, source=PAYLOAD)
    now = timezone.now()
    incident = incident_report(
        actor=owner,
        team=team,
        title=f"leak {PAYLOAD}",
        category=Category.CREDENTIAL_LEAK,
        severity="high",
        description=f"{PAYLOAD} {JS_URL}",
        occurred_at=now - dt.timedelta(hours=2),
        detected_at=now - dt.timedelta(hours=1),
        asset_ids=[asset.pk],
    )
    incident_add_note(actor=owner, incident=incident, text=f"{PAYLOAD} <a href='{JS_URL}'>x</a>")
    control = ControlFactory(code="XSS-001", title=f"control {PAYLOAD}", objective=PAYLOAD)
    assessment = Assessment.objects.create(control=control, asset=asset, team=team)
    evidence = Evidence.objects.create(
        assessment=assessment, team=team, kind="file", title=PAYLOAD, filename=f"{PAYLOAD}.html"
    )
    evidence.file.save("drill.html", ContentFile(b"<script>alert(6)</script>"), save=True)
    exception = ExceptionFactory(
        asset=asset, team=team, title=PAYLOAD, justification=PAYLOAD, compensating_controls=PAYLOAD
    )
    engagement = EngagementFactory(name=f"audit {PAYLOAD}", auditor=auditor, opened_by=lead, teams=[team])
    Notification.objects.create(
        recipient=lead, kind="test", title=f"note {PAYLOAD}", body=PAYLOAD, url=JS_URL
    )
    return {
        "asset": asset,
        "upstream": upstream,
        "jobs": jobs,
        "incident": incident,
        "control": control,
        "assessment": assessment,
        "evidence": evidence,
        "exception": exception,
        "engagement": engagement,
    }


def _pages(made) -> list[str]:
    from findings.models import Finding

    findings = [f"/findings/{pk}/" for pk in Finding.objects.order_by("pk").values_list("pk", flat=True)[:12]]
    return [
        "/",
        "/findings/",
        *findings,
        "/findings/imports/",
        *(f"/findings/imports/{job.pk}/" for job in made["jobs"]),
        "/assets/",
        f"/assets/{made['asset'].pk}/",
        f"/assets/{made['upstream'].pk}/",
        "/assets/violations/",
        "/incidents/",
        f"/incidents/{made['incident'].pk}/",
        "/controls/",
        f"/controls/{made['control'].code}/",
        "/controls/assessments/",
        f"/controls/assessments/{made['assessment'].pk}/",
        "/controls/compliance/",
        "/controls/gaps/",
        "/controls/exceptions/",
        f"/controls/exceptions/{made['exception'].pk}/",
        "/audits/",
        f"/audits/{made['engagement'].pk}/",
        "/notifications/",
        "/audit-log/",
    ]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_stored_payloads_never_run_on_any_page(browser, live_server, team_a, lead, owner, auditor):
    made = _data_set(team_a, lead, owner, auditor)
    assert made["jobs"] and all(job.findings_count for job in made["jobs"]), "the corpus must import"
    context = browser.new_context(base_url=live_server.url, bypass_csp=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in(page, lead.username, PASSWORD)
    problems = []
    for url in _pages(made):
        response = page.goto(url)
        assert response is not None
        page.wait_for_load_state("networkidle")
        if response.status != 200:
            problems.append(f"{url}: {response.status}")
        if "content-security-policy" not in response.headers:
            problems.append(f"{url}: no Content-Security-Policy")
        problems += [f"{url}: {found}" for found in page.evaluate(FIND_HOSTILE_DOM)]
        problems += [f"{url}: a dialog fired ({message})" for message in dialogs]
        dialogs.clear()
    context.close()
    assert not problems, "\n".join(problems)


@pytest.mark.django_db
def test_uploaded_html_and_svg_are_served_as_attachments_that_are_never_sniffed(team_a, owner, settings):
    """Evidence files (page and API) and the raw file of a scan import."""
    from controls.models import Assessment
    from findings.services.jobs import job_create
    from tests.factories.assets import AssetFactory
    from tests.factories.controls import ControlFactory

    asset = AssetFactory(team=team_a, name="served")
    assessment = Assessment.objects.create(control=ControlFactory(code="SRV-001"), asset=asset, team=team_a)
    client = Client()
    client.force_login(owner)
    bodies = {
        "page.html": b"<!doctype html><script>alert(1)</script>",
        "image.svg": b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
        "image.svg.png": b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>',
    }
    urls = []
    for name, content in bodies.items():
        client.post(
            f"/controls/assessments/{assessment.pk}/evidence/",
            {
                "kind": "file",
                "title": name,
                "file": ContentFile(content, name=name),
                "collected_on": "2020-01-01",
            },
        )
        job = job_create(
            actor=owner, team=team_a, file=io.BytesIO(content), filename=name, asset=asset, enqueue=False
        )
        urls.append(f"/findings/imports/{job.pk}/raw/")
    for evidence in assessment.evidence.all():
        urls += [f"/controls/evidence/{evidence.pk}/download/", f"/api/v1/evidence/{evidence.pk}/download/"]
    assert len(urls) == 3 * len(bodies)
    problems = []
    for url in urls:
        response = client.get(url)
        disposition = response.get("Content-Disposition", "")
        if response.status_code != 200 or not disposition.startswith("attachment"):
            problems.append(f"{url}: {response.status_code} {disposition!r}")
        if response.get("X-Content-Type-Options") != "nosniff":
            problems.append(f"{url}: no nosniff")
        if "evidence" in url and "sandbox" not in response.get("Content-Security-Policy", ""):
            problems.append(f"{url}: not sandboxed")
        if any(word in response.get("Content-Type", "") for word in ("html", "svg", "xml")):
            problems.append(f"{url}: served as {response['Content-Type']}")
    assert not problems, "\n".join(problems)
