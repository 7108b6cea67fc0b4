"""Extra fields in form and API bodies (team, owner, created_by, status, is_staff, role, approver...) are
ignored or refused. Generated from the matrix: every write that has a body and that team A's champion may
make is sent again with the extras added; afterwards nothing belongs to team B that did not before, the
champion gained no privilege, no chosen id was taken, and nothing answered 5xx."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import transaction

from tests.adversarial import matrix
from tests.adversarial.helpers import page_table
from tests.adversarial.routes import fill, route_params, schema_path_to_route

CHOSEN_ID = 987654


def _extras(world) -> dict:
    outsider = world.users["outsider"]
    return {
        "id": CHOSEN_ID,
        "pk": CHOSEN_ID,
        "team_id": outsider.memberships.first().team_id,
        "owner": outsider.username,
        "created_by": outsider.pk,
        "uploaded_by": outsider.pk,
        "granted_by": outsider.pk,
        "requested_by": outsider.pk,
        "approver": outsider.username,
        "approved_by": outsider.pk,
        "status": "done",
        "is_staff": True,
        "is_superuser": True,
        "role": "Security lead",
        "groups": ["Security lead"],
        "is_restricted": False,
        "effective_classification": "public",
        "revoked_at": "2000-01-01T00:00:00Z",
    }


def _writes():
    for route, entry in sorted(page_table().items()):
        for method in ("POST",):
            if "body" in entry and entry.get(method, {}).get("owner") == matrix.OK:
                yield pytest.param(route, entry, method, False, id=f"page:{method}:{route}")
    for path, entry in sorted(matrix.API.items()):
        for method in ("POST", "PUT", "PATCH"):
            if "body" in entry and entry.get(method, {}).get("owner") == matrix.OK:
                yield pytest.param(schema_path_to_route(path), entry, method, True, id=f"api:{method}:{path}")


def _team_b_rows(team_b_id: int) -> dict[str, int]:
    counts = {}
    for model in apps.get_models():
        if any(f.name == "team" and f.is_relation for f in model._meta.get_fields()):
            counts[model._meta.label] = model._default_manager.filter(team_id=team_b_id).count()
    return counts


@pytest.mark.parametrize(("route", "entry", "method", "api"), list(_writes()))
def test_extra_fields_are_ignored_or_refused(world, route, entry, method, api):
    owner = world.users["owner"]
    team_b_id = world.users["outsider"].memberships.first().team_id
    url = fill(route, world.objects[entry["object"]] if route_params(route) else {})
    before_groups = set(owner.groups.values_list("name", flat=True))
    before_rows = _team_b_rows(team_b_id)
    body = {**entry["body"](world), **_extras(world)}
    client = world.client("owner", api=api)
    with transaction.atomic():
        call = getattr(client, method.lower())
        if api:
            response = call(url, body, format="multipart" if entry.get("multipart") else "json")
        else:
            response = call(url, body)
        assert response.status_code < 500, response.content[:300]
        owner.refresh_from_db()
        assert not owner.is_staff and not owner.is_superuser
        assert set(owner.groups.values_list("name", flat=True)) == before_groups
        assert _team_b_rows(team_b_id) == before_rows
        for model in apps.get_models():
            if model._meta.pk.get_internal_type() in ("AutoField", "BigAutoField") and model._meta.managed:
                assert not model._default_manager.filter(pk=CHOSEN_ID).exists(), model._meta.label
        transaction.set_rollback(True)


# The writes of controls, incidents and audits whose result a test can read back: each is sent with the
# extras above plus the fields of its own model that only the product may set, and the row it made must
# carry the product's values, not the sender's. (persona, page or API, url, body, how to find the row,
# what the row must say.)
def _soon(days: int = 30) -> str:
    import datetime as dt

    return (dt.date.today() + dt.timedelta(days=days)).isoformat()


def _ago(hours: int) -> str:
    import datetime as dt

    from django.utils import timezone

    return (timezone.now() - dt.timedelta(hours=hours)).isoformat(timespec="minutes")[:16]


def _new(label: str):
    return lambda w, before: apps.get_model(label)._default_manager.exclude(pk__in=before).get()


_INCIDENT = lambda w: {  # noqa: E731
    "title": "Token in a notebook",
    "category": "credential_leak",
    "severity": "high",
    "description": "Found by a scan.",
    "occurred_at": _ago(3),
    "detected_at": _ago(2),
}
_EXCEPTION_PAGE = lambda w: matrix.F_EXCEPTION(w)  # noqa: E731
_OWNER_SET = {
    "reporter": "owner",
    "requested_by": "owner",
    "collected_by": "owner",
    "opened_by": "lead",
}
OWN_FIELDS = {  # fields only the product sets, with the hostile values the sender tries
    "status": "closed",
    "commander": "outsider",
    "reporter": "outsider",
    "is_restricted": False,
    "restricted": False,
    "closed_at": "2000-01-01T00:00:00Z",
    "decided_by": "outsider",
    "decided_at": "2000-01-01T00:00:00Z",
    "decision_comment": "approved by nobody",
    "collected_by": "outsider",
    "sha256": "0" * 64,
    "size_bytes": 1,
    "content_type": "text/html",
    "ended_at": "2000-01-01T00:00:00Z",
    "opened_by": "outsider",
    "retired_at": "2000-01-01T00:00:00Z",
    "from_baseline": True,
}

TARGETED = {
    "page: report an incident": (
        "owner",
        False,
        lambda w: "/incidents/report/",
        lambda w: {**_INCIDENT(w), "team": "research"},
        "incidents.Incident",
        {
            "status": "reported",
            "team__slug": "research",
            "reporter__username": "owner",
            "commander": None,
            "closed_at": None,
        },
    ),
    "API: report an incident": (
        "owner",
        True,
        lambda w: "/api/v1/incidents/",
        lambda w: {**_INCIDENT(w), "team": "research"},
        "incidents.Incident",
        {
            "status": "reported",
            "team__slug": "research",
            "reporter__username": "owner",
            "commander": None,
            "closed_at": None,
        },
    ),
    "API: a note on an incident": (
        "owner",
        True,
        lambda w: f"/api/v1/incidents/{w.objects['incident']['pk']}/notes/",
        lambda w: {
            "text": "Rotated the key.",
            "actor": "outsider",
            "kind": "status",
            "incident": 0,
            "recorded_at": "2000-01-01T00:00:00Z",
        },
        "incidents.TimelineEntry",
        {"actor__username": "owner", "kind": "note", "incident_id": lambda w: w.objects["incident"]["pk"]},
    ),
    "page: request an exception": (
        "owner",
        False,
        lambda w: "/controls/exceptions/new/",
        _EXCEPTION_PAGE,
        "controls.RiskException",
        {
            "status": "requested",
            "team__slug": "research",
            "requested_by__username": "owner",
            "decided_by": None,
            "decided_at": None,
        },
    ),
    "API: request an exception": (
        "owner",
        True,
        lambda w: "/api/v1/exceptions/",
        matrix.J_EXCEPTION,
        "controls.RiskException",
        {
            "status": "requested",
            "team__slug": "research",
            "requested_by__username": "owner",
            "decided_by": None,
            "decided_at": None,
        },
    ),
    "API: attach evidence": (
        "owner",
        True,
        lambda w: f"/api/v1/assessments/{w.objects['assessment']['pk']}/evidence/",
        matrix.J_EVIDENCE,
        "controls.Evidence",
        {"team__slug": "research", "collected_by__username": "owner", "sha256": "", "content_type": ""},
    ),
    "page: attach evidence": (
        "owner",
        False,
        lambda w: f"/controls/assessments/{w.objects['assessment']['pk']}/evidence/",
        matrix.F_EVIDENCE,
        "controls.Evidence",
        {"team__slug": "research", "collected_by__username": "owner", "sha256": "", "content_type": ""},
    ),
    "API: add a control": (
        "lead",
        True,
        lambda w: "/api/v1/controls/",
        matrix.J_CONTROL,
        "controls.Control",
        {"retired_at": None, "from_baseline": False},
    ),
    "API: open an engagement": (
        "lead",
        True,
        lambda w: "/api/v1/engagements/",
        lambda w: {
            "name": "ISO audit",
            "auditor": "auditor",
            "period_start": _soon(-30),
            "period_end": _soon(0),
            "ends_at": f"{_soon(7)}T00:00:00Z",
            "teams": ["research"],
        },
        "audits.Engagement",
        {"opened_by__username": "lead", "ended_at": None},
    ),
    "page: open an engagement": (
        "lead",
        False,
        lambda w: "/audits/new/",
        lambda w: {
            "name": "ISO audit",
            "auditor": w.users["auditor"].pk,
            "period_start": _soon(-30),
            "period_end": _soon(0),
            "ends_on": _soon(7),
            "ends_at": _soon(7),
            "teams": [w.users["owner"].memberships.first().team_id],
        },
        "audits.Engagement",
        {"opened_by__username": "lead", "ended_at": None},
    ),
}


@pytest.mark.parametrize("case", list(TARGETED))
def test_fields_only_the_product_sets_are_not_taken_from_the_sender(world, case):
    persona, api, url, body, label, expected = TARGETED[case]
    model = apps.get_model(label)
    before = list(model._default_manager.values_list("pk", flat=True))
    hostile = {**_extras(world), **OWN_FIELDS}
    hostile = {k: v for k, v in hostile.items() if k not in body(world)}
    client = world.client(persona, api=api)
    if api:
        response = client.post(url(world), {**body(world), **hostile}, format="json")
    else:
        response = client.post(url(world), {**body(world), **hostile})
    assert response.status_code < 400 or response.status_code == 201, (
        response.status_code,
        response.content[:400],
    )
    made = model._default_manager.exclude(pk__in=before)
    assert made.count() == 1, f"{case}: {made.count()} rows made ({response.status_code})"
    values = {key: (value(world) if callable(value) else value) for key, value in expected.items()}
    assert made.filter(**values).exists(), f"{case}: {list(made.values(*[k.split('__')[0] for k in values]))}"
