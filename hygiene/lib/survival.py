"""Durations as histograms of days, and the statistics the dashboards read from them.

Histograms (``{bucket: count}``) add up across teams and days, so a viewer's median over the teams
they see is exact at the bucket's resolution: whole days up to 30, 5-day steps up to 180, 30-day steps
up to 730, then one bucket for anything longer. A bucket is named by its first day.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

Histogram = Mapping[str, int] | Mapping[int, int]
LAST_BUCKET = 730


def bucket(days: int) -> int:
    """The bucket a duration of ``days`` falls in (negative durations count as day 0)."""
    if days <= 30:
        return max(0, days)
    if days <= 180:
        return days - (days - 31) % 5
    if days < LAST_BUCKET:
        return days - (days - 181) % 30
    return LAST_BUCKET


def add(histograms: Iterable[Histogram]) -> Counter[int]:
    total: Counter[int] = Counter()
    for histogram in histograms:
        for key, count in histogram.items():
            total[int(key)] += int(count)
    return total


def count(histogram: Histogram) -> int:
    return sum(int(n) for n in histogram.values())


def quantile(histogram: Histogram, q: float) -> int | None:
    """The bucket holding the ``q`` quantile of a histogram with no censored items, or None if empty."""
    counts = add([histogram])
    total = sum(counts.values())
    if total == 0:
        return None
    running = 0
    for key in sorted(counts):
        running += counts[key]
        if running >= q * total:
            return key
    return max(counts)


def mean(histogram: Histogram) -> float | None:
    counts = add([histogram])
    total = sum(counts.values())
    if total == 0:
        return None
    return sum(key * n for key, n in counts.items()) / total


@dataclass(frozen=True)
class Survival:
    """A Kaplan-Meier estimate of time to an event with some items still waiting (censored)."""

    events: int
    censored: int
    p50: int | None  # None: fewer than half have had the event yet (median not reached)
    p90: int | None

    @property
    def total(self) -> int:
        return self.events + self.censored


def kaplan_meier(events: Histogram, censored: Histogram) -> Survival:
    """Median and 90th percentile of time to the event, counting the censored items as at risk.

    At each bucket, events are taken before censorings (an item censored at day d was still waiting
    at d). A quantile is the first bucket where the estimated share still waiting falls to 1 - q.
    """
    done = add([events])
    waiting = add([censored])
    at_risk = sum(done.values()) + sum(waiting.values())
    surviving = 1.0
    p50: int | None = None
    p90: int | None = None
    for key in sorted(set(done) | set(waiting)):
        if at_risk <= 0:
            break
        if done[key]:
            surviving *= 1 - done[key] / at_risk
        if p50 is None and surviving <= 0.5 + 1e-12:
            p50 = key
        if p90 is None and surviving <= 0.1 + 1e-12:
            p90 = key
        at_risk -= done[key] + waiting[key]
    return Survival(events=sum(done.values()), censored=sum(waiting.values()), p50=p50, p90=p90)
