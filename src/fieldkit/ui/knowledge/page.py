"""The municipality's guidance documents, pulled by sync and readable offline: a list, a search
box and the document rendered from Markdown."""

from __future__ import annotations

from typing import Any

from fieldkit.i18n import _
from fieldkit.ui.context import SYNC, AppContext
from fieldkit.ui.i18n import fmt_date
from fieldkit.ui.qt import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    Qt,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)


def _documents(session: Any, query: str) -> list[Any]:
    from fieldkit.services import knowledge

    if query.strip():
        return list(knowledge.search_documents(session, query))
    return list(knowledge.list_documents(session))


class KnowledgePage(QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.documents: list[Any] = []
        self._wanted: str | None = None  # a tag or title to open once the list is in
        title = QLabel(_("Guidance"), self)
        title.setObjectName("PageTitle")
        hint = QLabel(
            _("Routines and guidance from your municipality. Available offline; updated at sync."),
            self,
        )
        hint.setObjectName("Hint")
        self.search = QLineEdit(self)
        self.search.setPlaceholderText(_("Search the guidance"))
        self.search.setAccessibleName(_("Search the guidance"))
        self.search.setClearButtonEnabled(True)
        self.search.returnPressed.connect(self.reload)
        self.search.textChanged.connect(lambda t: self.reload() if not t else None)
        self.list = QListWidget(self)
        self.list.setAccessibleName(_("Guidance documents"))
        self.list.setWordWrap(True)
        self.list.setSpacing(3)
        self.list.currentItemChanged.connect(self._show_current)
        self.reader = QTextBrowser(self)
        self.reader.setAccessibleName(_("Guidance document"))
        self.reader.setOpenExternalLinks(False)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(self.list)
        splitter.addWidget(self.reader)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([330, 900])
        top = QHBoxLayout()
        top.addWidget(self.search)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 14, 18, 10)
        layout.addWidget(title)
        layout.addWidget(hint)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)
        ctx.changed.connect(lambda kinds: self.reload() if SYNC in kinds else None)

    def reload(self) -> None:
        self.ctx.call(_documents, self.search.text(), on_done=self._loaded)

    def _loaded(self, documents: list[Any]) -> None:
        self.documents = documents
        self.list.clear()
        for doc in documents:
            item = QListWidgetItem(doc.title)
            item.setData(Qt.ItemDataRole.UserRole, doc.id)
            self.list.addItem(item)
        if not documents:
            self.reader.setMarkdown(
                _("No guidance documents found.")
                if self.search.text()
                else _("No guidance documents yet. They arrive with the next sync.")
            )
            return
        target = 0
        if self._wanted:
            wanted = self._wanted.casefold()
            for i, doc in enumerate(documents):
                if wanted in doc.title.casefold() or any(t.casefold() == wanted for t in doc.tags):
                    target = i
                    break
            self._wanted = None
        self.list.setCurrentRow(target)

    def _show_current(self, item: QListWidgetItem | None, _previous: Any = None) -> None:
        if item is None:
            return
        doc = next((d for d in self.documents if d.id == item.data(Qt.ItemDataRole.UserRole)), None)
        if doc is None:
            return
        published = fmt_date(doc.published_at) if not isinstance(doc.published_at, str) else ""
        footer = _("Version {version}, published {date}").format(
            version=doc.version, date=published
        )
        self.reader.setMarkdown(f"{doc.body_markdown}\n\n---\n\n*{footer}*")

    def open_topic(self, tag_or_title: str) -> None:
        """Show the document about a topic (e.g. 'concern-report'), from the case view."""
        self._wanted = tag_or_title
        self.search.clear()
        self.reload()
