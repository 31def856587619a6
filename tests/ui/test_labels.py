"""The Swedish editor's terms: a shared code gets its own word where Swedish needs one."""

from __future__ import annotations

from fieldkit import i18n
from fieldkit.ui.labels import CONSENT_GIVER, label


def test_other_is_annat_for_a_contact_but_annan_for_a_consent_giver() -> None:
    i18n.compile_language("sv")
    i18n.translation.cache_clear()
    i18n.set_language("sv")
    assert label("other") == "Annat"
    assert label("other", CONSENT_GIVER) == "Annan"
    assert label("report_child") == "Orosanmälan"
    assert label("team_lead") == "Gruppledare"
    i18n.set_language("en")
    assert label("other", CONSENT_GIVER) == "Other"
    assert label("relative_support") == "Support for relatives"
