"""The record contract itself."""

from __future__ import annotations

import dataclasses

from findings.importers.base import FindingRecord


def test_record_field_order_is_the_one_positional_construction_relies_on() -> None:
    # trivy.py and sarif.py build FindingRecord positionally for speed.
    assert [field.name for field in dataclasses.fields(FindingRecord)] == [
        "category", "rule_id", "title", "severity", "package", "installed_version", "fixed_version",
        "location", "target", "cvss", "published_at", "description", "url", "tool", "identity",
    ]  # fmt: skip
