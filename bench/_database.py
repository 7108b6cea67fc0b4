"""A throwaway database per benchmark, on whatever server Django is configured for.

The embedded server listens on a socket given in OPTIONS, so the maintenance connection takes its
parameters from Django's own connection rather than from the settings' HOST.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def django_setup(db_name: str) -> None:
    """Point Django at ``db_name`` (see HYGIENE_DB_NAME in the settings) and set it up."""
    os.environ["HYGIENE_DB_NAME"] = db_name
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hygiene.settings.local")
    os.environ.setdefault("DEBUG", "0")
    import django

    django.setup()


def admin_connection() -> Any:
    """A connection to the server's maintenance database, with the same parameters as Django's."""
    import psycopg2
    from django.db import connection

    params = {**connection.get_connection_params(), "dbname": "postgres"}
    params.pop("database", None)
    params.pop("cursor_factory", None)
    conn = psycopg2.connect(**params)
    conn.autocommit = True
    return conn


def create_database(db_name: str) -> None:
    """Create ``db_name`` afresh and migrate it."""
    conn = admin_connection()
    with conn.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")
        cursor.execute(f"CREATE DATABASE {db_name}")
    conn.close()
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "migrate", "--verbosity", "0"],
        env={**os.environ, "HYGIENE_DB_NAME": db_name},
        check=True,
    )


def drop_database(db_name: str) -> None:
    from django.db import connections

    connections.close_all()
    conn = admin_connection()
    with conn.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")
    conn.close()
