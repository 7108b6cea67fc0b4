"""A fresh checkout on a fresh machine: `make test` installs the browser once, commands that need the
database prepare it, and `make run` stops everything however it is stopped."""

import contextlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

FAKE_APT_GET = textwrap.dedent(
    """\
    #!/bin/sh
    # Behaves like apt-get towards dpkg's lock: a second install while one runs fails at once.
    state=$(dirname "$0")
    echo "$*" >> "$state/calls"
    case "$*" in
      *install*)
        mkdir "$state/dpkg.lock" 2>/dev/null || { echo "E: Could not get lock" >&2; exit 100; }
        sleep 1
        touch "$state/chromium"
        rmdir "$state/dpkg.lock"
        ;;
    esac
    """
)


@pytest.mark.skipif(os.geteuid() != 0, reason="installing Chromium needs root")
def test_test_workers_starting_together_install_chromium_once(tmp_path):
    apt_get = tmp_path / "apt-get"
    apt_get.write_text(FAKE_APT_GET)
    apt_get.chmod(0o755)
    script = (
        "from pathlib import Path; from tests.browser import ensure_chromium; "
        f"ensure_chromium(Path({str(tmp_path / 'chromium')!r}), apt_get={str(apt_get)!r}, "
        f"lock=Path({str(tmp_path / 'install.lock')!r}))"
    )

    workers = [subprocess.Popen([sys.executable, "-c", script], cwd=ROOT) for _ in range(3)]
    codes = [worker.wait(timeout=60) for worker in workers]

    assert codes == [0, 0, 0]
    calls = (tmp_path / "calls").read_text().splitlines()
    assert sum("install" in call for call in calls) == 1
    assert (tmp_path / "chromium").exists()


def test_make_test_installs_the_browser_before_pytest_starts_its_workers():
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]

    steps = [line.strip() for line in recipe.splitlines() if line.startswith("\t")]
    assert steps[0] == "$(BIN)/python -m tests.browser"
    assert "-n 2" in steps[1]


@pytest.fixture
def fresh_database(db):
    """An empty database on the test server, as a checkout where `make run` never ran has."""
    from django.db import connection

    name = f"{connection.settings_dict['NAME']}_fresh"[:60]
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    yield name
    connection.close()
    from django.db import connections

    with connections["default"].cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _manage(*args: str, db_name: str, embedded: bool) -> subprocess.CompletedProcess:
    env = {**os.environ, "HYGIENE_DB_NAME": db_name, "DJANGO_SETTINGS_MODULE": "hygiene.settings.local"}
    if embedded:
        env["HYGIENE_EMBEDDED"] = "1"
    else:
        env.pop("HYGIENE_EMBEDDED", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.django_db(transaction=True)
def test_import_scan_on_a_never_migrated_embedded_database_migrates_it_first(fresh_database, scans_dir):
    scan = scans_dir / "trivy" / "scheme_2_many_vulns.json"

    result = _manage("import_scan", str(scan), "--asset", "teamdojo", db_name=fresh_database, embedded=True)

    assert result.returncode == 0, result.stderr
    assert "applying" in result.stderr and "migrations" in result.stderr
    assert '"format": "trivy"' in result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.django_db(transaction=True)
def test_a_command_on_an_operator_database_without_migrations_says_what_to_run(fresh_database):
    result = _manage("verify_audit_log", db_name=fresh_database, embedded=False)

    assert result.returncode == 1
    assert result.stderr.strip().endswith("run `python manage.py migrate` first.")
    assert "Traceback" not in result.stderr


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    pending = [pid]
    while pending:
        current = pending.pop()
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                children = {int(child) for child in (task / "children").read_text().split()}
            except OSError:
                continue
            pending.extend(children - found)
            found |= children
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def runlocal_data_dir():
    """A data folder of its own: `make run` starts and stops its own embedded servers there."""
    import shutil
    import tempfile

    (ROOT / ".data").mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="runlocal-test-", dir=ROOT / ".data"))
    folder.chmod(0o755)
    yield folder
    env = {**_runlocal_env(folder)}
    subprocess.run(
        [sys.executable, "-c", "from hygiene.lib.embedded import stop_local_services; stop_local_services()"],
        cwd=ROOT,
        env=env,
        timeout=60,
        check=False,
    )
    shutil.rmtree(folder, ignore_errors=True)


