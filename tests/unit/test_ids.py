"""Record ids: what counts as one is what ``uuid.UUID`` reads, however it is checked."""

from __future__ import annotations

import uuid

import pytest

from fieldkit.domain.ids import is_id, new_id

SAMPLE = new_id()


@pytest.mark.parametrize(
    "value",
    [
        SAMPLE,
        SAMPLE.upper(),
        SAMPLE.replace("-", ""),
        "{" + SAMPLE + "}",
        "urn:uuid:" + SAMPLE,
        SAMPLE + "\n",
        " " + SAMPLE,
        SAMPLE[:-1],
        SAMPLE[:-1] + "g",
        SAMPLE + "0",
        "",
        "' OR 1=1 --",
        "00000000-0000-0000-0000-000000000000",
    ],
)
def test_an_id_is_what_uuid_reads(value: str) -> None:
    try:
        uuid.UUID(value)
        expected = True
    except ValueError:
        expected = False
    assert is_id(value) is expected


@pytest.mark.parametrize("value", [None, 12, b"x", ["a"], {"id": SAMPLE}])
def test_only_text_can_be_an_id(value: object) -> None:
    assert is_id(value) is False


def test_new_ids_are_ids() -> None:
    ids = {new_id() for _ in range(50)}
    assert len(ids) == 50 and all(is_id(i) for i in ids)
