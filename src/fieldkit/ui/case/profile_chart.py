"""The risk/protective profile over time: for each rated factor (grouped by domain) and each
submitted assessment, the rating exactly as the assessor gave it. "Unknown" is drawn as
unknown (hatched, with the word), an unanswered factor as a dash. Nothing is ever summed,
averaged or turned into a score: each cell is one answer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fieldkit.i18n import _
from fieldkit.ui.i18n import fmt_date
from fieldkit.ui.qt import (
    QBrush,
    QColor,
    QFontMetrics,
    QLabel,
    QPainter,
    QPen,
    QRectF,
    QScrollArea,
    QSize,
    Qt,
    QVBoxLayout,
    QWidget,
)

SHOWN_STATUSES = ("submitted", "approved", "superseded", "returned")
UNKNOWN = "unknown"


@dataclass
class FactorRow:
    item_id: str
    label: str
    scale: list[tuple[str, str]]  # (code, label) in the form's order, "unknown" left out
    unknown_label: str
    values: list[str | None] = field(default_factory=list)  # one per assessment


@dataclass
class Domain:
    title: str
    rows: list[FactorRow] = field(default_factory=list)


@dataclass
class ProfileSeries:
    columns: list[str]  # one heading per assessment (its date)
    statuses: list[str]
    domains: list[Domain]

    @property
    def empty(self) -> bool:
        return not self.columns


def profile_series(
    assessments: list[Any], form_of: Callable[[Any], Any], language: str
) -> ProfileSeries:
    """Walk each shown assessment's form view and collect its ratings (worker thread)."""
    from fieldkit.forms.model import build_view

    shown = [a for a in assessments if a.status.value in SHOWN_STATUSES]
    shown.sort(key=lambda a: a.submitted_at or a.created_at)
    domains: dict[str, Domain] = {}
    rows: dict[str, FactorRow] = {}
    columns, statuses = [], []
    for column, a in enumerate(shown):
        view = build_view(form_of(a), a.answers, a.overrides, language)
        columns.append(fmt_date(a.submitted_at or a.created_at))
        statuses.append(a.status.value)
        for section in view.sections:
            for item in section.items:
                if item.type != "rating":
                    continue
                domain = domains.setdefault(section.id, Domain(section.title))
                row = rows.get(item.id)
                if row is None:
                    unknown = next(
                        (o.label for o in item.options if o.code == UNKNOWN), _("Unknown")
                    )
                    row = FactorRow(
                        item.id,
                        item.label,
                        [(o.code, o.label) for o in item.options if o.code != UNKNOWN],
                        unknown,
                    )
                    rows[item.id] = row
                    domain.rows.append(row)
                while len(row.values) < column:
                    row.values.append(None)
                value = item.value
                code = value.get("rating") if isinstance(value, dict) else value
                row.values.append(code if isinstance(code, str) else None)
    for row in rows.values():
        while len(row.values) < len(columns):
            row.values.append(None)
    return ProfileSeries(columns, statuses, list(domains.values()))


