"""The API against its own OpenAPI schema: schemathesis sends generated, often malformed input as a
champion and checks that nothing answers 5xx and every answer is one the schema declares."""

import datetime as dt

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import checks
from schemathesis.generation import GenerationMode

from hygiene.services.tokens import token_create
from tests.factories.assets import AssetFactory

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

EXAMPLES = 15
# No 5xx, and every answer (status, content type, headers, body) as the schema declares it.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]


def _failures_of(operation, mode, headers):
    """(failures, examples run) of one operation in one generation mode."""
    failures = set()
    examples = 0

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        nonlocal examples
        examples += 1
        try:
            response = case.call(headers=headers)
            case.validate_response(response, checks=CHECKS, headers=headers)
        except BaseExceptionGroup as group:  # collected per operation, reported together
            for failure in group.exceptions:
                message = " ".join(str(getattr(failure, "message", failure)).split())[:300]
                title = getattr(failure, "title", type(failure).__name__)
                failures.add(f"{operation.label} ({mode.value}, {response.status_code}): {title}: {message}")

    try:
        run()
    except Unsatisfiable:  # nothing of this operation can be made invalid (no parameters, no body)
        assert mode == GenerationMode.NEGATIVE
    return failures, examples


@pytest.fixture
def wsgi_app():
    # As Django's test client does: the request cycle must not close the test's connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.parametrize("persona", ["owner", "outsider"])
def test_the_api_answers_generated_input_as_its_schema_says(
    persona, owner, outsider, team_a, team_b, wsgi_app, record_property
):
    """As two users (issue 13): team A's champion, and a member of team B whose requests name team A's
    objects (generated ids and slugs hit both teams' rows), so refusals are checked against the schema too."""
    AssetFactory(team=team_a, name="ml-trainer")
    AssetFactory(team=team_b, name="platform-api")
    user = {"owner": owner, "outsider": outsider}[persona]
    _, secret = token_create(
        actor=user,
        name="fuzz",
        team=None,
        actions=["read", "write", "scans:push"],
        expires_at=timezone.now() + dt.timedelta(days=1),
    )
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", wsgi_app)
    headers = {"Authorization": f"Token {secret}"}
    failures = []
    operations = examples = 0
    for result in schema.get_all_operations():
        operations += 1
        for mode in GenerationMode:
            found, ran = _failures_of(result.ok(), mode, headers)
            failures.extend(sorted(found))
            examples += ran
    # How much was tried, in the JUnit report and the output (-rA): the fixed seed makes it the same each run.
    record_property("operations", operations)
    record_property("examples", examples)
    print(f"schemathesis as {persona}: {examples} examples over {operations} operations")
    assert examples >= operations  # every operation was called at least once
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures)
