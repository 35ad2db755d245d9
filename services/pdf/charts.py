"""Charts for the PDF reports, drawn as vector graphics (sharp when printed)."""

from __future__ import annotations

from collections.abc import Sequence

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing, Line, String

from services.pdf.layout import ACCENT, BOLD, CONTENT_WIDTH, FONT, LIGHT_COLORS, MUTED, RULE

CHART_HEIGHT = 150


def _bar_chart(
    labels: Sequence[str], values: Sequence[float], top: float, title: str
) -> tuple[Drawing, VerticalBarChart]:
    drawing = Drawing(CONTENT_WIDTH, CHART_HEIGHT)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 34, 28, CONTENT_WIDTH - 44, CHART_HEIGHT - 50
    chart.data = [list(values)]
    chart.categoryAxis.categoryNames = list(labels)
    chart.categoryAxis.labels.fontName = FONT
    chart.categoryAxis.labels.fontSize = 7
    chart.categoryAxis.labels.fillColor = MUTED
    chart.categoryAxis.strokeColor = RULE
    chart.valueAxis.valueMin, chart.valueAxis.valueMax = 0, top
    chart.valueAxis.labels.fontName = FONT
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.labels.fillColor = MUTED
    chart.valueAxis.strokeColor = RULE
    chart.valueAxis.visibleGrid = True
    chart.valueAxis.gridStrokeColor = RULE
    chart.valueAxis.gridStrokeWidth = 0.3
    chart.bars[0].fillColor = ACCENT
    chart.bars[0].strokeColor = None
    chart.barLabelFormat = "%.0f"
    chart.barLabels.fontName = FONT
    chart.barLabels.fontSize = 6.5
    chart.barLabels.fillColor = MUTED
    chart.barLabels.nudge = 6
    drawing.add(chart)
    drawing.add(String(0, CHART_HEIGHT - 10, title, fontName=BOLD, fontSize=8, fillColor=MUTED))
    return drawing, chart


def scores_chart(labels: Sequence[str], percents: Sequence[float], pass_mark: float) -> Drawing:
    """Recent assessment scores (percent), oldest on the left, with the pass mark as a dashed line."""
    drawing, chart = _bar_chart(labels, percents, 100, "Recent assessment scores (%)")
    chart.width -= 48  # room on the right for the pass mark's label
    for i, value in enumerate(percents):
        light = "green" if value >= 75 else "amber" if value >= pass_mark else "red"
        chart.bars[(0, i)].fillColor = LIGHT_COLORS[light]
    y = chart.y + chart.height * pass_mark / 100
    drawing.add(Line(chart.x, y, chart.x + chart.width, y, strokeColor=MUTED, strokeWidth=0.8, strokeDashArray=[3, 2]))
    label = f"pass {pass_mark:.0f}%"
    drawing.add(String(chart.x + chart.width + 4, y - 2, label, fontName=FONT, fontSize=7, fillColor=MUTED))
    return drawing


def bands_chart(distribution: dict[str, int]) -> Drawing:
    """Learners per grade band, best band on the left."""
    counts = list(distribution.values())
    top = max(counts + [1])
    step = max(1, -(-top // 5))
    drawing, chart = _bar_chart(list(distribution), counts, step * 5 + step, "Learners per grade band")
    chart.valueAxis.valueStep = step
    return drawing
