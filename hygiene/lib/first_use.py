"""Commands run on a checkout whose database was never migrated (``make run`` never ran).

The embedded database of a developer's machine is migrated on first use; a database named by
``DATABASE_URL`` belongs to an operator, so the command stops with the one line to run instead.
"""

from __future__ import annotations

import sys

from hygiene.lib.embedded import _file_lock, embedded_in_use

# Commands that manage migrations themselves or need no database.
NO_DATABASE_COMMANDS = frozenset(
    {
        *("migrate", "makemigrations", "squashmigrations", "showmigrations", "sqlmigrate"),
        *("optimizemigration", "help", "version", "check", "collectstatic", "findstatic", "embedded"),
        *("runlocal", "test", "diffsettings", "dbshell", "startapp", "startproject"),
        *("compilemessages", "makemessages", "sqlflush", "sqlsequencereset", "sendtestemail"),
    }
)


def needs_database(argv: list[str]) -> bool:
    if len(argv) < 2 or argv[1].startswith("-"):
        return False
    return argv[1] not in NO_DATABASE_COMMANDS and not {"-h", "--help", "--version"} & set(argv[2:])


def unapplied_migrations() -> int:
    """How many migrations the database lacks (0 when it cannot be reached: the command says so)."""
    from django.db import DatabaseError, connection
    from django.db.migrations.executor import MigrationExecutor

    try:
        executor = MigrationExecutor(connection)
        return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))
    except DatabaseError:
        return 0


def prepare_database(argv: list[str]) -> None:
    """Migrate the embedded database before a command that needs it, or say what to run."""
    if not needs_database(argv):
        return
    import django

    django.setup()
    missing = unapplied_migrations()
    if not missing:
        return
    if not embedded_in_use():
        sys.stderr.write(
            f"The database lacks {missing} migration{'s' if missing != 1 else ''}: "
            "run `python manage.py migrate` first.\n"
        )
        raise SystemExit(1)
    from django.core.management import call_command

    sys.stderr.write(f"First use of the embedded database: applying {missing} migrations (once).\n")
    with _file_lock("migrate"):
        if unapplied_migrations():
            call_command("migrate", interactive=False, verbosity=0)
