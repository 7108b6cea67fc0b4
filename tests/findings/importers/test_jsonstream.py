"""The streaming JSON reader: window guessing against every boundary, error positions, limits."""

from __future__ import annotations

import io
import random
from typing import Any

import msgspec
import orjson
import pytest

from findings.errors import ImportFailed
from findings.importers import jsonstream
from findings.importers.jsonstream import JsonReader


def read_document(data: bytes) -> dict[str, Any]:
    """Walk an object the way the importers do: members by hand, the "items" array in windows."""
    reader = JsonReader(io.BytesIO(data), "Test")
    document: dict[str, Any] = {}
    for key in reader.members():
        document[key] = list(reader.items()) if key == "items" else reader.value()
    assert reader.peek() == b""
    return document


def random_element(rng: random.Random, depth: int = 0) -> dict[str, Any]:
    element: dict[str, Any] = {}
    for key in range(rng.randint(0, 5)):
        roll = rng.random()
        if roll < 0.2 and depth < 4:
            element[f"k{key}"] = [random_element(rng, depth + 1) for _ in range(rng.randint(0, 4))]
        elif roll < 0.35 and depth < 4:
            element[f"k{key}"] = random_element(rng, depth + 1)
        elif roll < 0.55:
            # Strings that look like element boundaries, and multi-byte characters at window edges.
            element[f"k{key}"] = '}, {"x": [1]}] ' * rng.randint(0, 3) + "é€😀"
        else:
            element[f"k{key}"] = rng.random()
    return element


@pytest.mark.parametrize("seed", range(40))
def test_windows_never_change_what_is_read(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(seed)
    monkeypatch.setattr(jsonstream, "_CHUNK", rng.choice([7, 64, 1000, 1 << 20]))
    monkeypatch.setattr(jsonstream, "_MAX_WINDOW", rng.choice([64, 300, 2000, 1 << 20]))
    monkeypatch.setattr(jsonstream, "_MIN_WINDOW", 32)
    elements = [random_element(rng) for _ in range(rng.randint(0, 80))]
    document = {"a": 1, "items": elements, "z": [1, {"q": elements[:2]}]}
    option = orjson.OPT_INDENT_2 if seed % 2 else 0
    assert read_document(orjson.dumps(document, option=option)) == document


def test_struct_elements_and_skipping() -> None:
    class Item(msgspec.Struct):
        id: Any = None

    data = b'{"skip": [{"a": [1, 2]}, {"b": {"c": null}}], "items": [{"id": 1, "x": [[]]}, {"id": "2"}]}'
    reader = JsonReader(io.BytesIO(data), "Test")
    seen = []
    for key in reader.members():
        if key == "items":
            seen = [item.id for item in reader.items(Item)]
        else:
            reader.skip()
    assert seen == [1, "2"]


def test_msgspec_trailing_position_convention_is_the_one_relied_on() -> None:
    # jsonstream._end_of_document reads msgspec's "(byte N)" as one past the first trailing byte.
    with pytest.raises(msgspec.DecodeError, match=r"trailing characters \(byte 8\)"):
        msgspec.json.decode(b'{"a":1}, {"b":2}')


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b'{"a": [1, 2', "ends in the middle of a JSON value; it may be truncated (at line 1, byte 6)"),
        (b'{"a" 1}', "expected ':' after an object key, found '1' (at line 1, byte 5)"),
        (b'{"a": 1,\n "b": tru}', "line 2"),
        (b'{"items": [{"a": 1}, {"a": "\xe9"}]}', "not valid UTF-8 (at line 1, byte 28)"),
        (b'{"a": "\\ud800"}', "invalid JSON"),
        (b'{"items": [' + b"[" * 5000, "nested too deeply"),
    ],
)
def test_errors_name_the_format_the_problem_and_the_place(data: bytes, fragment: str) -> None:
    with pytest.raises(ImportFailed) as failure:
        read_document(data)
    assert str(failure.value).startswith("Test:")
    assert fragment in str(failure.value)


def test_values_larger_than_the_limit_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonstream, "MAX_VALUE", 1 << 16)
    with pytest.raises(ImportFailed, match="larger than"):
        read_document(b'{"a": [' + b'"xxxxxxxx",' * 20_000 + b"1]}")
