"""The SLA policy: by when a finding must be fixed.

One pure function, ``sla_due``, decides it; the import pipeline and the KEV/EPSS enrichment both call
it, so a finding's due date never depends on which of them touched it last.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.conf import settings

from assets.models import Environment


@dataclass(frozen=True)
class SlaPolicy:
    """Days to fix by severity; a stricter factor for production or restricted assets."""

    days: Mapping[str, int] = field(default_factory=dict)
    strict_factor: float = 1.0
    strict_for_sensitive: bool = False

    @classmethod
    def from_settings(cls) -> SlaPolicy:
        return cls(
            days=dict(settings.HYGIENE_SLA_DAYS),
            strict_factor=float(settings.HYGIENE_SLA_STRICT_FACTOR),
            strict_for_sensitive=bool(settings.HYGIENE_SLA_STRICT_FOR_SENSITIVE),
        )


def sla_due(
    *,
    severity: str,
    found_on: dt.date,
    sensitive: bool = False,
    kev_due: dt.date | None = None,
    policy: SlaPolicy | None = None,
) -> dt.date | None:
    """The date a finding of ``severity`` found on ``found_on`` must be fixed by, or None (no SLA).

    ``sensitive`` is true for production or restricted assets, which get the strict factor when the
    policy says so (never less than one day). A finding in CISA's KEV catalogue is due by the KEV due
    date when that is earlier.
    """
    policy = policy or SlaPolicy.from_settings()
    days = policy.days.get(severity)
    due: dt.date | None = None
    if days is not None:
        if sensitive and policy.strict_for_sensitive:
            days = max(1, round(days * policy.strict_factor))
        due = found_on + dt.timedelta(days=days)
    if kev_due is not None and (due is None or kev_due < due):
        due = kev_due
    return due


def is_sensitive(*, environment: str, is_restricted: bool) -> bool:
    """Whether an asset gets the strict SLA: it runs in production or holds restricted data."""
    return is_restricted or environment == Environment.PRODUCTION
