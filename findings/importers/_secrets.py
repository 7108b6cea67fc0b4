"""Keeping secret values out of every field of a secret-scanner record.

Secret scanners echo the secret in several places (the match, the context line, a diff, a commit
message). Redacting the one "secret" field is not enough, so records are built from unbounded raw
text, every string field is scrubbed of every known secret, and only then clipped: clipping first
could cut a secret in half and leave the half that no longer matches.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable

from .base import MAX_TEXT, FindingRecord
from .common import clip, redact_secret

# Shorter values are not secrets worth hunting for in other fields, and replacing them everywhere
# would mangle paths and titles (a 2-character "secret" occurs in most words).
MIN_SCRUB_LENGTH = 4
# Secret-bearing lines of a multi-line secret (a PEM body) are scrubbed on their own too, because a
# context field may carry only one line of it.
MIN_FRAGMENT_LENGTH = 8
# Any run of this many characters shared with a secret is redacted too (see scrub_fragments); long
# enough that ordinary words and paths never match by chance.
GRAM = 12
# Work bounds against hostile sizes. Fields are cut to PRE_LIMIT before scrubbing; any secret cut in
# half there sits far beyond the final clip (at most MAX_TEXT), so it is dropped anyway. Fragment
# matching looks at the first GRAM_SOURCE_LIMIT characters of a secret (a 4096-bit PEM key is ~3.3k).
PRE_LIMIT = 16 * MAX_TEXT
GRAM_SOURCE_LIMIT = 16_000
TITLE_LIMIT = 300
SHORT_LIMIT = 1000


def is_placeholder(secret: str) -> bool:
    """Values scanners print instead of a secret when run with redaction on."""
    stripped = secret.strip()
    return not stripped or set(stripped) <= {"*"} or stripped.upper() == "REDACTED"


def secret_variants(secrets: Iterable[str]) -> list[str]:
    """The strings to scrub, longest first so a secret is replaced before any of its fragments."""
    found: set[str] = set()
    for secret in secrets:
        if not secret or is_placeholder(secret):
            continue
        for candidate in (secret, secret.strip()):
            if len(candidate) >= MIN_SCRUB_LENGTH:
                found.add(candidate)
        for line in secret.splitlines():
            line = line.strip()
            if len(line) >= MIN_FRAGMENT_LENGTH:
                found.add(line)
    return sorted(found, key=len, reverse=True)


def scrub(value: str, variants: list[str]) -> str:
    for secret in variants:
        if secret in value:
            value = value.replace(secret, redact_secret(secret))
    return value


def grams(variants: list[str]) -> set[str]:
    """Every GRAM-character piece of every secret long enough to have one."""
    return {
        secret[i : i + GRAM]
        for secret in variants
        for i in range(min(len(secret), GRAM_SOURCE_LIMIT) - GRAM + 1)
    }


def scrub_fragments(value: str, pieces: set[str]) -> str:
    """Redact any run of text sharing GRAM or more characters with a secret.

    Exact replacement misses part of a secret standing alone: TruffleHog's RawV2 for AWS is the key id
    and the secret key glued together, and either half may show up elsewhere on its own.
    """
    if not pieces or len(value) < GRAM:
        return value
    hit = [False] * len(value)
    for start in range(len(value) - GRAM + 1):
        if value[start : start + GRAM] in pieces:
            hit[start : start + GRAM] = [True] * GRAM
    if not any(hit):
        return value
    out: list[str] = []
    for index, char in enumerate(value):
        if not hit[index]:
            out.append(char)
        elif index == 0 or not hit[index - 1]:
            out.append("[redacted]")
    return "".join(out)


def _bounded(name: str, value: str) -> str:
    if name == "title":
        return clip(value, TITLE_LIMIT)
    if name == "description":
        return clip(value, MAX_TEXT)
    return clip(value, SHORT_LIMIT)


def safe_record(record: FindingRecord, secrets: Iterable[str]) -> FindingRecord:
    """Scrub every string field of ``record`` of every secret, then bound its length."""
    variants = secret_variants(secrets)
    pieces = grams(variants)
    for field in dataclasses.fields(record):
        value = getattr(record, field.name)
        if isinstance(value, str):
            cleaned = scrub_fragments(scrub(value[:PRE_LIMIT], variants), pieces)
            # A secret can survive replacement only by overlapping another secret's redaction;
            # dropping the field then is the safe answer.
            if any(secret in cleaned for secret in variants):
                cleaned = "[redacted]"
            setattr(record, field.name, _bounded(field.name, cleaned))
    return record


_CHECKPOINT = re.compile(r"(?:^|/)\.ipynb_checkpoints/(?P<name>[^/]+?)-checkpoint\.ipynb$")


def notebook_path(path: str) -> tuple[str, bool]:
    """A path with a Jupyter checkpoint copy folded into its notebook, and whether it was one.

    Jupyter autosaves ``dir/.ipynb_checkpoints/NAME-checkpoint.ipynb`` beside ``dir/NAME.ipynb``; a
    secret in the notebook is almost always in the copy too. Normalising the location before the
    fingerprint makes both one finding.
    """
    match = _CHECKPOINT.search(path)
    if match is None:
        return path, False
    head = path[: match.start()]
    return f"{head}/{match['name']}.ipynb" if head or match.group(0).startswith(
        "/"
    ) else f"{match['name']}.ipynb", True


def is_notebook(path: str) -> bool:
    return path.lower().endswith(".ipynb")


_CELL_FILE = re.compile(
    r"^(?P<notebook>.+?\.ipynb)\.cells/cell-(?P<cell>\d+)(?:-output-(?P<output>\d+))?\.txt$"
)


def notebook_location(path: str, line: str = "") -> tuple[str, str]:
    """(location, what a person reads) of a secret in a notebook, checkpoint copies folded in.

    ``scripts/notebook_cells.py`` lays notebooks out as ``NB.ipynb.cells/cell-N[-output-M].txt``;
    such a path is located by cell and output (and the line inside the cell). A raw ``.ipynb`` keeps
    the line of its JSON. Anything else is returned as it is, with an empty description.
    """
    line = line if line and line != "0" else ""
    cell = _CELL_FILE.match(path)
    notebook, copy = notebook_path(cell["notebook"] if cell else path)
    copy_note = " (also in its .ipynb_checkpoints copy)" if copy else ""
    if cell:
        where = f"cell {cell['cell']}" + (f", output {cell['output']}" if cell["output"] else "")
        location = f"{notebook} {where}" + (f" line {line}" if line else "")
        return location, f"Notebook {notebook}, {where}" + (f", line {line}" if line else "") + copy_note
    if is_notebook(path):
        location = f"{notebook}:{line}" if line else notebook
        return location, f"Notebook {notebook}" + (f", line {line} of its JSON" if line else "") + copy_note
    return (f"{path}:{line}" if line else path), ""
