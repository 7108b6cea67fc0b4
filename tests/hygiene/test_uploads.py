"""Every upload path (scans, BOMs, asset CSVs; page and API) goes through one bounded handler: an
oversized body is refused on its Content-Length before it is read, and a longer one is cut off at the cap."""

import http.client
import io

import pytest
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.test.client import encode_multipart
from django.urls import reverse

from assets.models import Asset
from findings.models import ImportJob

pytestmark = pytest.mark.django_db

LIMIT = 100 * 1024
MULTIPART = "multipart/form-data; boundary=BoUnDaRy"


class CountingInput(io.BytesIO):
    """The request body, counting what the server read of it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.consumed = 0

    def read(self, size=-1):
        chunk = super().read(size)
        self.consumed += len(chunk)
        return chunk

    def readline(self, size=-1):
        line = super().readline(size)
        self.consumed += len(line)
        return line


@pytest.fixture
def limits(settings):
    settings.HYGIENE_SCAN_MAX_BYTES = LIMIT
    settings.HYGIENE_BOM_MAX_BYTES = LIMIT
    settings.HYGIENE_ASSET_CSV_MAX_BYTES = LIMIT


UPLOADS = [
    ("scan page", lambda: reverse("findings:upload"), False),
    ("BOM page", lambda: reverse("assets:import-bom"), False),
    ("CSV page", lambda: reverse("assets:import-csv"), False),
    ("scan API", lambda: "/api/v1/scans/", True),
    ("BOM API", lambda: "/api/v1/asset-import/bom/", True),
    ("CSV API", lambda: "/api/v1/asset-import/csv/", True),
]


def _client(client, api_client, user, is_api):
    if is_api:
        api_client.force_authenticate(user)
        return api_client
    client.force_login(user)
    return client


def _body(size: int, team_slug: str) -> bytes:
    upload = io.BytesIO(b"x" * size)
    upload.name = "big.json"
    return encode_multipart("BoUnDaRy", {"file": upload, "team": team_slug, "environment": "development"})


@pytest.mark.parametrize(("name", "url", "is_api"), UPLOADS, ids=[u[0] for u in UPLOADS])
def test_a_body_declared_over_the_cap_is_refused_before_any_of_it_is_read(
    client, api_client, owner, team_a, limits, name, url, is_api
):
    body = CountingInput(_body(1024, team_a.slug))

    response = _client(client, api_client, owner, is_api).generic(
        "POST",
        url(),
        b"",
        content_type=MULTIPART,
        CONTENT_TYPE=MULTIPART,
        CONTENT_LENGTH=str(300 * 1024 * 1024),
        **{"wsgi.input": body},
    )

    assert response.status_code == 413
    assert "larger than" in response.content.decode()
    assert body.consumed == 0
    assert not Asset.objects.exists() and not ImportJob.objects.exists()


@pytest.mark.parametrize(("name", "url", "is_api"), UPLOADS, ids=[u[0] for u in UPLOADS])
def test_a_body_longer_than_the_cap_is_cut_off_at_the_cap(
    client, api_client, owner, team_a, limits, name, url, is_api, monkeypatch
):
    written = []
    receive = TemporaryFileUploadHandler.receive_data_chunk

    def spy(self, raw_data, start):
        written.append(len(raw_data))
        return receive(self, raw_data, start)

    monkeypatch.setattr(TemporaryFileUploadHandler, "receive_data_chunk", spy)
    # Declared within the cap and the form's overhead, but the file itself passes the cap.
    data = _body(LIMIT + 60 * 1024, team_a.slug)
    body = CountingInput(data)

    response = _client(client, api_client, owner, is_api).generic(
        "POST",
        url(),
        b"",
        content_type=MULTIPART,
        CONTENT_TYPE=MULTIPART,
        CONTENT_LENGTH=str(len(data)),
        **{"wsgi.input": body},
    )

    assert response.status_code == 413
    assert "larger than" in response.content.decode()
    assert written == [] or sum(written) <= LIMIT
    assert not Asset.objects.exists() and not ImportJob.objects.exists()


def test_an_oversized_scan_upload_under_the_development_server_answers_with_the_message(
    live_server, client, owner, team_a, settings
):
    """``make run`` serves through Django's development server, which refuses a Connection header."""
    settings.HYGIENE_SCAN_MAX_BYTES = 2000
    client.force_login(owner)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    body = _body(100 * 1024, team_a.slug)
    connection = http.client.HTTPConnection(live_server.thread.host, live_server.thread.port, timeout=30)

    connection.request(
        "POST",
        reverse("findings:upload"),
        body=body,
        headers={
            "Content-Type": "multipart/form-data; boundary=BoUnDaRy",
            "Cookie": f"{settings.SESSION_COOKIE_NAME}={session}",
        },
    )
    response = connection.getresponse()

    assert response.status == 413
    assert "larger than the" in response.read().decode()
    connection.close()


def test_files_sent_where_no_upload_is_expected_stop_at_the_default_cap(
    api_client, owner, settings, monkeypatch
):
    settings.HYGIENE_UPLOAD_DEFAULT_MAX_BYTES = LIMIT
    written = []
    receive = TemporaryFileUploadHandler.receive_data_chunk

    def spy(self, raw_data, start):
        written.append(len(raw_data))
        return receive(self, raw_data, start)

    monkeypatch.setattr(TemporaryFileUploadHandler, "receive_data_chunk", spy)
    api_client.force_authenticate(owner)
    upload = io.BytesIO(b"x" * (4 * LIMIT))
    upload.name = "junk.bin"

    response = api_client.post("/api/v1/assets/", {"name": "x", "file": upload}, format="multipart")

    assert response.status_code == 400
    assert 0 < sum(written) <= LIMIT
