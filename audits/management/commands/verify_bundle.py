from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audits.services import signing
from audits.services.verify import bundle_verify


class Command(BaseCommand):
    help = "Verify an evidence bundle: name each altered, missing or extra file and a bad signature."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", help="The bundle's ZIP file.")
        parser.add_argument(
            "--public-key", help="PEM file of the Ed25519 public key to trust (default: this site's key)."
        )
        parser.add_argument(
            "--against-log",
            action="store_true",
            help="Also check the chain's head anchor against this site's audit log.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        key = None
        if options["public_key"]:
            key = signing.load_public_key(Path(options["public_key"]).read_bytes())
            if key is None:
                raise CommandError(f"{options['public_key']} is not an Ed25519 public key (PEM).")
        report = bundle_verify(source=str(path), public_key=key, check_live_log=options["against_log"])
        for line in report.problems():
            self.stderr.write(line)
        if not report.ok:
            raise CommandError(report.summary())
        self.stdout.write(report.summary())
