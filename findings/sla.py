"""The SLA policy: by when a finding must be fixed.

One pure function, ``sla_due``, decides it; the import pipeline (new and reopened findings), the KEV
enrichment and anything that needs a finding's due date for a past day call it, so a finding's due
date never depends on which of them touched it last.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.conf import settings

from assets.models import Environment


@dataclass(frozen=True)
class SlaPolicy:
    """Days to fix by severity; a stricter factor for production or restricted assets; KEV's window."""

    days: Mapping[str, int] = field(default_factory=dict)
    strict_factor: float = 1.0
    strict_for_sensitive: bool = False
    # A finding in CISA's KEV catalogue gets at least this many days from the start of its SLA clock:
    # CISA's own due date is for federal agencies and often years before we first saw the finding.
    kev_window_days: int = 14

    @classmethod
    def from_settings(cls) -> SlaPolicy:
        return cls(
            days=dict(settings.HYGIENE_SLA_DAYS),
            strict_factor=float(settings.HYGIENE_SLA_STRICT_FACTOR),
            strict_for_sensitive=bool(settings.HYGIENE_SLA_STRICT_FOR_SENSITIVE),
            kev_window_days=int(settings.HYGIENE_KEV_WINDOW_DAYS),
        )


def sla_due(
    *,
    severity: str,
    found_on: dt.date,
    sensitive: bool = False,
    kev: bool = False,
    kev_due: dt.date | None = None,
    policy: SlaPolicy | None = None,
) -> dt.date | None:
    """The date a finding must be fixed by, or None (no SLA for its severity and not in KEV).

    ``found_on`` is the day the finding's SLA clock started: the day it was first seen, or the day a
    scanner reported it again after it had gone (a reopened finding starts a new clock).
    ``sensitive`` is true for production or restricted assets, which get the strict factor when the
    policy says so (never less than one day). A finding in CISA's KEV catalogue (``kev``, with CISA's
    due date ``kev_due`` when the catalogue gives one) is due by the later of CISA's date and
    ``found_on`` plus the KEV window, and never later than its severity's SLA.
    """
    policy = policy or SlaPolicy.from_settings()
    days = policy.days.get(severity)
    due: dt.date | None = None
    if days is not None:
        if sensitive and policy.strict_for_sensitive:
            days = max(1, round(days * policy.strict_factor))
        due = found_on + dt.timedelta(days=days)
    if kev or kev_due is not None:
        kev_date = found_on + dt.timedelta(days=max(0, policy.kev_window_days))
        if kev_due is not None and kev_due > kev_date:
            kev_date = kev_due
        if due is None or kev_date < due:
            due = kev_date
    return due


def is_sensitive(*, environment: str, is_restricted: bool) -> bool:
    """Whether an asset gets the strict SLA: it runs in production or holds restricted data."""
    return is_restricted or environment == Environment.PRODUCTION
