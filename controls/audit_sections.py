"""What the controls app adds to an audit engagement (``audits.sections``): the controls of the engagement's
frameworks, their assessments (compliance per framework and domain, failing controls with their owners,
OSCAL findings for failing controls), the evidence attached to them (files copied into the bundle with the
SHA-256 recorded at upload) and the exceptions in force during the period.

Every read goes through the controls selectors as the engagement's reader, so the engagement's teams,
environments and restricted scope apply; an assessment or exception of an asset outside the engagement's
assets is left out as the asset is.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any

from django.contrib.postgres.aggregates import StringAgg
from django.db.models import Count, Q, QuerySet

from audits.sections import CHUNK, EvidenceFile, Figure, Section, SectionContext, section_register
from controls.models import (
    Assessment,
    AssessmentStatus,
    Control,
    ControlMapping,
    ControlOwnership,
    Domain,
    Evidence,
    EvidenceKind,
    ExceptionStatus,
    RiskException,
)

# The engagement's framework choices (audits.models.Framework) and the catalogs the controls map to.
CATALOG_FOR_ENGAGEMENT = {
    "nist-csf-2.0": "nist-csf-2",
    "nist-ai-rmf-1.0": "nist-ai-rmf-1",
    "owasp-llm-top-10": "owasp-llm-top-10-2025",
    "mitre-atlas": "mitre-atlas",
    "nist-800-53-rev5": "nist-sp-800-53-rev5",
}
BASELINE = "ai-hygiene-baseline"
FAILING_ROWS_IN_REPORT = 60


def engagement_catalogs(engagement: Any) -> list[str]:
    return [CATALOG_FOR_ENGAGEMENT[f] for f in engagement.frameworks or [] if f in CATALOG_FOR_ENGAGEMENT]


def controls_in_scope(ctx: SectionContext) -> QuerySet[Control]:
    """Controls that map to the engagement's frameworks (the baseline: its controls), in force at some time
    during the period; an engagement naming no framework covers every control."""
    period = ctx.period
    controls = Control.objects.filter(created_at__lt=period.end).filter(
        Q(retired_at__isnull=True) | Q(retired_at__gte=period.start)
    )
    frameworks = list(ctx.engagement.frameworks or [])
    if not frameworks:
        return controls
    wanted = Q(pk__in=ControlMapping.objects.filter(
        requirement__framework__slug__in=engagement_catalogs(ctx.engagement)
    ).values("control_id"))  # fmt: skip
    if BASELINE in frameworks:
        wanted |= Q(from_baseline=True)
    return controls.filter(wanted)


# ---- controls -------------------------------------------------------------------------------------------

CONTROL_FIELDS = ("code", "title", "domain", "mode", "rule", "scope", "cadence_days", "retired_at")


def _control_rows(ctx: SectionContext) -> Iterator[Sequence[Any]]:
    catalogs = engagement_catalogs(ctx.engagement)
    requirement = "mappings__requirement__"
    return (
        controls_in_scope(ctx)
        .order_by("code")
        .annotate(
            requirements=StringAgg(
                f"{requirement}identifier",
                delimiter="; ",
                filter=Q(**{f"{requirement}framework__slug__in": catalogs}),
                distinct=True,
                default="",
            )
        )
        .values_list(*CONTROL_FIELDS, "requirements")
        .iterator(chunk_size=CHUNK)
    )


def _control_figures(ctx: SectionContext) -> list[Figure]:
    counts = controls_in_scope(ctx).aggregate(
        total=Count("id"), automated=Count("id", filter=Q(mode="automated"))
    )
    return [
        Figure("Controls in scope", counts["total"], "Controls mapped to the engagement's frameworks."),
        Figure("Automated controls", counts["automated"], "Assessed by a rule from the app's own data."),
    ]


# ---- assessments ----------------------------------------------------------------------------------------

ASSESSMENT_FIELDS = (
    *("id", "control__code", "control__title", "control__domain", "asset_id", "asset__name", "team__slug"),
    *("status", "reason", "due_on", "exception_id", "assessed_at", "changed_at"),
)


def _assessments(ctx: SectionContext) -> QuerySet[Assessment]:
    from assets.selectors import visible_assets
    from controls.selectors import visible_assessments

    return (
        visible_assessments(ctx.user)
        .filter(control__in=controls_in_scope(ctx))
        .filter(Q(asset__isnull=True) | Q(asset_id__in=visible_assets(ctx.user).values("id")))
        .exclude(status=AssessmentStatus.NOT_APPLICABLE)
    )


def _assessment_rows(ctx: SectionContext) -> Iterator[Sequence[Any]]:
    return _assessments(ctx).order_by("id").values_list(*ASSESSMENT_FIELDS).iterator(chunk_size=CHUNK)


def _tallies(ctx: SectionContext) -> dict[int, dict[str, int]]:
    rows = _assessments(ctx).order_by().values("control_id", "status").annotate(n=Count("id"))
    tallies: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        tallies[row["control_id"]][row["status"]] += row["n"]
    return tallies


def _share(counts: dict[str, int]) -> str:
    applicable = sum(counts.values())
    passing = counts.get(AssessmentStatus.PASSING, 0)
    return f"{100 * passing / applicable:.0f}%" if applicable else "n/a"


def _merge(tallies: dict[int, dict[str, int]], control_ids: Any) -> dict[str, int]:
    merged: dict[str, int] = defaultdict(int)
    for pk in control_ids:
        for status, n in tallies.get(pk, {}).items():
            merged[status] += n
    return merged


def _assessment_figures(ctx: SectionContext) -> list[Figure]:
    from controls.models import Framework

    tallies = _tallies(ctx)
    total = _merge(tallies, tallies)
    figures = [
        Figure(
            "Compliance, all controls in scope",
            _share(total),
            "Passing assessments of all that apply (not-applicable ones left out), as of the export.",
        ),
        Figure(
            "Failing assessments", total.get(AssessmentStatus.FAILING, 0), "Controls failing on a subject."
        ),
        Figure("Excepted assessments", total.get(AssessmentStatus.EXCEPTED, 0), "Covered by an exception."),
        Figure(
            "Not assessed", total.get(AssessmentStatus.NOT_ASSESSED, 0), "Attested without current evidence."
        ),
    ]
    mapped: dict[int, set[int]] = defaultdict(set)
    for framework_id, control_id in ControlMapping.objects.filter(
        requirement__framework__slug__in=engagement_catalogs(ctx.engagement)
    ).values_list("requirement__framework_id", "control_id"):
        mapped[framework_id].add(control_id)
    for framework in Framework.objects.filter(pk__in=list(mapped)).order_by("name"):
        figures.append(
            Figure(
                f"Compliance: {framework.name}",
                _share(_merge(tallies, mapped[framework.pk])),
                "Passing assessments of the controls mapped to the framework.",
            )
        )
    if BASELINE in (ctx.engagement.frameworks or []):
        baseline = Control.objects.filter(pk__in=list(tallies), from_baseline=True).values_list(
            "pk", flat=True
        )
        figures.append(
            Figure(
                "Compliance: AI minimum hygiene baseline",
                _share(_merge(tallies, list(baseline))),
                "Passing assessments of the baseline's controls.",
            )
        )
    domains = dict(Control.objects.filter(pk__in=list(tallies)).values_list("pk", "domain"))
    for value, label in Domain.choices:
        ids = [pk for pk, domain in domains.items() if domain == value]
        if ids:
            figures.append(
                Figure(
                    f"Compliance: {label}", _share(_merge(tallies, ids)), "Passing assessments in the domain."
                )
            )
    return figures


def _assessment_chart(ctx: SectionContext) -> list[tuple[str, int]]:
    counts = dict(_assessments(ctx).order_by().values_list("status").annotate(n=Count("id")))
    return [
        (str(label), counts.get(value, 0))
        for value, label in AssessmentStatus.choices
        if value != AssessmentStatus.NOT_APPLICABLE
    ]


def failing_controls(ctx: SectionContext) -> list[list[Any]]:
    """Failing controls per team with how many subjects fail and who owns the control there."""
    rows = (
        _assessments(ctx)
        .filter(status=AssessmentStatus.FAILING)
        .order_by()
        .values("control_id", "control__code", "control__title", "team_id", "team__name")
        .annotate(n=Count("id"))
        .order_by("control__code", "team__name")
    )
    rows = list(rows[:FAILING_ROWS_IN_REPORT])
    owners = {
        (o.control_id, o.team_id): o
        for o in ControlOwnership.objects.filter(
            control_id__in={r["control_id"] for r in rows}, team_id__in={r["team_id"] for r in rows}
        ).select_related("owner", "champion")
    }
    out = []
    for row in rows:
        ownership = owners.get((row["control_id"], row["team_id"]))
        owner = ownership.owner.get_username() if ownership and ownership.owner else "No owner named"
        champion = ownership.champion.get_username() if ownership and ownership.champion else ""
        out.append(
            [f"{row['control__code']} {row['control__title']}", row["team__name"], row["n"], owner, champion]
        )
    return out


def _assessment_report(ctx: SectionContext) -> tuple[str, list[str], list[list[Any]]]:
    return (
        "Failing controls and their owners",
        ["Control", "Team", "Failing", "Owner", "Champion"],
        failing_controls(ctx),
    )


def _assessment_oscal(ctx: SectionContext, uuid_for: Callable[..., str]) -> dict[str, list[dict[str, Any]]]:
    findings = []
    failing = (
        _assessments(ctx)
        .filter(status=AssessmentStatus.FAILING)
        .order_by("id")
        .values_list(
            "id", "control__code", "control__title", "asset_id", "asset__name", "team__slug", "reason"
        )
    )
    for pk, code, title, asset_id, asset_name, team, reason in failing.iterator(chunk_size=CHUNK):
        subject = asset_name if asset_id else f"team {team}"
        finding: dict[str, Any] = {
            "uuid": uuid_for("assessment", pk),
            "title": f"{code} failing on {subject}"[:500],
            "description": (reason or f"{title}: failing.")[:2000],
            "props": [
                {"name": "assessment-id", "value": str(pk)},
                {"name": "control-code", "value": code},
            ],
            "target": {
                "type": "objective-id",
                "target-id": code.lower(),
                "title": title,
                "status": {"state": "not-satisfied"},
            },
        }
        if asset_id:
            finding["props"].append({"name": "asset-id", "value": str(asset_id)})
        findings.append(finding)
    return {"findings": findings}


# ---- evidence -------------------------------------------------------------------------------------------

EVIDENCE_FIELDS = (
    *("id", "assessment_id", "assessment__control__code", "assessment__asset__name", "team__slug", "kind"),
    *("title", "filename", "content_type", "sha256", "size_bytes", "url", "collected_by__username"),
    *("collected_on", "expires_on"),
)


def _evidence(ctx: SectionContext) -> QuerySet[Evidence]:
    """Evidence of the assessments in scope that stood during the period: collected before its end and not
    expired before its start."""
    period = ctx.period
    start, end = period.start.date(), period.end.date()
    return Evidence.objects.filter(assessment__in=_assessments(ctx), collected_on__lt=end).filter(
        Q(expires_on__isnull=True) | Q(expires_on__gte=start)
    )


def _evidence_rows(ctx: SectionContext) -> Iterator[Sequence[Any]]:
    return _evidence(ctx).order_by("id").values_list(*EVIDENCE_FIELDS).iterator(chunk_size=CHUNK)


def _evidence_files(ctx: SectionContext) -> Iterator[EvidenceFile]:
    from django.utils.text import get_valid_filename

    files = (
        _evidence(ctx)
        .filter(kind=EvidenceKind.FILE)
        .exclude(file="")
        .order_by("id")
        .only("id", "assessment_id", "file", "filename", "size_bytes", "sha256")
    )
    for item in files.iterator(chunk_size=500):
        name = get_valid_filename(item.filename or "evidence") or "evidence"
        yield EvidenceFile(
            path=f"{item.assessment_id}/{item.pk}-{name}",
            size=item.size_bytes,
            open=_opener(item.file),
            sha256=item.sha256,
        )


def _opener(field_file: Any) -> Callable[[], IO[bytes]]:
    def open_file() -> IO[bytes]:
        return field_file.storage.open(field_file.name, "rb")  # type: ignore[no-any-return]

    return open_file


def _evidence_figures(ctx: SectionContext) -> list[Figure]:
    counts = _evidence(ctx).aggregate(total=Count("id"), files=Count("id", filter=Q(kind=EvidenceKind.FILE)))
    return [
        Figure("Evidence records", counts["total"], "Evidence attached to the assessments in scope."),
        Figure("Evidence files", counts["files"], "Copied into the bundle with their SHA-256."),
    ]


# ---- exceptions -----------------------------------------------------------------------------------------

EXCEPTION_FIELDS = (
    *("id", "title", "team__slug", "asset__name", "control__code", "risk_rating", "severity", "status"),
    *("requested_by__username", "decided_by__username", "decided_at", "expires_on", "closed_at"),
    *("justification", "compensating_controls"),
)


def _exceptions(ctx: SectionContext) -> QuerySet[RiskException]:
    """Exceptions approved before the period ended that had not expired nor been closed before it began."""
    from assets.selectors import visible_assets
    from controls.selectors import visible_exceptions

    period = ctx.period
    return (
        visible_exceptions(ctx.user)
        .filter(asset_id__in=visible_assets(ctx.user).values("id"))
        .filter(
            status__in=[ExceptionStatus.APPROVED, ExceptionStatus.EXPIRED, ExceptionStatus.WITHDRAWN],
            decided_at__isnull=False,
            decided_at__lt=period.end,
            expires_on__gte=period.start.date(),
        )
        .filter(Q(closed_at__isnull=True) | Q(closed_at__gte=period.start))
    )


def _exception_rows(ctx: SectionContext) -> Iterator[Sequence[Any]]:
    return _exceptions(ctx).order_by("id").values_list(*EXCEPTION_FIELDS).iterator(chunk_size=CHUNK)


def _exception_figures(ctx: SectionContext) -> list[Figure]:
    counts = _exceptions(ctx).aggregate(
        total=Count("id"),
        high=Count("id", filter=Q(risk_rating__in=["critical", "high"])),
        controls=Count("id", filter=Q(control__isnull=False)),
    )
    return [
        Figure("Exceptions in force", counts["total"], "Approved and in force at some time in the period."),
        Figure("High or critical risk", counts["high"], "Exceptions accepting a high or critical risk."),
        Figure("On controls", counts["controls"], "Exceptions to a control (the rest accept findings)."),
    ]


def _exception_report(ctx: SectionContext) -> tuple[str, list[str], list[list[Any]]]:
    rows = (
        _exceptions(ctx)
        .order_by("expires_on", "id")
        .values_list("id", "title", "asset__name", "control__code", "risk_rating", "expires_on", "status")
    )
    return (
        "Exceptions",
        ["#", "Title", "Asset", "Control", "Risk", "Expires", "Status"],
        [[pk, title, asset, code or "findings", risk, expires, status] for pk, title, asset, code, risk,
         expires, status in rows[:FAILING_ROWS_IN_REPORT]],
    )  # fmt: skip


def install() -> None:
    """Register the sections (from ``ControlsConfig.ready``)."""
    section_register(
        Section(
            key="controls",
            title="Controls of the engagement's frameworks",
            columns=(*CONTROL_FIELDS, "requirements"),
            rows=_control_rows,
            count=lambda ctx: controls_in_scope(ctx).count(),
            figures=_control_figures,
        )
    )
    section_register(
        Section(
            key="assessments",
            title="Control assessments",
            columns=tuple(n.replace("control__", "control_").replace("__slug", "").replace("__name", "")
                          for n in ASSESSMENT_FIELDS),
            rows=_assessment_rows,
            count=lambda ctx: _assessments(ctx).count(),
            figures=_assessment_figures,
            chart=_assessment_chart,
            oscal=_assessment_oscal,
            report_table=_assessment_report,
        )
    )  # fmt: skip
    section_register(
        Section(
            key="control-evidence",
            title="Control evidence",
            columns=tuple(n.replace("assessment__control__code", "control").replace("assessment__asset__name",
                          "asset").replace("__slug", "").replace("__username", "") for n in EVIDENCE_FIELDS),
            rows=_evidence_rows,
            count=lambda ctx: _evidence(ctx).count(),
            figures=_evidence_figures,
            evidence=_evidence_files,
        )
    )  # fmt: skip
    section_register(
        Section(
            key="exceptions",
            title="Exceptions in force during the period",
            columns=tuple(n.replace("__slug", "").replace("__name", "").replace("__username", "")
                          .replace("control__code", "control") for n in EXCEPTION_FIELDS),
            rows=_exception_rows,
            count=lambda ctx: _exceptions(ctx).count(),
            figures=_exception_figures,
            report_table=_exception_report,
        )
    )  # fmt: skip
