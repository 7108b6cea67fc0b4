"""The URL fetcher behind URL scan sources and enrichment feeds refuses what could make it an SSRF proxy."""

import hashlib
import http.server
import io
import socket
import threading

import pytest

from findings.errors import FetchRefused
from findings.fetch import FetchPolicy, fetch_to_file

BODY = b'{"SchemaVersion": 2, "Results": []}'


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        port = self.server.server_address[1]
        routes = {
            "/scan.json": (200, {"Content-Length": str(len(BODY))}, BODY),
            "/host": (200, {}, self.headers["Host"].encode()),
            "/to-scan": (302, {"Location": "/scan.json"}, b""),
            "/to-elsewhere": (302, {"Location": "http://elsewhere.example/scan.json"}, b""),
            "/to-metadata": (302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b""),
            "/loop": (302, {"Location": f"http://127.0.0.1:{port}/loop"}, b""),
            "/declared-big": (200, {"Content-Length": "999999999"}, b""),
            "/missing": (404, {}, b"no"),
        }
        if self.path == "/undeclared-big":
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"x" * 200_000)
            return
        status, headers, body = routes[self.path]
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def policy(allowed=("127.0.0.1",), private=("127.0.0.1",), **kwargs):
    return FetchPolicy(
        allowed_hosts=frozenset(allowed), allow_private=frozenset(private), max_bytes=100_000, **kwargs
    )


def test_an_allow_listed_url_is_downloaded_with_its_digest(server):
    dest = io.BytesIO()

    result = fetch_to_file(f"{server}/scan.json", dest, policy=policy())

    assert dest.getvalue() == BODY
    assert result.sha256 == hashlib.sha256(BODY).hexdigest()
    assert result.size == len(BODY)
    assert result.filename == "scan.json"


def test_a_host_off_the_allow_list_is_refused_before_any_request(server):
    with pytest.raises(FetchRefused, match="not on the allow-list"):
        fetch_to_file(f"{server}/scan.json", io.BytesIO(), policy=policy(allowed=("scans.example.org",)))


def test_loopback_is_refused_even_when_allow_listed_unless_also_named_as_private(server):
    with pytest.raises(FetchRefused, match="private, loopback or link-local"):
        fetch_to_file(f"{server}/scan.json", io.BytesIO(), policy=policy(private=()))


def test_a_wildcard_allow_list_entry_never_admits_private_addresses(server, monkeypatch):
    real = socket.getaddrinfo

    def fake_dns(host, *args, **kwargs):
        return real("127.0.0.1" if host.endswith("corp.test") else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake_dns)

    with pytest.raises(FetchRefused, match="private"):
        fetch_to_file(
            f"{server.replace('127.0.0.1', 'ci.corp.test')}/scan.json",
            io.BytesIO(),
            policy=policy(allowed=("*.corp.test",), private=("*.corp.test",)),
        )


def test_a_host_resolving_to_any_private_address_is_refused(monkeypatch):
    answers = [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", 80)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", 80)),
    ]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: answers)

    with pytest.raises(FetchRefused, match=r"10\.0\.0\.5"):
        fetch_to_file("http://scans.example.org/x", io.BytesIO(), policy=policy(("scans.example.org",), ()))


def test_the_connection_goes_to_the_checked_address_with_the_original_host_name(server, monkeypatch):
    resolved = []
    real = socket.getaddrinfo

    def fake_dns(host, *args, **kwargs):
        if host == "scans.example.test":
            resolved.append(host)
            return real("127.0.0.1", *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake_dns)
    dest = io.BytesIO()
    url = server.replace("127.0.0.1", "scans.example.test")

    fetch_to_file(f"{url}/host", dest, policy=policy(("scans.example.test",), ("scans.example.test",)))

    assert resolved == ["scans.example.test"]
    assert dest.getvalue().decode().startswith("scans.example.test")


def test_redirects_are_followed_within_the_allow_list(server):
    dest = io.BytesIO()

    result = fetch_to_file(f"{server}/to-scan", dest, policy=policy())

    assert dest.getvalue() == BODY
    assert result.url.endswith("/scan.json")


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/to-elsewhere", "elsewhere.example is not on the allow-list"),
        ("/to-metadata", "169.254.169.254 is not on the allow-list"),
        ("/loop", "More than 3 redirects"),
    ],
)
def test_redirects_are_checked_again_and_bounded(server, path, message):
    with pytest.raises(FetchRefused, match=message):
        fetch_to_file(f"{server}{path}", io.BytesIO(), policy=policy())


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/declared-big", "the limit is 0 MiB"),
        ("/undeclared-big", "larger than the limit"),
        ("/missing", "HTTP 404"),
    ],
)
def test_oversized_or_failed_downloads_are_refused(server, path, message):
    with pytest.raises(FetchRefused, match=message):
        fetch_to_file(f"{server}{path}", io.BytesIO(), policy=policy())


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("file:///etc/passwd", "Only http and https"),
        ("ftp://127.0.0.1/scan.json", "Only http and https"),
        ("http://user:secret@127.0.0.1/scan.json", "no credentials"),
        ("http://[::1/scan.json", "not a valid URL"),
    ],
)
def test_urls_that_are_not_plain_http_are_refused(url, message):
    with pytest.raises(FetchRefused, match=message):
        fetch_to_file(url, io.BytesIO(), policy=policy())


def test_a_server_that_stops_sending_times_out():
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    port = silent.getsockname()[1]
    try:
        with pytest.raises(FetchRefused, match="did not answer in time"):
            fetch_to_file(f"http://127.0.0.1:{port}/x", io.BytesIO(), policy=policy(read_timeout=0.2))
    finally:
        silent.close()
