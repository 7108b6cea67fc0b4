"""The engagement's PDF report, drawn with ReportLab alone (pure pip, charts included, no system library)."""

from __future__ import annotations

import io
from typing import Any

from django.utils import timezone
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from audits.models import Engagement
from audits.sections import SECTIONS, Section, SectionContext, sections
from hygiene.services.audit import audit_event

PENDING_SECTIONS = {
    "assessments": "Control assessments and compliance per framework and domain",
    "exceptions": "Exceptions in force during the period",
    "incidents": "Incidents",
}
TABLE_STYLE = TableStyle(
    [
        ("FONT", (0, 0), (-1, -1), "Helvetica", 9),
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 9),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8edf3")),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#9aa5b1")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
)


def engagement_report_pdf(*, engagement: Engagement, actor: Any) -> bytes:
    """The PDF report of ``engagement`` as read within its scope; the export is audited."""
    from audits.selectors import section_context

    ctx = section_context(engagement)
    styles = getSampleStyleSheet()
    story: list[Any] = [
        Paragraph(f"Audit report: {_esc(engagement.name)}", styles["Title"]),
        Paragraph(
            f"Generated {timezone.now():%Y-%m-%d %H:%M} UTC for {_esc(actor.get_username())}",
            styles["Normal"],
        ),
        Spacer(1, 0.4 * cm),
        Paragraph("Summary", styles["Heading2"]),
        _table([["", ""], *_summary_rows(engagement)], widths=[5 * cm, 11 * cm], header=False),
    ]
    for section in sections():
        story += _section_story(section, ctx, styles)
    missing = [title for key, title in PENDING_SECTIONS.items() if key not in SECTIONS]
    if missing:
        story += [
            Spacer(1, 0.3 * cm),
            Paragraph("Not covered by this installation", styles["Heading2"]),
            Paragraph(
                "These parts of the report come from modules not installed here yet, so the report says "
                "nothing about them: " + "; ".join(missing) + ".",
                styles["Normal"],
            ),
        ]
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=A4, title=f"Audit report: {engagement.name}", author="hygiene", leftMargin=2 * cm
    )
    document.build(story)
    audit_event(
        action="export",
        object_type="audits_engagement",
        object_id=str(engagement.pk),
        actor_id=actor.pk,
        actor_label=actor.get_username(),
        detail={"format": "pdf-report"},
    )
    return buffer.getvalue()


def _esc(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _summary_rows(engagement: Engagement) -> list[list[str]]:
    teams = ", ".join(team.name for team in engagement.teams.all()) or "All teams"
    return [
        ["Auditor", engagement.auditor.get_username()],
        ["Period", f"{engagement.period_start:%Y-%m-%d} to {engagement.period_end:%Y-%m-%d}"],
        ["Frameworks", ", ".join(engagement.framework_labels()) or "None named"],
        ["Teams", teams],
        ["Environments", ", ".join(engagement.environments) or "All environments"],
        ["Restricted data", "In scope" if engagement.restricted_in_scope else "Out of scope"],
        ["Access ends", f"{engagement.access_end:%Y-%m-%d %H:%M}"],
    ]


def _table(rows: list[list[Any]], *, widths: list[float], header: bool = True) -> Table:
    body = rows if header else rows[1:]
    cells = [[Paragraph(_esc(str(cell)), getSampleStyleSheet()["BodyText"]) for cell in row] for row in body]
    table = Table(cells, colWidths=widths, repeatRows=1 if header else 0)
    table.setStyle(TABLE_STYLE if header else TableStyle([("GRID", (0, 0), (-1, -1), 0.25, colors.grey)]))
    return table


def _section_story(section: Section, ctx: SectionContext, styles: Any) -> list[Any]:
    story: list[Any] = [Spacer(1, 0.3 * cm), Paragraph(_esc(section.title), styles["Heading2"])]
    figures = section.figures(ctx)
    if figures:
        rows = [["Measure", "Value", "Definition"], *([f.label, f.value, f.definition] for f in figures)]
        story.append(_table(rows, widths=[5 * cm, 2.5 * cm, 8.5 * cm]))
    if section.chart is not None:
        bars = section.chart(ctx)
        if bars:
            story += [Spacer(1, 0.2 * cm), _bar_chart(bars)]
    if section.report_table is not None:
        heading, columns, rows = section.report_table(ctx)
        story += [Spacer(1, 0.2 * cm), Paragraph(_esc(heading), styles["Heading3"])]
        if rows:
            width = 16 * cm / len(columns)
            story.append(_table([list(columns), *rows], widths=[width] * len(columns)))
        else:
            story.append(Paragraph("None.", styles["Normal"]))
    return story


def _bar_chart(bars: list[tuple[str, int]]) -> Drawing:
    drawing = Drawing(16 * cm, 5 * cm)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 1 * cm, 0.8 * cm, 14 * cm, 3.8 * cm
    chart.data = [[value for _, value in bars]]
    chart.categoryAxis.categoryNames = [label for label, _ in bars]
    chart.valueAxis.valueMin = 0
    chart.valueAxis.valueMax = max(1, *(value for _, value in bars))
    chart.bars[0].fillColor = colors.HexColor("#3b6ea8")
    drawing.add(chart)
    return drawing
