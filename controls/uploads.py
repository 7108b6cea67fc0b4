"""Evidence files pass the one bounded, hashing upload handler (``hygiene.lib.uploads``) with this cap."""

from __future__ import annotations

from django.conf import settings


def evidence_max_bytes() -> int:
    return int(settings.HYGIENE_EVIDENCE_MAX_BYTES)
