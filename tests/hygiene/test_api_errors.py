"""The API never answers 500 to malformed input: malformed ids are 404, malformed filters 400 naming
the field, and the schema declares the errors every operation may give (issue 7, item 18)."""

import pytest

pytestmark = pytest.mark.django_db

MALFORMED_IDS = [
    ("get", "/api/v1/assets/AAA/"),
    ("get", "/api/v1/assets/AAA/lineage/"),
    ("post", "/api/v1/assets/AAA/retire/"),
    ("patch", "/api/v1/assets/5.4e-60/"),
    ("get", "/api/v1/findings/null/"),
    ("get", "/api/v1/lineage-edges/-1/"),
    ("delete", "/api/v1/lineage-edges/x/"),
    ("get", "/api/v1/scan-sources/1e3/"),
    ("post", "/api/v1/scan-sources/AAA/pull/"),
    ("get", "/api/v1/classification-levels/%C2%B2/"),
    ("delete", "/api/v1/scan-folder-grants/AAA/"),
    ("post", "/api/v1/tokens/AAA/revoke/"),
    ("get", "/api/v1/scans/AAA/"),
    ("post", "/api/v1/scans/AAA/retry/"),
]


@pytest.mark.parametrize(("method", "url"), MALFORMED_IDS)
def test_a_malformed_id_is_a_json_404(api_client, owner, method, url):
    api_client.force_authenticate(owner)

    response = getattr(api_client, method)(url)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_an_id_too_large_for_the_database_is_a_404(api_client, owner):
    api_client.force_authenticate(owner)

    response = api_client.get(f"/api/v1/assets/{10**30}/")

    assert response.status_code == 404


def test_a_malformed_number_in_a_filter_is_a_400_naming_the_field(api_client, owner):
    api_client.force_authenticate(owner)

    response = api_client.get("/api/v1/policy-violations/", {"asset": "5.4e-60"})

    assert response.status_code == 400
    assert list(response.json()) == ["asset"]


@pytest.mark.parametrize("url", ["/api/v1/findings/?asset=%C2%B2", "/findings/?per_page=%C2%B2"])
def test_digits_that_are_not_decimal_numbers_do_not_break_lists(client, owner, url):
    client.force_login(owner)

    assert client.get(url).status_code == 200


def test_the_schema_declares_the_errors_every_operation_may_give(api_client, owner):
    api_client.force_authenticate(owner)

    schema = api_client.get("/api/v1/schema/", {"format": "json"}).json()

    detail = schema["paths"]["/api/v1/assets/{id}/"]["get"]
    create = schema["paths"]["/api/v1/assets/"]["post"]
    upload = schema["paths"]["/api/v1/asset-import/csv/"]["post"]
    assert {"401", "403", "404"} <= set(detail["responses"])
    assert detail["parameters"][0]["schema"]["pattern"] == "^[0-9]+$"
    assert {"400", "401", "403", "404", "415"} <= set(create["responses"])
    assert "413" in upload["responses"]
    error = schema["components"]["schemas"]["Error"]
    assert error["required"] == ["detail"]


def test_a_request_django_refuses_before_any_view_is_answered_in_json(api_client, owner, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    api_client.force_authenticate(owner)
    fields = "&".join(f"findings={n}" for n in range(10))

    response = api_client.post(
        "/api/v1/findings/bulk-status/", fields, content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()