class ProfileChart(QWidget):
    """A painted grid: factors down, assessments across, each cell one rating."""

    LABEL_W = 340
    CELL_W = 150
    ROW_H = 30
    HEAD_H = 44

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.series = ProfileSeries([], [], [])
        self.setAccessibleName(_("Risk and protective profile over time"))

    def set_series(self, series: ProfileSeries) -> None:
        self.series = series
        rows = sum(1 + len(d.rows) for d in series.domains)
        self.setMinimumSize(
            QSize(
                self.LABEL_W + self.CELL_W * max(1, len(series.columns)) + 20,
                self.HEAD_H + rows * self.ROW_H + 20,
            )
        )
        self.setAccessibleDescription(self._describe())
        self.update()

    def _describe(self) -> str:
        lines = []
        for domain in self.series.domains:
            for row in domain.rows:
                values = [self._text(row, v) for v in row.values]
                lines.append(f"{domain.title}: {row.label}: " + ", ".join(values))
        return "\n".join(lines)

    @staticmethod
    def _text(row: FactorRow, value: str | None) -> str:
        if value is None:
            return "—"
        if value == UNKNOWN:
            return row.unknown_label
        return dict(row.scale).get(value, value)

    @property
    def label_w(self) -> int:
        cells = self.CELL_W * max(1, len(self.series.columns))
        return max(self.LABEL_W, min(640, self.width() - cells - 20))

    def paintEvent(self, _event: Any) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor("#ffffff"))
        ink = QColor("#1f2a33")
        hint = QColor("#5f6b74")
        grid = QColor("#e3e8ec")
        metrics = QFontMetrics(self.font())
        bold = self.font()
        bold.setBold(True)
        # header: one column per assessment
        p.setPen(ink)
        p.setFont(bold)
        for i, heading in enumerate(self.series.columns):
            x = self.label_w + i * self.CELL_W
            status = self.series.statuses[i]
            p.drawText(QRectF(x, 4, self.CELL_W, 20), Qt.AlignmentFlag.AlignCenter, heading)
            p.setFont(self.font())
            p.setPen(hint)
            p.drawText(
                QRectF(x, 22, self.CELL_W, 18),
                Qt.AlignmentFlag.AlignCenter,
                {
                    "approved": _("Approved"),
                    "submitted": _("Submitted"),
                    "returned": _("Returned"),
                    "superseded": _("Superseded"),
                }.get(status, status),
            )
            p.setPen(ink)
            p.setFont(bold)
        y = self.HEAD_H
        for domain in self.series.domains:
            p.setFont(bold)
            p.setPen(QColor("#12324a"))
            p.drawText(
                QRectF(6, y, self.label_w + self.CELL_W * len(self.series.columns), self.ROW_H),
                Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                domain.title,
            )
            y += self.ROW_H
            p.setFont(self.font())
            for row in domain.rows:
                p.setPen(QPen(grid))
                p.drawLine(0, int(y), self.label_w + self.CELL_W * len(self.series.columns), int(y))
                p.setPen(ink)
                text = metrics.elidedText(row.label, Qt.TextElideMode.ElideRight, self.label_w - 24)
                p.drawText(
                    QRectF(18, y, self.label_w - 24, self.ROW_H),
                    Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                    text,
                )
                for i, value in enumerate(row.values):
                    self._cell(
                        p,
                        QRectF(
                            self.label_w + i * self.CELL_W + 4,
                            y + 3,
                            self.CELL_W - 8,
                            self.ROW_H - 6,
                        ),
                        row,
                        value,
                    )
                y += self.ROW_H
        p.end()

    def _cell(self, p: QPainter, rect: QRectF, row: FactorRow, value: str | None) -> None:
        if value is None:
            p.setPen(QColor("#8a969f"))
            p.drawText(rect, Qt.AlignmentFlag.AlignCenter, "—")
            return
        if value == UNKNOWN:
            p.setPen(QPen(QColor("#9fb0bc")))
            p.setBrush(QBrush(QColor("#cfd8df"), Qt.BrushStyle.BDiagPattern))
            p.drawRoundedRect(rect, 3, 3)
            p.setPen(QColor("#1f2a33"))
            p.drawText(rect, Qt.AlignmentFlag.AlignCenter, row.unknown_label)
            return
        codes = [c for c, _label in row.scale]
        position = codes.index(value) if value in codes else 0
        # dots: the scale's steps, the given one filled (its place on the scale, not a number)
        dot = 7.0
        for k in range(len(codes)):
            cx = rect.left() + 6 + k * (dot + 4)
            cy = rect.center().y() - dot / 2
            p.setPen(QPen(QColor("#2d6a8f")))
            p.setBrush(QBrush(QColor("#2d6a8f") if k == position else QColor("#ffffff")))
            p.drawEllipse(QRectF(cx, cy, dot, dot))
        p.setPen(QColor("#1f2a33"))
        text_rect = QRectF(
            rect.left() + 10 + len(codes) * (dot + 4),
            rect.top(),
            rect.width() - 10 - len(codes) * (dot + 4),
            rect.height(),
        )
        p.drawText(
            text_rect,
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
            self._text(row, value),
        )


class ProfileTab(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.note = QLabel(_("No submitted assessments to show yet."), self)
        self.note.setObjectName("Hint")
        explain = QLabel(
            _(
                "Each cell is the rating given in that assessment, on the factor's own scale. "
                "Unknown is shown as unknown. Ratings are never added up: the overall level is "
                "the assessor's own judgement."
            ),
            self,
        )
        explain.setWordWrap(True)
        explain.setObjectName("Hint")
        self.chart = ProfileChart(self)
        scroll = QScrollArea(self)
        scroll.setWidget(self.chart)
        scroll.setWidgetResizable(True)
        layout = QVBoxLayout(self)
        layout.addWidget(explain)
        layout.addWidget(self.note)
        layout.addWidget(scroll, 1)

    def show_bundle(self, bundle: Any) -> None:
        series = bundle.profile
        if series is None:
            series = ProfileSeries([], [], [])
        self.chart.set_series(series)
        self.note.setVisible(series.empty)
