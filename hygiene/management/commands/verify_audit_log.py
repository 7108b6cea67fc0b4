from typing import Any

from django.core.management.base import BaseCommand, CommandError

from hygiene.models import AuditEntry
from hygiene.services.audit import (
    Checkpoint,
    audit_checkpoint_latest,
    audit_log_seal,
    audit_log_verify,
    checkpoint_from_signed,
)


class Command(BaseCommand):
    help = (
        "Verify the audit log's hash chain against the signed checkpoint kept outside the database; "
        "exit non-zero naming the first broken entry."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--seal", action="store_true", help="Seal pending entries before verifying.")
        parser.add_argument(
            "--checkpoint",
            default="",
            help="A signed checkpoint to verify against instead of the latest one (as an export carries it).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["seal"]:
            audit_log_seal()
        checkpoint = self._checkpoint(options["checkpoint"])
        checked, problem = audit_log_verify(checkpoint)
        pending = AuditEntry.objects.filter(seq__isnull=True).count()
        if problem is not None:
            where = f"entry #{problem.entry_id}" if problem.entry_id else "an entry"
            raise CommandError(
                f"Audit log broken at sequence {problem.seq} ({where}): {problem.reason}. "
                f"{checked} entries before it verified."
            )
        if checkpoint is None:
            anchor = "no checkpoint yet, so cutting off the newest entries would not show"
        else:
            anchor = f"matches the signed checkpoint of {checkpoint.at} (sequence {checkpoint.seq})"
        self.stdout.write(
            f"Audit log intact: {checked} sealed entries verified, {pending} not sealed yet; {anchor}."
        )

    def _checkpoint(self, signed: str) -> Checkpoint | None:
        try:
            return checkpoint_from_signed(signed) if signed else audit_checkpoint_latest()
        except ValueError as exc:
            raise CommandError(f"Audit log checkpoint refused: {exc}.") from exc
