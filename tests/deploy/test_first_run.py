"""A fresh checkout on a fresh machine: `make test` installs the browser once, commands that need the
database prepare it, and `make run` stops everything however it is stopped."""

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
