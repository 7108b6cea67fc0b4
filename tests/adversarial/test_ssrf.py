"""SSRF: every URL the server fetches refuses internal addresses in every spelling, directly, through a
redirect and through DNS rebinding, unless the host is allow-listed by setting.

One table of spellings runs against every fetcher (scan source pulls, the KEV feed, the EPSS feed). Each
spelling is put on the allow-list itself, so the address check is what has to refuse it; and each
redirect points at the local test server's own port, so a spelling that slipped through would really be
fetched and the test would fail on the body, not on a timeout.
"""

from __future__ import annotations

import http.server
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.core.exceptions import ValidationError

from findings.errors import FetchRefused

pytestmark = pytest.mark.django_db

# DNS names the resolver stub answers (no real DNS is asked): each resolves to something internal.
STUB_DNS = {
    "internal.scans.test": ["10.0.0.5"],
    "metadata.scans.test": ["169.254.169.254"],
    "loop6.scans.test": ["::1"],
    "mapped.scans.test": ["::ffff:10.0.0.1"],
    "nat64.scans.test": ["64:ff9b::a9fe:a9fe"],
    "half.scans.test": ["93.184.215.14", "127.0.0.1"],
    "server.scans.test": ["127.0.0.1"],  # the local test server, allow-listed as private on purpose
}


@dataclass(frozen=True)
class Spelling:
    id: str
    host: str  # as written in the URL's authority
    redirectable: bool = True  # can be sent in a Location header (latin-1, no NUL)


SPELLINGS = [
    Spelling("loopback", "127.0.0.1"),
    Spelling("decimal", "2130706433"),
    Spelling("octal", "0177.0.0.1"),
    Spelling("octal-whole", "017700000001"),
    Spelling("hex", "0x7f000001"),
    Spelling("hex-dotted", "0x7f.1"),
    Spelling("short", "127.1"),
    Spelling("loopback-other", "127.255.255.254"),
    Spelling("ipv6-loopback", "[::1]"),
    Spelling("ipv6-mapped-dotted", "[::ffff:127.0.0.1]"),
    Spelling("ipv6-mapped-hex", "[::ffff:7f00:1]"),
    Spelling("ipv6-compatible", "[::127.0.0.1]"),
    Spelling("ipv6-translated", "[::ffff:0:7f00:1]"),
    Spelling("nat64-loopback", "[64:ff9b::7f00:1]"),
    Spelling("nat64-metadata", "[64:ff9b::a9fe:a9fe]"),
    Spelling("6to4-loopback", "[2002:7f00:1::]"),
    Spelling("unspecified", "0.0.0.0"),  # noqa: S104 - a URL the fetcher must refuse
    Spelling("unspecified-short", "0"),
    Spelling("ipv6-unspecified", "[::]"),
    Spelling("localhost", "localhost"),
    Spelling("localhost-dot", "localhost."),
    Spelling("localhost-upper", "LOCALHOST"),
    Spelling("link-local-metadata", "169.254.169.254"),
    Spelling("ipv6-link-local", "[fe80::1]"),
    Spelling("private-10", "10.0.0.1"),
    Spelling("private-172", "172.16.0.1"),
    Spelling("private-192", "192.168.1.1"),
    Spelling("shared-cgnat", "100.64.0.1"),
    Spelling("multicast", "224.0.0.1"),
    Spelling("ipv6-multicast", "[ff02::1]"),
    Spelling("ipv6-unique-local", "[fd00::1]"),
    Spelling("ipv6-site-local", "[fec0::1]"),
    Spelling("idn-localhost", "ⓛⓞⓒⓐⓛⓗⓞⓢⓣ", redirectable=False),
    Spelling("user-at-host", "scans.example.org@127.0.0.1"),
    Spelling("nul-truncation", "127.0.0.1\x00.scans.test", redirectable=False),
    Spelling("dns-private", "internal.scans.test"),
    Spelling("dns-metadata", "metadata.scans.test"),
    Spelling("dns-ipv6-loopback", "loop6.scans.test"),
    Spelling("dns-ipv6-mapped", "mapped.scans.test"),
    Spelling("dns-nat64", "nat64.scans.test"),
    Spelling("dns-one-of-two-private", "half.scans.test"),
]


def _allow_listed(host: str) -> str:
    """The host as an administrator would write it on the allow-list (what urlsplit makes of it)."""
    host = host.rsplit("@", 1)[-1].strip("[]")
    return host.lower().rstrip(".")


# ---- the fetchers ------------------------------------------------------------------------------------


