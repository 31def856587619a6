"""Where guidance belongs in the case view: the municipality's routines shown next to the parts
of an assessment they are about. A topic is matched against the documents' titles and tags."""

from __future__ import annotations

from fieldkit.errors import N_

# form section id -> (button text, topic) pairs
SECTION_GUIDANCE: dict[str, tuple[tuple[str, str], ...]] = {
    "F_URGENT": (
        (N_("Routine: child-protection report"), "orosanmälan"),
        (N_("Routine: collaboration with the police"), "polis"),
    ),
}
