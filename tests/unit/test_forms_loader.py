"""Form definitions: the shipped forms load; every kind of malformed definition is refused with
a precise FormError (file, item, line, what is wrong), never a traceback; released versions are
immutable."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldkit.forms import FormError, FormRegistry, load_form, load_form_text
from fieldkit.forms.errors import FormProblem
from fieldkit.forms.registry import LOCK_NAME, shipped_forms_dir, write_lock

FORMS = shipped_forms_dir()


def minimal() -> dict[str, Any]:
    return {
        "schema": "fieldkit.form/1",
        "form": {
            "id": "test.form",
            "version": "1.0.0",
            "status": "draft",
            "locales": ["sv", "en"],
            "title": {"sv": "Test", "en": "Test"},
            "scoring": "none",
            "reassessment_item": "R1",
        },
        "scales": {
            "concern": [
                {"code": "none", "sv": "Inte aktuellt", "en": "Not present"},
                {"code": "clear", "sv": "Tydligt", "en": "Clearly present"},
                {"code": "unknown", "sv": "Okänt", "en": "Unknown"},
            ]
        },
        "sections": [
            {
                "id": "A",
                "title": {"sv": "A", "en": "A"},
                "items": [
                    {
                        "id": "A1",
                        "type": "rating",
                        "scale": "concern",
                        "label": {"sv": "Fråga ett", "en": "Question one"},
                    },
                    {"id": "A2", "type": "text", "label": {"sv": "Två", "en": "Two"}},
                    {
                        "id": "R1",
                        "type": "date",
                        "required": True,
                        "label": {"sv": "Ny bedömning", "en": "Re-assessment"},
                    },
                ],
            }
        ],
    }


def dump(doc: dict[str, Any]) -> str:
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


def problems_of(source: str | bytes, file: str = "t.yaml") -> list[FormProblem]:
    with pytest.raises(FormError) as info:
        load_form_text(source, file)
    assert info.value.problems
    return list(info.value.problems)


def rendered(source: str | bytes) -> str:
    return "\n".join(p.render() for p in problems_of(source))


# --- the shipped forms ---------------------------------------------------------------------


def test_shipped_forms_load_side_by_side() -> None:
    registry = FormRegistry.load()
    keys = [f.key for f in registry.all()]
    assert {"fk.vbe.concern@1.0.0", "fk.vbe.concern@1.1.0", "fk.relatives.followup@1.0.0"} <= set(
        keys
    )
    assert registry.latest("fk.vbe.concern").version == "1.2.0"
    old = registry.get("fk.vbe.concern", "1.0.0")
    new = registry.get("fk.vbe.concern", "1.1.0")
    assert old.item("S7") is None and new.item("S7") is not None
    # ids are stable across versions: everything 1.0.0 asked, 1.1.0 still asks under the same id
    assert set(old.item_ids) <= set(new.item_ids)
    assert old.scales["concern"][1].labels["sv"] != new.scales["concern"][1].labels["sv"]


def test_shipped_forms_are_original_bilingual_and_never_score() -> None:
    for form in FormRegistry.load().all():
        assert form.scoring == "none"
        assert set(form.locales) == {"sv", "en"}
        assert form.reassessment_item is not None
        for item in form.items():
            assert item.label["sv"] and item.label["en"]
            assert all(isinstance(o.code, str) for o in item.options)


def test_concern_form_keeps_warning_signs_apart_and_opens_immediate_actions() -> None:
    form = FormRegistry.load().get("fk.vbe.concern", "1.1.0")
    sections = {s.id: s for s in form.sections}
    assert sections["F"].when is None and sections["F_URGENT"].when is not None
    assert [i.id for i in sections["F_URGENT"].items] == ["FU1", "FU2", "FU3", "FU4"]
    s1 = form.item("S1")
    assert s1 is not None and s1.type == "singleselect" and s1.required


def test_lock_file_matches_the_shipped_forms() -> None:
    lock = json.loads((FORMS / LOCK_NAME).read_text())
    registry = FormRegistry.load()
    for key, digest in lock["forms"].items():
        form_id, version = key.split("@")
        assert registry.get(form_id, version).content_hash == digest


# --- malformed definitions -----------------------------------------------------------------


def test_wrong_type_names_the_item_and_line() -> None:
    doc = minimal()
    doc["sections"][0]["items"][1]["min_length"] = "ten"
    text = rendered(dump(doc))
    assert "item A2 (min_length)" in text
    assert "t.yaml:" in text and "'ten' is not of type 'integer'" in text


def test_unknown_scale() -> None:
    doc = minimal()
    doc["sections"][0]["items"][0]["scale"] = "concerns"
    (p,) = problems_of(dump(doc))
    assert p.where == "item A1 (scale)"
    assert "concerns" in p.render() and "not defined" in p.render()
    assert p.line is not None


def test_duplicate_item_ids_across_sections() -> None:
    doc = minimal()
    doc["sections"].append(
        {
            "id": "B",
            "title": {"sv": "B", "en": "B"},
            "items": [{"id": "A1", "type": "text", "label": {"sv": "x", "en": "x"}}],
        }
    )
    (p,) = problems_of(dump(doc))
    assert "A1 is used twice" in p.render() and p.where.startswith("item A1")


def test_cyclic_conditions() -> None:
    doc = minimal()
    items = doc["sections"][0]["items"]
    items[0]["when"] = {"item": "A3", "answered": True}
    items.append(
        {
            "id": "A3",
            "type": "yes_no_unknown",
            "label": {"sv": "x", "en": "x"},
            "when": {"item": "A1", "in": ["clear"]},
        }
    )
    text = rendered(dump(doc))
    assert "cycle" in text and ("A1 -> A3 -> A1" in text or "A3 -> A1 -> A3" in text)


def test_section_condition_on_its_own_item_is_a_cycle() -> None:
    doc = minimal()
    doc["sections"][0]["when"] = {"item": "A1", "in": ["clear"]}
    assert "A1 -> A1" in rendered(dump(doc))


def test_dangling_condition_and_wrong_code() -> None:
    doc = minimal()
    doc["sections"][0]["items"][1]["when"] = {
        "any": [{"item": "Z9", "in": ["clear"]}, {"item": "A1", "in": ["clera"]}]
    }
    text = rendered(dump(doc))
    assert "item A2 (when)" in text
    assert "refers to item Z9, which does not exist" in text
    assert "code clera, which is not one of its options (none, clear, unknown)" in text


def test_malformed_condition_is_named() -> None:
    doc = minimal()
    doc["sections"][0]["items"][1]["when"] = {"item": "A1", "equals": "clear"}
    assert "Unknown key 'equals'" in rendered(dump(doc))


def test_missing_translation() -> None:
    doc = minimal()
    del doc["sections"][0]["items"][1]["label"]["en"]
    (p,) = problems_of(dump(doc))
    assert p.where == "item A2 (label)" and "'en' translation" in p.render()
    doc = minimal()
    doc["scales"]["concern"][1] = {"code": "clear", "sv": "Tydligt"}
    (p,) = problems_of(dump(doc))
    assert p.where == "$.scales.concern[1]" and "no 'en' translation" in p.render()


def test_form_must_be_swedish_and_english() -> None:
    doc = minimal()
    doc["form"]["locales"] = ["sv"]
    assert "'en' is missing from locales" in rendered(dump(doc))


def test_yaml_booleans_where_codes_belong() -> None:
    text = dump(minimal()).replace("code: none", "code: no")
    (p,) = problems_of(text)
    assert "no is read by YAML as the boolean false" in p.render()
    assert "quote it ('no')" in p.render() and p.line is not None
    doc = minimal()
    doc["sections"][0]["items"].append(
        {"id": "A3", "type": "yes_no_unknown", "label": {"sv": "x", "en": "x"}}
    )
    doc["sections"][0]["items"][1]["when"] = {"item": "A3", "in": ["__YES__"]}
    text = rendered(dump(doc).replace("'__YES__'", "yes").replace("__YES__", "yes"))
    assert "boolean true" in text and "item A2 (when)" in text


def test_scoring_other_than_none_is_refused() -> None:
    doc = minimal()
    doc["form"]["scoring"] = "sum"
    assert "Only 'scoring: none' is allowed" in rendered(dump(doc))


def test_reassessment_date_is_required_of_every_form() -> None:
    doc = minimal()
    del doc["form"]["reassessment_item"]
    assert "'reassessment_item' is missing" in rendered(dump(doc))
    doc = minimal()
    doc["form"]["reassessment_item"] = "A2"
    assert "must name a date item; A2 is not one" in rendered(dump(doc))
    doc = minimal()
    doc["sections"][0]["items"][2]["required"] = {"when": {"item": "A1", "in": ["clear"]}}
    assert "must always be asked and required" in rendered(dump(doc))


def test_rating_scale_needs_unknown() -> None:
    doc = minimal()
    doc["scales"]["concern"].pop()
    assert "no 'unknown' code" in rendered(dump(doc))


def test_property_that_does_not_apply_to_the_type() -> None:
    doc = minimal()
    doc["sections"][0]["items"][1]["scale"] = "concern"
    assert "'scale' does not apply to a text item" in rendered(dump(doc))


def test_unknown_kind() -> None:
    doc = minimal()
    doc["sections"][0]["kind"] = "concern_items"
    assert "The kind concern_items is not defined" in rendered(dump(doc))


def test_too_big_file_is_refused_before_parsing(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"# " + b"x" * (10 * 1024 * 1024) + b"\n")
    with pytest.raises(FormError) as info:
        load_form(big)
    text = info.value.problems[0].render()
    assert "big.yaml" in text and "at most 2097152 bytes" in text


def test_deep_nesting_is_refused_with_its_line() -> None:
    deep = "a: " + "[" * 5000 + "]" * 5000 + "\n"
    (p,) = problems_of(deep)
    assert "nested more than 32 levels" in p.render() and p.line == 1
    deep_maps = "".join("  " * i + f"k{i}:\n" for i in range(60)) + "  " * 60 + "v\n"
    assert "nested more than" in rendered(deep_maps)


def test_alias_bomb_is_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    assert "too many values" in rendered("\n".join(lines) + "\n")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("a: !!python/object/apply:os.system ['true']\n", "python/object/apply:os.system"),
        ("a: !custom 1\n", "The YAML tag !custom is not allowed"),
        ("a: 1\na: 2\n", "The key a appears twice"),
        ("--- {a: 1}\n--- {b: 2}\n", "more than one YAML document"),
        ("a: [1, 2\n", "not valid YAML"),
        ("<<: {a: 1}\n", "merge keys"),
        ("", "The file is empty"),
        ("- 1\n- 2\n", "Does not fit the form schema"),
        ("yes: 1\n", "read by YAML as a boolean"),
        # libyaml would accept this; the pure parser (always used) does not: same everywhere
        ("a: {sv: Varför?, en: Why?}\n", "not valid YAML"),
    ],
)
def test_unsafe_or_broken_yaml(source: str, expected: str) -> None:
    assert expected in rendered(source)


def test_not_utf8() -> None:
    assert "not UTF-8" in rendered(b"form: \xff\xfe\n")


def test_file_name_must_match_id_and_version(tmp_path: Path) -> None:
    path = tmp_path / "test.form@2.0.0.yaml"
    path.write_text(dump(minimal()), encoding="utf-8")
    with pytest.raises(FormError) as info:
        load_form(path)
    assert "name it test.form@1.0.0.yaml" in info.value.problems[0].render()


def test_every_problem_is_reported_at_once() -> None:
    doc = minimal()
    del doc["sections"][0]["items"][0]["label"]["en"]
    doc["sections"][0]["items"][1]["when"] = {"item": "Q1", "in": ["x"]}
    doc["sections"][0]["items"].append(
        {"id": "A1", "type": "date", "label": {"sv": "d", "en": "d"}}
    )
    assert len(problems_of(dump(doc))) >= 3


# --- released versions are immutable -------------------------------------------------------


def released_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "forms"
    folder.mkdir()
    doc = minimal()
    doc["form"]["status"] = "active"
    (folder / "test.form@1.0.0.yaml").write_text(dump(doc), encoding="utf-8")
    form = load_form(folder / "test.form@1.0.0.yaml")
    assert write_lock(folder, [form]) == ["test.form@1.0.0"]
    return folder


def test_changed_released_form_is_refused(tmp_path: Path) -> None:
    folder = released_folder(tmp_path)
    FormRegistry.load([folder])
    path = folder / "test.form@1.0.0.yaml"
    path.write_text(path.read_text().replace("Fråga ett", "Fråga 1"), encoding="utf-8")
    with pytest.raises(FormError) as info:
        FormRegistry.load([folder])
    assert "its content has changed" in str(info.value)
    assert "new version number" in str(info.value)


def test_retiring_is_allowed_but_not_going_back_to_draft(tmp_path: Path) -> None:
    folder = released_folder(tmp_path)
    path = folder / "test.form@1.0.0.yaml"
    path.write_text(path.read_text().replace("status: active", "status: retired"))
    assert FormRegistry.load([folder]).get("test.form", "1.0.0").status == "retired"
    path.write_text(path.read_text().replace("status: retired", "status: draft"))
    with pytest.raises(FormError, match="cannot go back to draft"):
        FormRegistry.load([folder])


def test_released_but_unlocked_and_locked_but_missing(tmp_path: Path) -> None:
    folder = released_folder(tmp_path)
    doc = minimal()
    doc["form"]["version"] = "1.1.0"
    doc["form"]["status"] = "active"
    (folder / "test.form@1.1.0.yaml").write_text(dump(doc), encoding="utf-8")
    (folder / "test.form@1.0.0.yaml").unlink()
    with pytest.raises(FormError) as info:
        FormRegistry.load([folder])
    text = str(info.value)
    assert "test.form@1.1.0 is active but not in the lock file" in text
    assert "released form test.form@1.0.0 is missing" in text


def test_registry_get_and_latest(tmp_path: Path) -> None:
    folder = released_folder(tmp_path)
    doc = minimal()
    doc["form"]["version"] = "1.10.0"
    doc["form"]["status"] = "active"
    (folder / "test.form@1.10.0.yaml").write_text(dump(doc), encoding="utf-8")
    draft = copy.deepcopy(doc)
    draft["form"]["version"] = "2.0.0"
    draft["form"]["status"] = "draft"
    (folder / "test.form@2.0.0.yaml").write_text(dump(draft), encoding="utf-8")
    write_lock(folder, [load_form(folder / "test.form@1.10.0.yaml")])
    registry = FormRegistry.load([folder])
    assert registry.latest("test.form").version == "1.10.0"  # semver order, drafts excluded
    assert [f.version for f in registry.versions("test.form")] == ["1.0.0", "1.10.0", "2.0.0"]
    from fieldkit.forms import FormNotFound

    with pytest.raises(FormNotFound):
        registry.get("test.form", "9.9.9")
    with pytest.raises(FormNotFound):
        registry.latest("nope")


def test_a_broken_file_in_a_folder_names_itself(tmp_path: Path) -> None:
    folder = tmp_path / "pack"
    shutil.copytree(FORMS, folder)
    (folder / "notes.yaml").write_text("schema: nope\n")
    with pytest.raises(FormError) as info:
        FormRegistry.load([folder])
    assert all(p.file.endswith("notes.yaml") for p in info.value.problems)


# --- fuzzing -------------------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-10, 10),
    st.text(max_size=8),
    st.sampled_from(["A1", "none", "clear", "yes", "rating", "text", "sv", "en", "concern"]),
)
json_like = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "id",
                    "type",
                    "label",
                    "sv",
                    "en",
                    "code",
                    "when",
                    "item",
                    "in",
                    "any",
                    "not",
                    "items",
                    "scale",
                    "required",
                    "options",
                    "count",
                ]
            )
            | st.text(max_size=5),
            inner,
            max_size=4,
        )
    ),
    max_leaves=25,
)


def mutate(doc: Any, path: list[Any], value: Any) -> Any:
    """Replace the value at a random spot of the document."""
    if not path:
        return value
    head, *rest = path
    if isinstance(doc, dict) and doc:
        key = sorted(doc)[head % len(doc)]
        doc[key] = mutate(doc[key], rest, value)
    elif isinstance(doc, list) and doc:
        doc[head % len(doc)] = mutate(doc[head % len(doc)], rest, value)
    else:
        return value
    return doc


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.lists(st.integers(0, 50), max_size=6), value=json_like)
def test_fuzzed_definitions_raise_only_form_errors(path: list[int], value: Any) -> None:
    doc = mutate(minimal(), path, value)
    try:
        form = load_form_text(dump(doc) if not isinstance(doc, str) else doc)
    except FormError as exc:
        assert exc.problems and all(p.message for p in exc.problems)
    else:
        assert form.item_ids


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab:- [],{}&*!'\"\n#|>?%@`\t0yes")), max_size=120))
def test_fuzzed_yaml_text_raises_only_form_errors(text: str) -> None:
    try:
        load_form_text(text)
    except FormError as exc:
        assert exc.problems
