"""The production deployment as described by docker-compose.yml, the Dockerfile and docker/.

Docker itself cannot run here, so these read the files the way `docker compose` would and check what
an operator relies on: start order, production settings, secrets from outside, a working health check.
"""

import os
import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from gunicorn.config import KNOWN_SETTINGS

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("migrate", "web", "worker", "beat")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_runs_the_database_broker_web_worker_and_beat(compose):
    services = compose["services"]

    assert set(services) == {"postgres", "redis", *APP_SERVICES}
    assert services["postgres"]["image"] == "postgres:17"
    assert services["redis"]["image"].startswith("redis:7")
    assert "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    for name in APP_SERVICES:
        assert services[name]["build"] == "."
        assert "media:/app/media" in services[name]["volumes"], name
    assert {"pgdata", "media"} <= set(compose["volumes"])
    # Only the TLS proxy on the host may reach gunicorn, since the app trusts X-Forwarded-Proto.
    assert services["web"]["ports"] == ["${HYGIENE_LISTEN:-127.0.0.1}:${HYGIENE_PORT:-8000}:8000"]


def test_app_services_start_only_after_healthy_servers_and_finished_migrations(compose):
    services = compose["services"]

    assert services["postgres"]["healthcheck"]["test"][-1].startswith("pg_isready")
    assert "ping" in services["redis"]["healthcheck"]["test"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["migrate"]["restart"] == "no"
    for name in ("web", "worker"):
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"
        assert depends["migrate"]["condition"] == "service_completed_successfully"
    assert services["web"]["healthcheck"]["test"] == ["CMD", "python", "/app/docker/healthcheck.py"]


def test_app_services_use_production_settings_and_take_secrets_from_outside(compose):
    for name in APP_SERVICES:
        environment = compose["services"][name]["environment"]

        assert environment["DJANGO_SETTINGS_MODULE"] == "hygiene.settings.production"
        assert environment["SECRET_KEY_FILE"] == "/run/secrets/secret_key"
        assert "SECRET_KEY" not in environment
        assert "${ALLOWED_HOSTS:?" in environment["ALLOWED_HOSTS"]
        password = "${POSTGRES_PASSWORD:?" if name == "migrate" else "${POSTGRES_APP_PASSWORD:?"
        assert password in environment["DATABASE_URL"]
        assert environment["CELERY_BROKER_URL"].startswith("redis://redis:6379/")
    assert "${POSTGRES_PASSWORD:?" in compose["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"]


def test_only_migrate_connects_as_the_owner_and_the_app_role_gets_insert_and_select_on_the_audit_log(compose):
    from hygiene.audit_triggers import app_role_grants_sql

    services = compose["services"]
    assert services["migrate"]["environment"]["DATABASE_URL"].startswith("postgres://hygiene:")
    assert services["migrate"]["environment"]["HYGIENE_DB_APP_ROLE"] == "hygiene_app"
    for name in ("web", "worker", "beat"):
        assert services[name]["environment"]["DATABASE_URL"].startswith("postgres://hygiene_app:"), name
        assert "HYGIENE_DB_APP_ROLE" not in services[name]["environment"]
        assert "auditanchor:/app/audit-anchor" in services[name]["volumes"]
    assert "./docker/postgres:/docker-entrypoint-initdb.d:ro" in services["postgres"]["volumes"]
    init = (ROOT / "docker" / "postgres" / "10-app-role.sh").read_text()
    assert "CREATE ROLE hygiene_app LOGIN" in init and "POSTGRES_APP_PASSWORD" in init
    assert 'grant_app_role "$HYGIENE_DB_APP_ROLE"' in (ROOT / "docker" / "entrypoint.sh").read_text()
    grants = app_role_grants_sql("hygiene_app")
    assert 'GRANT SELECT, INSERT ON hygiene_auditentry TO "hygiene_app";' in grants
    assert 'REVOKE ALL ON hygiene_auditentry FROM "hygiene_app";' in grants


def test_every_role_the_compose_file_starts_is_one_the_entrypoint_knows(compose):
    entrypoint = (ROOT / "docker" / "entrypoint.sh").read_text()
    known = set(re.findall(r"^\s{4}(\w+)\)$", entrypoint, flags=re.MULTILINE))

    for name in APP_SERVICES:
        assert compose["services"][name]["command"][0] in known, name


def test_the_image_runs_as_an_unprivileged_user_with_static_files_collected_at_build():
    dockerfile = (ROOT / "Dockerfile").read_text()

    assert dockerfile.startswith("#") and "\nFROM python:3.11-slim\n" in dockerfile
    assert "\nUSER hygiene\n" in dockerfile
    assert dockerfile.index("collectstatic") < dockerfile.index("USER hygiene")
    assert 'ENTRYPOINT ["/app/docker/entrypoint.sh"]' in dockerfile


def test_gunicorn_config_names_only_settings_gunicorn_knows():
    # gunicorn ignores a misspelled setting without a word; this catches it.
    values = runpy.run_path(str(ROOT / "docker" / "gunicorn.conf.py"))
    settings = {name for name in values if not name.startswith("_") and name not in ("os", "multiprocessing")}
    known = {setting.name for setting in KNOWN_SETTINGS}

    assert settings - known == set()
    assert values["workers"] >= 1
    assert values["graceful_timeout"] < 60


@pytest.mark.django_db(transaction=True)
def test_container_health_check_passes_against_a_running_server(live_server):
    port = live_server.url.rsplit(":", 1)[-1]
    env = {**os.environ, "ALLOWED_HOSTS": "localhost,127.0.0.1", "GUNICORN_BIND": f"0.0.0.0:{port}"}

    result = subprocess.run(
        [sys.executable, str(ROOT / "docker" / "healthcheck.py")], env=env, capture_output=True, timeout=30
    )

    assert result.returncode == 0, result.stderr.decode()


def test_container_health_check_fails_when_nothing_answers():
    env = {**os.environ, "ALLOWED_HOSTS": "localhost", "GUNICORN_BIND": "0.0.0.0:9"}

    result = subprocess.run(
        [sys.executable, str(ROOT / "docker" / "healthcheck.py")], env=env, capture_output=True, timeout=30
    )

    assert result.returncode == 1
    assert b"health check failed" in result.stderr
