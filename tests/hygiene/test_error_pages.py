"""Refusals and failures are pages of the site that say why; the API answers them in JSON."""

import json

import pytest
from django.db import OperationalError
from django.test import RequestFactory

from hygiene.views import errors
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def test_a_refusal_keeps_the_navigation_and_gives_the_service_reason(client, teammate):
    response = client_for(client, teammate).get("/people/")

    page = response.content.decode()
    assert response.status_code == 403
    assert 'aria-label="Main"' in page
    assert "The people page is for security leads and auditors." in page


def test_a_missing_page_keeps_the_navigation_and_says_what_was_not_found(client, teammate):
    response = client_for(client, teammate).get("/assets/999999/")

    assert response.status_code == 404
    assert "No such asset." in response.content.decode()
    assert 'aria-label="Main"' in response.content.decode()


def test_an_unknown_api_address_answers_json(client, teammate):
    response = client_for(client, teammate).get("/api/v1/no-such-thing/")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_a_server_error_page_keeps_the_header_for_a_signed_in_person(teammate):
    request = RequestFactory().get("/assets/")
    request.user = teammate

    response = errors.server_error(request)

    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()
    assert "teammate" in response.content.decode()


def test_a_csrf_failure_is_a_styled_refusal_that_says_what_to_do(client, teammate):
    client = client_for(client, teammate)
    client.handler.enforce_csrf_checks = True

    response = client.post("/tokens/", {"name": "x"})

    assert response.status_code == 403
    assert "reload the page and try again" in response.content.decode()


@pytest.mark.parametrize("path", ["/assets/", "/api/v1/assets/"])
def test_a_database_that_does_not_answer_is_a_503_to_retry_later(path, teammate):
    """As Django calls the handler: inside the ``except`` of the error (PostgreSQL restarting, see
    tests/adversarial/test_crash_safety.py for the real restart)."""
    request = RequestFactory().get(path)
    request.user = teammate

    try:
        raise OperationalError("server closed the connection unexpectedly")
    except OperationalError:
        response = errors.server_error(request)

    assert response.status_code == 503
    assert response["Retry-After"] == errors.RETRY_AFTER
    if path.startswith("/api/"):
        assert json.loads(response.content) == {"detail": errors.DATABASE_UNAVAILABLE}
    else:
        assert "The database is not answering" in response.content.decode()


def test_other_server_errors_stay_500(teammate):
    request = RequestFactory().get("/api/v1/assets/")

    try:
        raise ValueError("a bug")
    except ValueError:
        response = errors.server_error(request)

    assert response.status_code == 500
