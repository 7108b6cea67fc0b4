"""The parts of an engagement's workspace, evidence bundle, PDF report and OSCAL results, as a registry.

Each section reads through its app's permission-aware selectors as the engagement's auditor working inside
the engagement (so the scope is the engagement's, restricted data only when it grants it). Apps that land
later (controls: assessments, evidence, exceptions; incidents) register their own ``Section`` from their
``AppConfig.ready`` and appear in every builder without a change here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from django.db.models import Count, F, Q
from django.utils import timezone

CHUNK = 2000


@dataclass(frozen=True)
class Period:
    start: dt.datetime  # inclusive
    end: dt.datetime  # exclusive: the day after the period's last day

    @classmethod
    def of(cls, start: dt.date, end: dt.date) -> Period:
        tz = timezone.get_current_timezone()
        return cls(
            start=dt.datetime.combine(start, dt.time.min, tzinfo=tz),
            end=dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz),
        )


@dataclass(frozen=True)
class SectionContext:
    """Who reads (the auditor inside the engagement) and for which period."""

    engagement: Any
    user: Any
    period: Period


@dataclass(frozen=True)
class EvidenceFile:
    path: str  # inside the bundle's evidence/ folder
    size: int
    open: Callable[[], IO[bytes]]
    sha256: str = ""  # the hash recorded when the file was collected, checked while bundling


@dataclass(frozen=True)
class Figure:
    label: str
    value: Any
    definition: str = ""


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    columns: tuple[str, ...]
    rows: Callable[[SectionContext], Iterable[Sequence[Any]]]
    count: Callable[[SectionContext], int]
    figures: Callable[[SectionContext], list[Figure]] = field(default=lambda ctx: [])
    evidence: Callable[[SectionContext], Iterable[EvidenceFile]] | None = None
    list_url: Callable[[SectionContext], str] | None = None
    # (label, count) pairs for the PDF's chart of this section, if it has one.
    chart: Callable[[SectionContext], list[tuple[str, int]]] | None = None
    # OSCAL: observations (and findings) this section contributes to the assessment results.
    oscal: Callable[[SectionContext, Callable[..., str]], dict[str, list[dict[str, Any]]]] | None = None
    # A table the PDF report shows after the figures: (heading, column names, rows).
    report_table: Callable[[SectionContext], tuple[str, list[str], list[list[Any]]]] | None = None


SECTIONS: dict[str, Section] = {}


def section_register(section: Section) -> None:
    SECTIONS[section.key] = section


def sections() -> list[Section]:
    return list(SECTIONS.values())


# ---- assets ----------------------------------------------------------------------------------------

ASSET_FIELDS = (
    *("id", "name", "kind", "environment", "team__slug", "effective_classification__slug", "is_restricted"),
    *("criticality", "lifecycle", "technical_owner__username", "created_at"),
)


def _assets(ctx: SectionContext) -> Any:
    from assets.selectors import visible_assets

    # Assets that existed during the period (retired ones included: they were in scope then).
    return visible_assets(ctx.user).filter(created_at__lt=ctx.period.end)


def _asset_rows(ctx: SectionContext) -> Iterator[Sequence[Any]]:
    return _assets(ctx).order_by("id").values_list(*ASSET_FIELDS).iterator(chunk_size=CHUNK)


def _asset_figures(ctx: SectionContext) -> list[Figure]:
    counts = _assets(ctx).aggregate(
        total=Count("id"),
        restricted=Count("id", filter=Q(is_restricted=True)),
        unclassified=Count("id", filter=Q(effective_classification__isnull=True)),
    )
    return [
        Figure("Assets in scope", counts["total"], "Assets of the engagement's teams and environments."),
        Figure("Restricted assets in scope", counts["restricted"], "Effective classification restricted."),
        Figure(
            "Share classified",
            _share(counts["total"] - counts["unclassified"], counts["total"]),
            "Assets with a classification level, of all assets in scope.",
        ),
    ]


def _asset_oscal(ctx: SectionContext, uuid_for: Callable[..., str]) -> dict[str, list[dict[str, Any]]]:
    items = []
    for pk, name, kind, environment, team in (
        _assets(ctx).order_by("id").values_list("id", "name", "kind", "environment", "team__slug").iterator()
    ):
        items.append(
            {
                "uuid": uuid_for("asset", pk),
                "description": f"{name} ({kind}, {environment}, team {team})",
                "props": [
                    {"name": "asset-id", "value": str(pk)},
                    {"name": "asset-type", "value": str(kind)},
                ],
            }
        )
    return {"inventory-items": items}


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "n/a"


# ---- findings --------------------------------------------------------------------------------------

FINDING_FIELDS = (
    *("id", "asset_id", "asset__name", "team__slug", "scanner", "category", "rule_id", "title"),
    *("severity", "status", "package", "installed_version", "fixed_version", "cvss", "kev"),
    *("first_seen", "last_seen", "mitigated_at", "sla_due"),
)


def _findings(ctx: SectionContext) -> Any:
    from findings.selectors import finding_list_for_user

    # Findings open at some time during the period: seen before its end, not mitigated before its start.
    period = ctx.period
    return (
        finding_list_for_user(user=ctx.user, filters={"status": []})
        .filter(first_seen__lt=period.end)
        .filter(Q(mitigated_at__isnull=True) | Q(mitigated_at__gte=period.start))
    )


def _finding_rows(ctx: SectionContext) -> Iterator[Sequence[Any]]:
    return _findings(ctx).order_by("id").values_list(*FINDING_FIELDS).iterator(chunk_size=CHUNK)


def _finding_figures(ctx: SectionContext) -> list[Figure]:
    period = ctx.period
    end_day = (period.end - dt.timedelta(days=1)).date()
    counts = _findings(ctx).aggregate(
        total=Count("id"),
        new=Count("id", filter=Q(first_seen__gte=period.start)),
        mitigated=Count("id", filter=Q(mitigated_at__gte=period.start, mitigated_at__lt=period.end)),
        mitigated_in_sla=Count(
            "id",
            filter=Q(
                mitigated_at__gte=period.start,
                mitigated_at__lt=period.end,
                mitigated_at__date__lte=F("sla_due"),
            ),
        ),
        past_sla=Count(
            "id",
            filter=Q(sla_due__lt=end_day)
            & (Q(mitigated_at__isnull=True) | Q(mitigated_at__gte=period.end))
            & Q(status="open"),
        ),
    )
    return [
        Figure(
            "Findings open during the period",
            counts["total"],
            "Seen before its end, not fixed before its start.",
        ),
        Figure("New findings", counts["new"], "First seen within the period."),
        Figure("Findings mitigated", counts["mitigated"], "Mitigated within the period."),
        Figure(
            "SLA compliance",
            _share(counts["mitigated_in_sla"], counts["mitigated"]),
            "Of the findings mitigated within the period, the share mitigated by their SLA due date.",
        ),
        Figure(
            "Open past SLA at period end",
            counts["past_sla"],
            "Still open at the end of the period with an SLA due date before it.",
        ),
    ]


def _finding_chart(ctx: SectionContext) -> list[tuple[str, int]]:
    from findings.models import Severity

    counts = dict(
        _findings(ctx).order_by().values_list("severity").annotate(n=Count("id")).values_list("severity", "n")
    )
    return [(str(label), counts.get(value, 0)) for value, label in Severity.choices]


def _finding_oscal(ctx: SectionContext, uuid_for: Callable[..., str]) -> dict[str, list[dict[str, Any]]]:
    observations = []
    for pk, asset_id, scanner, rule_id, title, severity, status, first_seen in (
        _findings(ctx)
        .order_by("id")
        .values_list("id", "asset_id", "scanner", "rule_id", "title", "severity", "status", "first_seen")
        .iterator(chunk_size=CHUNK)
    ):
        observations.append(
            {
                "uuid": uuid_for("finding", pk),
                "title": f"{rule_id}: {title}"[:500],
                "description": f"{scanner} reported {rule_id} ({severity}), status {status}.",
                "props": [
                    {"name": "finding-id", "value": str(pk)},
                    {"name": "severity", "value": str(severity)},
                    {"name": "status", "value": str(status)},
                ],
                "methods": ["TEST"],
                "types": ["finding"],
                "subjects": [{"subject-uuid": uuid_for("asset", asset_id), "type": "inventory-item"}],
                "collected": first_seen.isoformat(),
            }
        )
    return {"observations": observations}


# ---- import jobs (the raw scan files are the evidence behind the findings) ---------------------------

JOB_FIELDS = (
    *("id", "team__slug", "asset__name", "format", "filename", "sha256", "size_bytes", "status"),
    *("findings_count", "created_at", "finished_at"),
)


def _jobs(ctx: SectionContext) -> Any:
    from findings.selectors import job_list_for_user

    period = ctx.period
    return job_list_for_user(user=ctx.user).filter(created_at__gte=period.start, created_at__lt=period.end)


def _job_rows(ctx: SectionContext) -> Iterator[Sequence[Any]]:
    return _jobs(ctx).order_by("id").values_list(*JOB_FIELDS).iterator(chunk_size=CHUNK)


def _job_evidence(ctx: SectionContext) -> Iterator[EvidenceFile]:
    from django.utils.text import get_valid_filename

    jobs = (
        _jobs(ctx)
        .select_related(None)
        .order_by("id")
        .only("id", "filename", "raw_file", "size_bytes", "sha256")
    )
    for job in jobs.iterator(chunk_size=500):
        if not job.raw_file:
            continue
        name = get_valid_filename(job.filename or "scan") or "scan"
        yield EvidenceFile(
            path=f"scans/{job.pk}-{name}",
            size=job.size_bytes,
            open=_opener(job.raw_file),
            sha256=job.sha256,
        )


def _opener(field_file: Any) -> Callable[[], IO[bytes]]:
    def open_file() -> IO[bytes]:
        return field_file.storage.open(field_file.name, "rb")  # type: ignore[no-any-return]

    return open_file


def _job_figures(ctx: SectionContext) -> list[Figure]:
    counts = _jobs(ctx).aggregate(total=Count("id"), failed=Count("id", filter=Q(status="failed")))
    return [
        Figure("Scans imported", counts["total"], "Import jobs created within the period."),
        Figure("Failed imports", counts["failed"], "Import jobs that failed (their raw file is kept)."),
    ]


def _install() -> None:
    section_register(
        Section(
            key="assets",
            title="Assets in scope",
            columns=tuple(name.replace("__slug", "").replace("__username", "") for name in ASSET_FIELDS),
            rows=_asset_rows,
            count=lambda ctx: _assets(ctx).count(),
            figures=_asset_figures,
            oscal=_asset_oscal,
        )
    )
    section_register(
        Section(
            key="findings",
            title="Findings open during the period",
            columns=tuple(name.replace("__slug", "").replace("__name", "") for name in FINDING_FIELDS),
            rows=_finding_rows,
            count=lambda ctx: _findings(ctx).count(),
            figures=_finding_figures,
            chart=_finding_chart,
            oscal=_finding_oscal,
        )
    )
    section_register(
        Section(
            key="import-jobs",
            title="Scans imported during the period",
            columns=tuple(name.replace("__slug", "").replace("__name", "") for name in JOB_FIELDS),
            rows=_job_rows,
            count=lambda ctx: _jobs(ctx).count(),
            figures=_job_figures,
            evidence=_job_evidence,
        )
    )


_install()