def _pull_source(url: str, team) -> str:
    """A URL scan source saved earlier (before the address changed) is pulled: the refusal it records,
    or "" when the file was fetched."""
    from findings.models import ScanSource
    from findings.services.sources import source_create, source_pull

    if "\x00" in url:  # PostgreSQL cannot even store it: saving is the only way in, and it refuses
        with pytest.raises(ValidationError) as refused:
            source_create(actor=None, team=team, name="Adversarial", kind="url", location=url)
        return str(refused.value)
    source = ScanSource.objects.create(team=team, name="Adversarial", kind="url", location=url)
    result = source_pull(source_id=source.pk)
    assert bool(result.error) != bool(result.jobs)
    return result.error


def _pull_feed(kind: str) -> Callable[[str, object], str]:
    def pull(url: str, team) -> str:
        from django.conf import settings

        from findings.errors import EnrichmentFileInvalid
        from findings.services.enrichment import enrichment_pull

        setattr(settings, "HYGIENE_KEV_URL" if kind == "kev" else "HYGIENE_EPSS_URL", url)
        try:
            enrichment_pull(kind=kind)
        except FetchRefused as refused:
            return str(refused)
        except EnrichmentFileInvalid:
            return ""  # fetched, then found not to be a feed
        return ""

    return pull


FETCHERS = {"scan-source": _pull_source, "kev-feed": _pull_feed("kev"), "epss-feed": _pull_feed("epss")}


# ---- the world: resolver stub, connection log, a local server that redirects -------------------------


