"""Charts as data: a Plotly figure built in Python, its numbers as a table, and where each point leads.

The page embeds the figure with ``json_script`` (the CSP forbids inline script) and ``metrics.js``
draws it with the plotly.js the project serves; a click on a bar or point opens the URL in its
``customdata`` (the filtered list it counts). The same table is offered as CSV.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

SEVERITY_COLOURS = {
    "critical": "#7f1d1d",
    "high": "#c2410c",
    "medium": "#b45309",
    "low": "#1e40af",
    "info": "#64748b",
}


@dataclass
class Chart:
    key: str
    title: str
    formula: str
    headers: list[str]
    rows: list[list[Any]] = field(default_factory=list)  # cells; a (text, url) tuple is a link
    figure: dict[str, Any] | None = None
    empty: str = ""  # the sentence shown instead of an empty axis
    note: str = ""

    @property
    def data_id(self) -> str:
        return f"chart-data-{self.key}"

    @property
    def has_data(self) -> bool:
        return self.figure is not None and not self.empty

    def csv_rows(self) -> list[list[str]]:
        return [self.headers] + [[_plain(cell) for cell in row] for row in self.rows]

    def table(self) -> list[list[dict[str, str]]]:
        return [[_cell(cell) for cell in row] for row in self.rows]

    def table_rows_html(self) -> SafeString:
        """The table's rows as HTML (every value escaped), built here: the template engine spent longer
        on a month's cells and links than the queries behind them."""
        return format_html_join("", "<tr>{}</tr>", ((_row_html(row),) for row in self.table()))


def _row_html(row: list[dict[str, str]]) -> SafeString:
    return format_html_join(
        "",
        "{}",
        (
            (
                format_html('<td><a href="{}">{}</a></td>', cell["url"], cell["text"])
                if cell["url"]
                else format_html("<td>{}</td>", cell["text"]),
            )
            for cell in row
        ),
    )


def _plain(cell: Any) -> str:
    if isinstance(cell, tuple):
        return str(cell[0])
    return "" if cell is None else str(cell)


def _cell(cell: Any) -> dict[str, str]:
    if isinstance(cell, tuple):
        return {"text": str(cell[0]), "url": str(cell[1])}
    return {"text": "—" if cell is None else str(cell), "url": ""}


def label(text: str) -> str:
    """Team and asset names come from people; plotly.js reads labels as HTML."""
    return html.escape(text, quote=True)


def figure(
    traces: list[dict[str, Any]], *, x_title: str = "", y_title: str = "", **layout: Any
) -> dict[str, Any]:
    """The figure as plotly.js reads it, built as plain dicts: plotly's Python classes validated and
    serialized every trace (tens of milliseconds a page), for shapes written here once."""
    settings: dict[str, Any] = {
        "margin": {"l": 50, "r": 20, "t": 10, "b": 40},
        "height": 300,
        "legend": {"orientation": "h", "y": -0.2},
        "xaxis": {"title": {"text": x_title}},
        "yaxis": {"title": {"text": y_title}},
        "hovermode": "closest",
    }
    return {"data": traces, "layout": {**settings, **layout}}


def bar(x: list[Any], y: list[Any], *, name: str, urls: list[str], colour: str = "") -> dict[str, Any]:
    trace: dict[str, Any] = {
        "type": "bar",
        "x": x,
        "y": y,
        "name": name,
        "customdata": urls,
        "hovertemplate": "%{x}: %{y}<extra>" + name + "</extra>",
    }
    if colour:
        trace["marker"] = {"color": colour}
    return trace


def line(x: list[Any], y: list[Any], *, name: str, urls: list[str], colour: str = "") -> dict[str, Any]:
    trace: dict[str, Any] = {
        "type": "scatter",
        "x": x,
        "y": y,
        "name": name,
        "mode": "lines+markers",
        "customdata": urls,
        "hovertemplate": "%{x}: %{y}<extra>" + name + "</extra>",
    }
    if colour:
        trace["line"] = {"color": colour}
    return trace


def heatmap(
    x: list[str], y: list[str], z: list[list[float | None]], *, urls: list[list[str]], text: list[list[str]]
) -> dict[str, Any]:
    return {
        "type": "heatmap",
        "x": x,
        "y": y,
        "z": z,
        "customdata": urls,
        "text": text,
        "texttemplate": "%{text}",
        "zmin": 0,
        "zmax": 100,
        "colorscale": [[0, "#fee2e2"], [0.5, "#fef3c7"], [1, "#dcfce7"]],
        "hovertemplate": "%{y} × %{x}: %{text}<extra></extra>",
        "showscale": False,
    }
