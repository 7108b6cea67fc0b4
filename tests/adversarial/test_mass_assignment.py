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