def _runlocal_env(folder: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_URL", "CELERY_"))}
    for key in ("HYGIENE_EMBEDDED", "HYGIENE_DB_NAME", "DJANGO_SETTINGS_MODULE"):
        env.pop(key, None)
    return {**env, "HYGIENE_DATA_DIR": str(folder)}


def _wait_until_serving(port: int, process: subprocess.Popen, deadline_s: float = 180) -> None:
    import time
    import urllib.request

    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        assert process.poll() is None, "make run ended on its own"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError("make run did not start serving")


@pytest.mark.parametrize("how", ["SIGTERM", "SIGHUP", "parent killed"])
def test_make_run_stopped_by_a_signal_stops_the_server_worker_beat_and_embedded_servers(
    runlocal_data_dir, how
):
    import signal

    port = _free_port()
    running: set[int] = set()
    redis_pid = postgres_pid = 0
    command = [sys.executable, "manage.py", "runlocal", "--addr", f"127.0.0.1:{port}"]
    if how == "parent killed":  # `make` killed: it does not pass the signal on
        command = ["sh", "-c", " ".join(command) + "; true"]
    launched = subprocess.Popen(
        command,
        cwd=ROOT,
        env=_runlocal_env(runlocal_data_dir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_until_serving(port, launched)
        running = _descendants(launched.pid) | {launched.pid}
        redis_pid = int((runlocal_data_dir / "redis" / "redis.pid").read_text())
        postgres_pid = int((runlocal_data_dir / "postgres" / "postmaster.pid").read_text().split()[0])
        running |= {redis_pid, postgres_pid}

        launched.send_signal(signal.SIGHUP if how == "SIGHUP" else signal.SIGTERM)
        launched.wait(timeout=60)

        import time

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and any(_alive(pid) for pid in running):
            time.sleep(0.5)
        assert not [pid for pid in running if _alive(pid)]
        assert not (runlocal_data_dir / "postgres" / "postmaster.pid").exists()
    finally:
        # Whatever a failed run left behind: the processes it started, by their ids.
        for pid in _descendants(launched.pid) | {
            pid for pid in running if pid not in (redis_pid, postgres_pid)
        }:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if launched.poll() is None:
            launched.kill()


def test_make_run_serves_static_files_compressed_with_long_cache_headers_and_styled_errors(runlocal_data_dir):
    import json
    import re
    import signal
    import urllib.request

    port = _free_port()
    command = [sys.executable, "manage.py", "runlocal", "--addr", f"127.0.0.1:{port}"]
    launched = subprocess.Popen(
        command,
        cwd=ROOT,
        env=_runlocal_env(runlocal_data_dir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_until_serving(port, launched)
        base = f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(f"{base}/accounts/login/", timeout=10) as response:
            page = response.read().decode()
        stylesheet = re.search(r'href="(/static/css/app\.[0-9a-f]{12}\.css)"', page)
        assert stylesheet, "the page names its stylesheet by content hash"
        manifest = json.loads((runlocal_data_dir / "static" / "staticfiles.json").read_text())
        plotly = "/static/" + manifest["paths"]["vendor/plotly.min.js"]

        for url in (stylesheet.group(1), plotly):
            request = urllib.request.Request(f"{base}{url}", headers={"Accept-Encoding": "gzip"})
            with urllib.request.urlopen(request, timeout=30) as response:
                body = response.read()
                assert response.headers["Content-Encoding"] == "gzip", url
                assert "max-age=315360000" in response.headers["Cache-Control"], url
                assert "immutable" in response.headers["Cache-Control"], url
        assert len(body) < 2 * 1024 * 1024  # plotly.min.js is 4.8 MB uncompressed
        with pytest.raises(urllib.error.HTTPError) as unknown:
            urllib.request.urlopen(f"{base}/no-such-page/", timeout=10)
        assert unknown.value.code == 404
        assert "Not found" in unknown.value.read().decode()
    finally:
        launched.send_signal(signal.SIGTERM)
        launched.wait(timeout=90)


def test_commands_that_need_no_database_are_not_held_up_by_migrations():
    from hygiene.lib.first_use import needs_database

    assert needs_database(["manage.py", "import_scan", "scan.json"])
    assert needs_database(["manage.py", "createsuperuser"])
    assert needs_database(["manage.py", "shell"])
    assert not needs_database(["manage.py", "migrate"])
    assert not needs_database(["manage.py", "collectstatic", "--noinput"])
    assert not needs_database(["manage.py", "import_scan", "--help"])
    assert not needs_database(["manage.py"])
