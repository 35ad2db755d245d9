"""The look shared by every PDF report: A4 pages with a header, a footer with "page X of Y", the
generation time and filters, and the building blocks (headings, figure grids, zebra tables)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

INK = colors.HexColor("#1f2937")
MUTED = colors.HexColor("#6b7280")
ACCENT = colors.HexColor("#2563eb")
RULE = colors.HexColor("#d1d5db")
STRIPE = colors.HexColor("#f3f4f6")
LIGHT_COLORS = {
    "green": colors.HexColor("#15803d"),
    "amber": colors.HexColor("#b45309"),
    "red": colors.HexColor("#b91c1c"),
    "grey": colors.HexColor("#6b7280"),
}
SEVERITY_COLORS = {"high": LIGHT_COLORS["red"], "medium": LIGHT_COLORS["amber"], "low": MUTED}
PAGE_WIDTH, PAGE_HEIGHT = A4
CELL_SIZE, PAD = 8, 3
MARGIN = 16 * mm
CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN


# Bitstream Vera ships inside reportlab (found on its own font path): accented names on every machine,
# and text that pdftotext and screen readers can extract.
pdfmetrics.registerFont(TTFont("Vera", "Vera.ttf"))
pdfmetrics.registerFont(TTFont("Vera-Bold", "VeraBd.ttf"))
FONT, BOLD = "Vera", "Vera-Bold"
STYLES = {
    "title": ParagraphStyle("title", fontName=BOLD, fontSize=18, leading=22, textColor=INK, spaceAfter=2),
    "subtitle": ParagraphStyle("subtitle", fontName=FONT, fontSize=10, leading=13, textColor=MUTED, spaceAfter=8),
    "h2": ParagraphStyle("h2", fontName=BOLD, fontSize=12, leading=15, textColor=ACCENT, spaceBefore=10, spaceAfter=5),
    "body": ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12, textColor=INK, alignment=TA_LEFT),
    "cell": ParagraphStyle("cell", fontName=FONT, fontSize=8, leading=10, textColor=INK),
    "muted": ParagraphStyle("muted", fontName=FONT, fontSize=8, leading=10, textColor=MUTED),
    "figure": ParagraphStyle("figure", fontName=BOLD, fontSize=14, leading=17, textColor=INK),
    "label": ParagraphStyle("label", fontName=FONT, fontSize=7.5, leading=9, textColor=MUTED),
}


def escape(text: Any) -> str:
    """Text safe inside a Paragraph (which reads a small XML dialect)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fmt(value: Any, suffix: str = "", digits: int = 1) -> str:
    """A figure for people: rounded, with a unit; an em dash when there is none."""
    if value is None:
        return "\u2014"
    if isinstance(value, float):
        return f"{value:.{digits}f}{suffix}"
    return f"{value}{suffix}"


def heading(text: str) -> Paragraph:
    return Paragraph(escape(text), STYLES["h2"])


def paragraph(text: str, style: str = "body") -> Paragraph:
    """A paragraph of plain text (escaped)."""
    return Paragraph(escape(text), STYLES[style])


@dataclass(frozen=True)
class Styled:
    """A table cell drawn in a colour (risk lights, severities)."""

    text: str
    color: colors.Color
    bold: bool = True


def colored(text: str, color: colors.Color, bold: bool = True) -> Styled:
    return Styled(text, color, bold)


def fit(text: str, width: float, font: str = FONT, size: float = CELL_SIZE) -> str:
    """The text cut with an ellipsis to fit `width` points on one line (plain cells do not wrap)."""
    if pdfmetrics.stringWidth(text, font, size) <= width:
        return text
    while text and pdfmetrics.stringWidth(text + "\u2026", font, size) > width:
        text = text[:-1]
    return text + "\u2026"


def figures(items: Sequence[tuple[str, str]], columns: int = 4) -> Table:
    """A grid of key figures: big value over a small label, as on a dashboard's cards."""
    cells = [
        [Paragraph(escape(value), STYLES["figure"]), Paragraph(escape(label), STYLES["label"])]
        for label, value in items
    ]
    rows: list[list[Any]] = [cells[i : i + columns] for i in range(0, len(cells), columns)]
    rows[-1] += [""] * (columns - len(rows[-1]))
    table = Table(rows, colWidths=[CONTENT_WIDTH / columns] * columns)
    table.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 0.5, RULE),
                ("INNERGRID", (0, 0), (-1, -1), 0.5, RULE),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 6),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
            ]
        )
    )
    return table


