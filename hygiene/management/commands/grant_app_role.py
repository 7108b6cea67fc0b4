from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from hygiene.audit_triggers import app_role_grants_sql


class Command(BaseCommand):
    help = (
        "Grant the application's database role what it needs after migrating (run as the owner): "
        "the data, but only INSERT and SELECT on the audit log."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("role", help="The role the web server, worker and beat connect as.")

    def handle(self, *args: Any, **options: Any) -> None:
        role = options["role"]
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
            if cursor.fetchone() is None:
                raise CommandError(f"No database role named {role!r}: create it first (docker/postgres/).")
            cursor.execute("SELECT current_user = %s", [role])
            if cursor.fetchone()[0]:
                raise CommandError("Run this as the database owner, not as the application's role.")
            with transaction.atomic():
                cursor.execute(app_role_grants_sql(role))
        self.stdout.write(f"Granted {role}: data read and write; audit log INSERT and SELECT only.")
