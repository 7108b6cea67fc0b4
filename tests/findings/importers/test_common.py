"""Shared helpers: bounded text from hostile JSON, CVSS 3 scores from vectors, dates, paths."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from findings.errors import ImportFailed
from findings.importers.base import MAX_TEXT
from findings.importers.common import (
    as_score,
    as_text,
    cvss3_base_score,
    file_location,
    load_json,
    parse_datetime,
)


@pytest.mark.parametrize(
    ("vector", "score"),
    [
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
        ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:N/A:N", 7.7),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1),
        ("CVSS:3.0/AV:L/AC:L/PR:N/UI:R/S:U/C:N/I:N/A:H", 5.5),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0),
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", None),
        ("CVSS:3.1/AV:X", None),
        (None, None),
    ],
)
def test_cvss3_base_score(vector: str | None, score: float | None) -> None:
    assert cvss3_base_score(vector) == score


def test_as_text_bounds_and_ignores_containers() -> None:
    nested: list[object] = []
    for _ in range(5000):
        nested = [nested]
    assert as_text(nested) == "" and as_text({"a": 1}) == "" and as_text(True) == ""
    assert as_text(3) == "3" and as_text(" a\x00b ") == "ab"
    assert len(as_text("x" * 10 * MAX_TEXT)) == MAX_TEXT


def test_as_score() -> None:
    assert [as_score(v) for v in (7.5, "9.1", 0, 11, "high", float("nan"), True)] == [
        7.5, 9.1, None, None, None, None, None,
    ]  # fmt: skip


def test_file_location() -> None:
    assert file_location(".\\src\\app.py", 12) == "src/app.py:12"
    assert file_location("a.tf", "7") == "a.tf:7"
    assert file_location("a.tf", 0) == "a.tf"


def test_parse_datetime_takes_go_nanoseconds() -> None:
    assert parse_datetime("2024-02-22T19:46:26.372724916+01:00") == dt.datetime(
        2024, 2, 22, 18, 46, 26, 372724, tzinfo=dt.UTC
    )
    assert parse_datetime("yesterday") is None


def test_load_json_reports_bytes_not_characters() -> None:
    with pytest.raises(ImportFailed, match="byte 13"):
        load_json(io.BytesIO('{"a": "éé" x}'.encode()), label="X")