def data_table(
    header: Sequence[str], rows: Sequence[Sequence[Any]], widths: Sequence[float], wrap: Sequence[int] = ()
) -> Table:
    """A striped table whose header repeats on every page it spans. Cells are plain one-line text (cut to
    fit: a Paragraph per cell made a 1,000-row roster take 12 s); only the `wrap` columns wrap."""
    total = sum(widths)
    col_widths = [CONTENT_WIDTH * w / total for w in widths]
    body: list[list[Any]] = [list(header)]
    style = [
        ("FONT", (0, 0), (-1, 0), FONT, 7.5),
        ("TEXTCOLOR", (0, 0), (-1, 0), MUTED),
        ("FONT", (0, 1), (-1, -1), FONT, CELL_SIZE),
        ("TEXTCOLOR", (0, 1), (-1, -1), INK),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, INK),
        ("LINEBELOW", (0, -1), (-1, -1), 0.5, RULE),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LEFTPADDING", (0, 0), (-1, -1), PAD),
        ("RIGHTPADDING", (0, 0), (-1, -1), PAD),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    for r, row in enumerate(rows, start=1):
        cells = []
        for c, value in enumerate(row):
            if isinstance(value, Styled):
                style += [
                    ("TEXTCOLOR", (c, r), (c, r), value.color),
                    ("FONT", (c, r), (c, r), BOLD if value.bold else FONT, CELL_SIZE),
                ]
                value = value.text
            text = str(value)
            cells.append(Paragraph(escape(text), STYLES["cell"]) if c in wrap else fit(text, col_widths[c] - 2 * PAD))
        body.append(cells)
    style += [("BACKGROUND", (0, i), (-1, i), STRIPE) for i in range(2, len(body), 2)]
    table = Table(body, colWidths=col_widths, repeatRows=1)
    table.setStyle(TableStyle(style))
    return table


def empty_note(text: str) -> Paragraph:
    return Paragraph(escape(text), STYLES["muted"])


class _NumberedCanvas(canvas.Canvas):
    """Draws the header and footer once the page count is known ("page X of Y")."""

    def __init__(self, *args: Any, chrome: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict[str, Any]] = []
        self._chrome = chrome

    def showPage(self) -> None:  # noqa: N802  (reportlab's name)
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        for number, state in enumerate(self._pages, start=1):
            self.__dict__.update(state)
            self._draw_chrome(number, len(self._pages))
            super().showPage()
        super().save()

    def _draw_chrome(self, number: int, total: int) -> None:
        top, bottom = PAGE_HEIGHT - 10 * mm, 9 * mm
        self.setStrokeColor(RULE)
        self.setLineWidth(0.5)
        self.line(MARGIN, top - 2.5 * mm, PAGE_WIDTH - MARGIN, top - 2.5 * mm)
        self.line(MARGIN, bottom + 4 * mm, PAGE_WIDTH - MARGIN, bottom + 4 * mm)
        self.setFont(BOLD, 8)
        self.setFillColor(ACCENT)
        self.drawString(MARGIN, top, "LearnPulse")
        self.setFont(FONT, 8)
        self.setFillColor(MUTED)
        self.drawRightString(PAGE_WIDTH - MARGIN, top, self._chrome["title"])
        self.drawString(MARGIN, bottom, self._chrome["footer"])
        self.drawRightString(PAGE_WIDTH - MARGIN, bottom, f"Page {number} of {total}")


@dataclass
class Document:
    """A report gathered from the database, ready to lay out (render needs no database or request)."""

    title: str
    subtitle: str
    story: list[Any]
    generated_at: datetime
    filters: dict[str, Any]

    def render(self) -> bytes:
        return render(self.title, self.subtitle, self.story, self.generated_at, self.filters)


def render(title: str, subtitle: str, story: list[Any], generated_at: datetime, filters: dict[str, Any]) -> bytes:
    """The report as PDF bytes: a title block, then the story, on paged A4 with header and footer."""
    shown = ", ".join(f"{k}={v}" for k, v in filters.items()) or "none"
    footer = f"Generated {generated_at.strftime('%Y-%m-%d %H:%M UTC')} \u00b7 Filters: {shown}"
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN + 4 * mm,
        bottomMargin=MARGIN + 2 * mm,
        title=title,
        author="LearnPulse",
        subject=subtitle,
    )
    header = [Paragraph(escape(title), STYLES["title"]), Paragraph(escape(subtitle), STYLES["subtitle"]), Spacer(1, 2)]

    def make_canvas(*args: Any, **kwargs: Any) -> _NumberedCanvas:
        return _NumberedCanvas(*args, chrome={"title": title, "footer": footer}, **kwargs)

    doc.build(header + story, canvasmaker=make_canvas)
    return buffer.getvalue()
