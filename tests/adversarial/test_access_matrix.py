"""Every route x method x persona, generated from the URL conf and the OpenAPI schema, against the one
table in ``matrix.py``. A route or an operation without an entry fails the build."""

from __future__ import annotations

from functools import cache

import pytest
from django.db import transaction

from tests.adversarial import matrix
from tests.adversarial.conftest import PERSONAS
from tests.adversarial.helpers import page_table
from tests.adversarial.routes import (
    fill,
    route_params,
    schema_operations,
    schema_path_to_route,
    shape,
    url_conf_routes,
)

UNDECLARED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# Methods a route does not declare are tried by the most privileged people and by no one at all.
UNDECLARED_PROBES = ("owner", "lead", "anonymous", "token_read_only")
REFUSED = {401, 403, 404, 405, 409, 429, matrix.LOGIN, matrix.NO}


@cache
def _schema() -> dict:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def _api_routes_of_schema() -> set[str]:
    return {shape(schema_path_to_route(path)) for path in _schema()["paths"]}


def test_every_route_of_the_url_conf_has_an_entry_in_the_matrix(db):
    pages = page_table()
    documented = _api_routes_of_schema()
    missing = [
        route
        for route in url_conf_routes()
        if route not in pages and shape(route) not in documented and route not in matrix.API_UNDOCUMENTED
    ]
    assert not missing, "Routes without an entry in tests/adversarial/matrix.py:\n" + "\n".join(missing)


def test_every_operation_of_the_api_schema_has_an_entry_in_the_matrix(db):
    missing = [
        f"{method} {path}"
        for path, method in schema_operations(_schema())
        if method not in matrix.API.get(path, {})
    ]
    assert not missing, "Operations without an entry in tests/adversarial/matrix.py:\n" + "\n".join(missing)


def test_the_matrix_names_no_route_that_does_not_exist(db):
    routes = set(url_conf_routes())
    shapes = {shape(r) for r in routes}
    stale = [r for r in page_table() if r not in routes]
    stale += [p for p in matrix.API if shape(schema_path_to_route(p)) not in shapes]
    stale += [r for r in matrix.API_UNDOCUMENTED if r not in routes]
    assert not stale, "Entries of matrix.py for routes that no longer exist:\n" + "\n".join(stale)


def test_every_entry_declares_every_persona(db):
    incomplete = []
    for name, table in (
        ("PAGES", page_table()),
        ("API", matrix.API),
        ("API_UNDOCUMENTED", matrix.API_UNDOCUMENTED),
    ):
        for route, entry in table.items():
            for method, expected in entry.items():
                if method.isupper() and set(expected) != set(PERSONAS):
                    incomplete.append(f"{name} {method} {route}: {sorted(set(PERSONAS) ^ set(expected))}")
    assert not incomplete, "\n".join(incomplete)


def outcome(response) -> str | int:
    status = response.status_code
    location = response.get("Location", "")
    if status in (301, 302, 303) and ("/accounts/login" in location or "/admin/login" in location):
        return matrix.LOGIN
    if status in (401, 403, 404, 405) or status >= 500:
        return status
    if status in (301, 302, 303):
        from django.contrib.messages import ERROR, get_messages

        # Only what this request said: a message left unread by an earlier request of the same client
        # (a GET refused with an error) must not turn this answer into a refusal.
        storage = get_messages(response.wsgi_request)
        said = getattr(storage, "_queued_messages", None)
        said_no = any(m.level >= ERROR for m in (said if said is not None else storage))
        return matrix.NO if said_no else matrix.OK
    if status < 400:
        return matrix.OK
    return status


def _cases():
    for route, entry in sorted(page_table().items()):
        yield pytest.param(route, entry, False, id=f"page:{route or '/'}")
    for route, entry in sorted(matrix.API_UNDOCUMENTED.items()):
        yield pytest.param(route, entry, True, id=f"api:{route}")
    for path, entry in sorted(matrix.API.items()):
        yield pytest.param(schema_path_to_route(path), entry, True, id=f"api:{path}")


def _request(client, method: str, url: str, api: bool, entry: dict, world):
    call = getattr(client, method.lower())
    body = entry["body"](world) if "body" in entry and method in ("POST", "PUT", "PATCH") else {}
    if api and method in ("POST", "PUT", "PATCH"):
        return call(url, body, format="multipart" if entry.get("multipart") else "json")
    if method == "POST":
        return call(url, body)
    return call(url)


def _renders_page(method: str) -> bool:
    """Pages that only show something answer any method with the page itself (nothing is written):
    PROBE: recorded below while the matrix is being filled."""
    return True


@pytest.mark.parametrize(("route", "entry", "api"), list(_cases()))
def test_route_answers_each_persona_as_the_matrix_declares(route, entry, api, world):
    params = route_params(route)
    values = world.objects[entry["object"]] if params else {}
    url = fill(route, values)
    declared = [m for m in entry if m.isupper()]
    mismatches = []
    clients = {persona: world.client(persona, api=api) for persona in PERSONAS}
    for method in UNDECLARED_METHODS:
        for persona in PERSONAS if method in declared else UNDECLARED_PROBES:
            # Each request in a rolled-back savepoint: one persona's write changes nothing the next sees.
            with transaction.atomic():
                response = _request(clients[persona], method, url, api, entry, world)
                transaction.set_rollback(True)
            got = outcome(response)
            if method in declared:
                want = entry[method][persona]
                if got != want:
                    mismatches.append(
                        f"{method} {url} as {persona}: got {got} ({response.status_code}), want {want}"
                    )
            elif got not in REFUSED and not (not api and got == matrix.OK and _renders_page(method)):
                mismatches.append(
                    f"{method} {url} as {persona}: undeclared method answered {response.status_code}"
                )
    assert not mismatches, f"{len(mismatches)} mismatches:\n" + "\n".join(mismatches)


def test_framework_requirements_answer_a_page_not_a_server_error(world):
    """Defect found here: GET /api/v1/frameworks/{slug}/requirements/ answered 500 (no paginator)."""
    from controls.models import Framework, Requirement

    framework = Framework.objects.create(slug="req-framework", name="R")
    Requirement.objects.create(framework=framework, identifier="r-1", title="One")
    response = world.client("owner", api=True).get(f"/api/v1/frameworks/{framework.slug}/requirements/")
    assert response.status_code == 200
    assert response.json()["count"] == 1
