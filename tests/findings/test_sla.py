"""The one SLA function: severity days, the strict factor, and the KEV window."""

import datetime as dt

from findings.sla import SlaPolicy, sla_due

POLICY = SlaPolicy(
    days={"critical": 7, "high": 30, "medium": 90, "low": 180},
    strict_factor=0.5,
    strict_for_sensitive=True,
    kev_window_days=14,
)
FIRST_SEEN = dt.date(2026, 10, 8)


def due(severity: str, **kwargs) -> dt.date | None:
    return sla_due(severity=severity, found_on=FIRST_SEEN, policy=POLICY, **kwargs)


def test_a_kev_finding_is_never_due_before_it_was_first_seen_even_when_cisas_date_is_years_past():
    # CISA's due date (4 Oct 2023) is three years before the finding was first seen (8 Oct 2026).
    assert due("medium", kev=True, kev_due=dt.date(2023, 10, 4)) == dt.date(2026, 10, 22)


def test_a_kev_finding_is_due_by_cisas_date_when_that_is_later_than_the_kev_window():
    assert due("low", kev=True, kev_due=dt.date(2026, 11, 30)) == dt.date(2026, 11, 30)


def test_a_kev_finding_is_never_due_later_than_its_severitys_sla():
    assert due("critical", kev=True, kev_due=dt.date(2023, 10, 4)) == dt.date(2026, 10, 15)
    assert due("high", kev=True, kev_due=dt.date(2027, 6, 1)) == dt.date(2026, 11, 7)
    # Production or restricted: the strict factor still caps the KEV date.
    assert due("high", kev=True, kev_due=dt.date(2027, 6, 1), sensitive=True) == dt.date(2026, 10, 23)


def test_a_kev_finding_without_a_cisa_date_or_an_sla_severity_gets_the_kev_window():
    assert due("info", kev=True) == dt.date(2026, 10, 22)
    assert due("medium", kev=True) == dt.date(2026, 10, 22)
    assert due("info") is None


def test_the_kev_window_is_a_setting(settings):
    settings.HYGIENE_KEV_WINDOW_DAYS = 21
    policy = SlaPolicy.from_settings()

    assert policy.kev_window_days == 21
    assert sla_due(severity="low", found_on=FIRST_SEEN, kev=True, kev_due=dt.date(2023, 10, 4)) == dt.date(
        2026, 10, 29
    )
