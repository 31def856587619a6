"""Form definitions (``fieldkit.form/1``): loading, checking, conditions, answer validation and
the UI-neutral form model. Pure: no storage, no Qt, no network.

The engine never sums, averages or derives a level from ratings; the overall judgement is
always the assessor's own answer (``scoring: none`` is the only mode).
"""

from fieldkit.forms.conditions import evaluate
from fieldkit.forms.defaults import Suggestion, suggest_defaults
from fieldkit.forms.definition import Check, Form, Item, Option, Section
from fieldkit.forms.errors import ConditionError, FormError, FormProblem
from fieldkit.forms.loader import load_form, load_form_text
from fieldkit.forms.model import FormView, ItemView, SectionView, build_view
from fieldkit.forms.registry import FormNotFound, FormRegistry, default_registry
from fieldkit.forms.validation import Issue, ValidationResult, validate

__all__ = [
    "Check",
    "ConditionError",
    "Form",
    "FormError",
    "FormNotFound",
    "FormProblem",
    "FormRegistry",
    "FormView",
    "Issue",
    "Item",
    "ItemView",
    "Option",
    "Section",
    "SectionView",
    "Suggestion",
    "ValidationResult",
    "build_view",
    "default_registry",
    "evaluate",
    "load_form",
    "load_form_text",
    "suggest_defaults",
    "validate",
]
