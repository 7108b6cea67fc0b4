"""Serve plotly.js from the installed plotly package, so charts need no CDN and no copy in the repo."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import plotly
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

VENDOR_FILES = {"vendor/plotly.min.js": Path(plotly.__file__).parent / "package_data" / "plotly.min.js"}


class VendorFinder(BaseFinder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.storage = FileSystemStorage(location=str(Path(plotly.__file__).parent / "package_data"))
        self.storage.prefix = "vendor"  # type: ignore[attr-defined]

    def check(self, **kwargs: Any) -> list[Any]:
        return []

    def find(self, path: str, find_all: bool = False, **kwargs: Any) -> Any:
        match = VENDOR_FILES.get(path)
        if match is None:
            return [] if find_all else None
        return [str(match)] if find_all else str(match)

    def list(self, ignore_patterns: Any) -> Any:
        for name in VENDOR_FILES:
            yield name.split("/", 1)[1], self.storage
