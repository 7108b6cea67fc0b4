from typing import Any

from django.core.management.base import BaseCommand, CommandError

from hygiene.models import AuditEntry
from hygiene.services.audit import audit_log_seal, audit_log_verify


class Command(BaseCommand):
    help = "Verify the audit log's hash chain; exit non-zero naming the first broken entry."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--seal", action="store_true", help="Seal pending entries before verifying.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["seal"]:
            audit_log_seal()
        checked, problem = audit_log_verify()
        pending = AuditEntry.objects.filter(seq__isnull=True).count()
        if problem is not None:
            where = f"entry #{problem.entry_id}" if problem.entry_id else "an entry"
            raise CommandError(
                f"Audit log broken at sequence {problem.seq} ({where}): {problem.reason}. "
                f"{checked} entries before it verified."
            )
        self.stdout.write(f"Audit log intact: {checked} sealed entries verified, {pending} not sealed yet.")
