#!/usr/bin/env python3
"""Lay out Jupyter notebooks cell by cell so secret scanners report the cell (and output) they saw.

gitleaks and trufflehog read an ``.ipynb`` as one JSON file and report a line of that JSON, which
says nothing a person can find in Jupyter. Run this before the scanner, in CI:

    python scripts/notebook_cells.py SRC_DIR OUT_DIR
    gitleaks dir OUT_DIR --report-format json --report-path gitleaks.json   # or trufflehog filesystem

Each notebook ``a/b.ipynb`` becomes ``OUT_DIR/a/b.ipynb.cells/cell-3.txt`` (the source of cell 3,
line for line) and ``cell-3-output-1.txt`` (the text of its first output: stream, text/plain or
error traceback). Cells and outputs are numbered from 1, as Jupyter's UI counts them. Checkpoint copies
(``.ipynb_checkpoints/b-checkpoint.ipynb``) are laid out too; hygiene folds them into their notebook,
so a secret in both is one finding. Only the standard library is used.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

SUFFIX = ".cells"


def _text(value: object) -> str:
    if isinstance(value, list):
        return "".join(str(part) for part in value)
    return value if isinstance(value, str) else ""


def _output_text(output: dict) -> str:
    if output.get("output_type") == "stream":
        return _text(output.get("text"))
    if output.get("output_type") == "error":
        return "\n".join(_text(line) for line in output.get("traceback") or [])
    data = output.get("data") or {}
    return "\n".join(
        _text(data.get(kind)) for kind in ("text/plain", "text/html", "application/json") if kind in data
    )


def explode(notebook: Path, out_dir: Path) -> int:
    """Write the cells of one notebook under ``out_dir``; return how many files were written."""
    try:
        document = json.loads(notebook.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        print(f"skipped {notebook}: {exc}", file=sys.stderr)
        return 0
    cells = document.get("cells") if isinstance(document, dict) else None
    if not isinstance(cells, list):
        return 0
    out_dir.mkdir(parents=True, exist_ok=True)
    written = 0
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict):
            continue
        (out_dir / f"cell-{number}.txt").write_text(_text(cell.get("source")), encoding="utf-8")
        written += 1
        for index, output in enumerate(cell.get("outputs") or [], start=1):
            if isinstance(output, dict) and (text := _output_text(output)):
                (out_dir / f"cell-{number}-output-{index}.txt").write_text(text, encoding="utf-8")
                written += 1
    return written


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    source, target = Path(argv[1]), Path(argv[2])
    total = 0
    for notebook in sorted(source.rglob("*.ipynb")):
        relative = notebook.relative_to(source)
        total += explode(notebook, target / relative.parent / (relative.name + SUFFIX))
    print(f"wrote {total} cell and output files under {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
