"""A list of the team lead's overview read a page at a time, the caseload's way
(``fieldkit.ui.paging.PagedList``): the first page with the count of all, the next one as she
scrolls or arrows past the last row, every read off the GUI thread. This module gives it its
table, in the columns it is given, and its count."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fieldkit.ui import paging
from fieldkit.ui.context import AppContext
from fieldkit.ui.paging import PAGE, CountText, Reader
from fieldkit.ui.qt import QAbstractItemView, QHeaderView, QLabel, QTableView, QWidget
from fieldkit.ui.review.model import Column, PagedTableModel

__all__ = ["CountText", "PagedList", "Reader"]


class PagedList(paging.PagedList):
    def __init__(
        self,
        ctx: AppContext,
        read: Reader,
        columns: Sequence[Column],
        key: Callable[[Any], str],
        count_text: CountText,
        parent: QWidget,
        *,
        page: int = PAGE,
    ) -> None:
        model = PagedTableModel(columns, key)
        table = QTableView(parent)
        count = QLabel("", parent)
        count.setObjectName("Hint")
        super().__init__(
            ctx, model, table, count, count_text, read, page=page, fit_columns=True, parent=parent
        )
        model.setParent(self)
        self.model: PagedTableModel = model
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setAlternatingRowColors(True)
        table.setTabKeyNavigation(False)  # Tab leaves the table for the next control
        table.verticalHeader().hide()
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