class _Server(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        self.server.paths.append(self.path)
        if self.path.startswith("/to/"):
            self.send_response(302)
            self.send_header("Location", self.path[len("/to/") :])
            self.end_headers()
            return
        body = b"INTERNAL SECRET"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Server)
    httpd.paths = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def connections(monkeypatch):
    """Every address the fetcher connects to; DNS names of STUB_DNS answered by the stub."""
    real_resolve, real_connect = socket.getaddrinfo, socket.create_connection
    made: list[tuple[str, int]] = []

    def resolve(host, port, *args, **kwargs):
        if isinstance(host, str) and host in STUB_DNS:
            return [
                (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
                for a in STUB_DNS[host]
            ]
        return real_resolve(host, port, *args, **kwargs)

    def connect(address, *args, **kwargs):
        made.append(address)
        return real_connect(address, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    monkeypatch.setattr(socket, "create_connection", connect)
    return made


@pytest.fixture
def allow(settings):
    def allow(*hosts: str, private: tuple[str, ...] = ()) -> None:
        settings.HYGIENE_SCAN_URL_ALLOWED_HOSTS = [*hosts, "*.scans.test"]
        settings.HYGIENE_SCAN_URL_ALLOW_PRIVATE = list(private)
        settings.HYGIENE_SCAN_URL_CONNECT_TIMEOUT = 1.0
        settings.HYGIENE_SCAN_URL_READ_TIMEOUT = 2.0

    return allow


# ---- the table ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("fetcher", FETCHERS)
@pytest.mark.parametrize("spelling", SPELLINGS, ids=[s.id for s in SPELLINGS])
def test_every_fetcher_refuses_an_internal_address_in_every_spelling(
    fetcher, spelling, team_a, allow, connections
):
    allow(_allow_listed(spelling.host))

    reason = FETCHERS[fetcher](f"http://{spelling.host}:9/scan.json", team_a)

    assert connections == [], f"{spelling.id} was connected to: {connections}"
    assert reason


@pytest.mark.parametrize("fetcher", FETCHERS)
@pytest.mark.parametrize(
    "spelling", [s for s in SPELLINGS if s.redirectable], ids=[s.id for s in SPELLINGS if s.redirectable]
)
def test_every_fetcher_refuses_a_redirect_to_an_internal_address(
    fetcher, spelling, team_a, allow, connections, server
):
    port = server.server_address[1]
    allow("server.scans.test", _allow_listed(spelling.host), private=("server.scans.test",))
    target = f"http://{spelling.host}:{port}/secret"

    reason = FETCHERS[fetcher](f"http://server.scans.test:{port}/to/{target}", team_a)

    assert server.paths == [f"/to/{target}"], f"the redirect to {spelling.id} was followed"
    assert connections == [("127.0.0.1", port)]
    assert reason


@pytest.mark.parametrize("fetcher", FETCHERS)
def test_an_allow_listed_private_host_is_fetched(fetcher, team_a, allow, connections, server):
    """The control for the tables above: the harness does reach the server when the setting allows it."""
    port = server.server_address[1]
    allow("server.scans.test", private=("server.scans.test",))

    reason = FETCHERS[fetcher](f"http://server.scans.test:{port}/report.json", team_a)

    assert server.paths == ["/report.json"]
    assert reason == ""


@pytest.mark.parametrize("fetcher", FETCHERS)
@pytest.mark.parametrize("first", ["public-then-private", "private-then-public"])
def test_dns_rebinding_between_check_and_connect_does_not_reach_the_second_answer(
    fetcher, first, team_a, allow, monkeypatch
):
    public, private = "93.184.215.14", "127.0.0.1"
    answers = [public, private] if first == "public-then-private" else [private, public]
    asked, connected = [], []

    def resolve(host, port, *args, **kwargs):
        asked.append(host)
        address = answers[min(len(asked), len(answers)) - 1]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    def connect(address, *args, **kwargs):
        connected.append(address[0])
        raise OSError("no network in tests")

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    monkeypatch.setattr(socket, "create_connection", connect)
    allow("rebind.example.org")

    FETCHERS[fetcher]("http://rebind.example.org/scan.json", team_a)

    assert asked == ["rebind.example.org"], "the host was resolved more than once"
    assert private not in connected
    assert connected == ([public] if first == "public-then-private" else [])


LITERALS = [s for s in SPELLINGS if not s.id.startswith("dns-")]


@pytest.mark.parametrize("spelling", LITERALS, ids=[s.id for s in LITERALS])
def test_saving_a_url_source_refuses_an_internal_address_written_as_a_literal(
    spelling, team_a, owner, allow, connections
):
    from findings.services.sources import source_create

    allow(_allow_listed(spelling.host))

    with pytest.raises(ValidationError) as refused:
        source_create(
            actor=owner, team=team_a, name="x", kind="url", location=f"http://{spelling.host}/scan.json"
        )

    assert "location" in refused.value.message_dict
    assert connections == []


# ---- folder sources ------------------------------------------------------------------------------------


@pytest.fixture
def drop(tmp_path, settings, team_a, team_b):
    root = tmp_path / "drop"
    for name in (team_a.slug, team_b.slug, "unclaimed"):
        (root / name).mkdir(parents=True)
    (root / team_b.slug / "theirs.json").write_text('{"SchemaVersion": 2, "Results": []}')
    os.symlink(root / team_b.slug, root / team_a.slug / "to-theirs")
    os.symlink("/", root / team_a.slug / "to-root")
    os.symlink("..", root / team_a.slug / "up")
    settings.HYGIENE_SCAN_FOLDER_ROOTS = [str(root)]
    return root


FOLDERS = {
    "another-team": "{drop}/{b}",
    "dot-dot": "{drop}/{a}/../{b}",
    "dot-slash-dot-dot": "{drop}/{a}/./../{b}/",
    "double-slash": "{drop}//{b}",
    "link-to-another-team": "{drop}/{a}/to-theirs",
    "link-to-root": "{drop}/{a}/to-root/etc",
    "link-up": "{drop}/{a}/up/{b}",
    "unclaimed-folder": "{drop}/unclaimed",
    "the-drop-root": "{drop}",
    "above-the-root": "{drop}/..",
    "system-folder": "/etc",
    "relative": "{a}",
    "nul-byte": "{drop}/{a}\x00/../{b}",
    "encoded-dot-dot": "{drop}/{a}/%2e%2e/{b}",
    "home-tilde": "~/{b}",
}


@pytest.mark.parametrize("location", FOLDERS.values(), ids=FOLDERS.keys())
def test_a_folder_source_cannot_reach_outside_its_team_s_folder(location, drop, team_a, team_b, owner):
    from findings.services.sources import source_create

    written = location.format(drop=drop, a=team_a.slug, b=team_b.slug)

    with pytest.raises(ValidationError) as refused:
        source_create(actor=owner, team=team_a, name="x", kind="folder", location=written)

    assert "location" in refused.value.message_dict
    assert str(drop) not in str(refused.value)  # the refusal names no server path


def test_a_link_dropped_into_the_team_folder_to_another_team_s_file_is_not_imported(
    drop, team_a, team_b, owner, settings
):
    from findings.models import ImportJob
    from findings.services.sources import source_create, source_pull

    settings.HYGIENE_SCAN_FOLDER_SETTLE_SECONDS = 0
    theirs = drop / team_b.slug / "theirs.json"
    os.symlink(theirs, drop / team_a.slug / "linked.json")
    (drop / team_a.slug / "own.json").write_bytes(theirs.read_bytes())
    source = source_create(
        actor=owner, team=team_a, name="Own", kind="folder", location=str(drop / team_a.slug)
    )

    source_pull(source_id=source.pk)

    assert list(ImportJob.objects.values_list("filename", flat=True)) == ["own.json"]
    assert theirs.exists()
