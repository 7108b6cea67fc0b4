"""Streaming reader for very large JSON scan files (Trivy, SARIF, Grype).

ijson, even with its yajl2_c backend, tokenizes at about 170 MB/s here: too slow for 300 MB reports.
This reader walks only the outer levels itself (object members, array elements) and hands complete
values to msgspec, which decodes at memory speed and, given a Struct type, builds only the fields an
importer reads; long arrays are decoded a window of elements at a time (see ``jsonwindow``). Nothing
here recurses on the input's nesting and the decoder stops at the interpreter's recursion limit, so
hostile nesting becomes ImportFailed, never a crash.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from typing import Any, BinaryIO

import msgspec

from findings.errors import ImportFailed

from .common import clip
from .jsonwindow import decode, decode_window, decoders, describe_failure, end_of_document, line_of, near_end
from .jsonwindow import seekable as seekable

_WS = re.compile(rb"[ \t\r\n]*")
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_SCALAR = re.compile(rb"-?[0-9][0-9.eE+-]*|true|false|null")
_CHUNK = 1 << 20
_MAX_WINDOW = 1 << 20
_MIN_WINDOW = 64 << 10
# One value (a SARIF tool object, one finding) above this is refused rather than buffered.
MAX_VALUE = 64 << 20


class JsonReader:
    """A cursor over a JSON byte stream; ``label`` names the expected format in every error."""

    def __init__(self, stream: BinaryIO, label: str) -> None:
        self.label = label
        self._stream = stream
        self._buf = b""
        self._pos = 0
        self._base = 0
        self._eof = False
        self._window = _MAX_WINDOW
        self._singles = 0
        try:
            self._origin: int | None = stream.tell() if stream.seekable() else None
        except (AttributeError, OSError, ValueError):
            self._origin = None
        # A byte-order mark, which Windows tools write, is not JSON; skip it before anything else.
        if self._more(3) and self._buf.startswith(codecs.BOM_UTF8):
            self._pos = 3

    # -- buffer and positions ---------------------------------------------------------------------

    def _more(self, need: int) -> bool:
        """Make ``need`` bytes available after the cursor unless the stream ends first."""
        while len(self._buf) - self._pos < need and not self._eof:
            if self._pos:
                self._base += self._pos
                self._buf = self._buf[self._pos :]
                self._pos = 0
            chunk = self._stream.read(max(_CHUNK, need - len(self._buf)))
            if not chunk:
                self._eof = True
            else:
                self._buf += chunk if isinstance(chunk, bytes) else bytes(chunk)
        return len(self._buf) - self._pos >= need

    def tell(self) -> int:
        return self._base + self._pos

    def seek(self, offset: int) -> None:
        if self._origin is None:
            raise self.error("cannot revisit an earlier part of the file", offset)
        self._stream.seek(self._origin + offset)
        self._buf, self._pos, self._base, self._eof = b"", 0, offset, False

    def error(self, what: str, offset: int | None = None) -> ImportFailed:
        offset = self.tell() if offset is None else offset
        line = self._line_of(offset)
        where = f"line {line}, byte {offset}" if line else f"byte {offset}"
        return ImportFailed(f"{self.label}: {what} (at {where}).")

    def not_this_format(self, expected: str, keys: list[str]) -> ImportFailed:
        """The error for a top-level object that lacks this format's keys: name the keys it has."""
        found = ", ".join(clip(key, 40) for key in keys[:8]) or "none"
        return ImportFailed(
            f"{self.label}: expected {expected} at the top level, found the keys {found}. "
            "Is this another scanner's output?"
        )

    def _line_of(self, offset: int) -> int | None:
        if self._origin is None:
            return None
        line = line_of(self._stream, self._origin, offset)
        try:
            self._stream.seek(self._origin + self._base + len(self._buf))
        except (OSError, ValueError):
            self._eof = True  # the stream is gone; the error being built ends the import anyway
        return line

    def _failure(self, exc: Exception, data: bytes, at: int) -> ImportFailed:
        """ImportFailed for a decoder error on ``data``, which starts at absolute offset ``at``."""
        at_end = self._eof and at + len(data) >= self._base + len(self._buf)
        what, offset = describe_failure(exc, data, at_end)
        return self.error(what, at + offset)

    # -- tokens -----------------------------------------------------------------------------------

    def peek(self) -> bytes:
        """The next significant byte (b"" at the end of the file); whitespace is consumed."""
        while True:
            end = _WS.match(self._buf, self._pos).end()  # type: ignore[union-attr]
            self._pos = end
            if end < len(self._buf):
                return self._buf[end : end + 1]
            if not self._more(1):
                return b""

    def expect(self, char: bytes, what: str) -> None:
        found = self.peek()
        if found != char:
            raise self.error(f"expected {what}, found {_shown(found)}")
        self._pos += 1

    def _separator(self, close: bytes, what: str) -> bool:
        """After a member or element: True when the container closes, False after a comma."""
        found = self.peek()
        if found == b",":
            self._pos += 1
            return False
        if found == close:
            self._pos += 1
            return True
        raise self.error(f"expected ',' or {close.decode()!r} after {what}, found {_shown(found)}")

    # -- values -----------------------------------------------------------------------------------

    def value(self, kind: Any = Any) -> Any:
        """Decode the whole value at the cursor (as ``kind``, a msgspec type, when given)."""
        first = self.peek()
        if first in (b"{", b"["):
            raw = self._container()
        elif first == b'"':
            raw = self._token(_STRING, "string")
        elif first:
            raw = self._token(_SCALAR, "value")
        else:
            raise self.error("the file ends where a JSON value was expected; it may be truncated")
        try:
            return decode(decoders(kind)[0], raw)
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise self._failure(exc, raw, self.tell() - len(raw)) from None

    def _token(self, pattern: re.Pattern[bytes], what: str) -> bytes:
        want = 256
        while True:
            match = pattern.match(self._buf, self._pos)
            if match and (match.end() < len(self._buf) or self._eof):
                self._pos = match.end()
                return match.group()
            if self._eof or want > MAX_VALUE:
                if not self._eof:
                    raise self.error(f"a JSON {what} longer than {MAX_VALUE >> 20} MB")
                tail = "; the file may be truncated" if what == "string" else ""
                raise self.error(f"invalid JSON {what} (found {_shown(self._buf[self._pos :][:1])}){tail}")
            want = max(want, len(self._buf) - self._pos) * 2
            self._more(want)

    def _container(self) -> bytes:
        """The bytes of the object or array at the cursor, which the cursor then passes."""
        want = _MIN_WINDOW
        while True:
            self._more(want)
            view = self._buf[self._pos : self._pos + want]
            partial = self._pos + len(view) < len(self._buf) or not self._eof
            try:
                decode(decoders(msgspec.Raw)[0], view)
            except msgspec.DecodeError as exc:
                end = end_of_document(str(exc), view)
                if end is not None:
                    self._pos += end
                    return view[:end]
                if partial and near_end(str(exc), len(view)):
                    if want >= MAX_VALUE:
                        raise self.error(f"a single JSON value larger than {MAX_VALUE >> 20} MB") from None
                    want *= 4
                    continue
                raise self._failure(exc, view, self.tell()) from None
            except (UnicodeDecodeError, RecursionError) as exc:
                raise self._failure(exc, view, self.tell()) from None
            self._pos += len(view)
            return view

    def skip(self, depth: int = 0) -> None:
        """Consume the value at the cursor without keeping it (long arrays stay out of memory)."""
        first = self.peek()
        if first == b"[":
            for _ in self.items(msgspec.Raw):
                pass
        elif first == b"{" and depth < 8:
            for _ in self.members():
                self.skip(depth + 1)
        else:
            self.value(msgspec.Raw)  # deeper than that, the decoder's own depth limit applies

    # -- containers -------------------------------------------------------------------------------

    def members(self) -> Iterator[str]:
        """Yield the keys of the object at the cursor; the caller consumes each value."""
        self.expect(b"{", "a JSON object")
        if self.peek() == b"}":
            self._pos += 1
            return
        while True:
            if self.peek() != b'"':
                raise self.error(f"expected an object key (a string), found {_shown(self.peek())}")
            key = self.value(str)
            self.expect(b":", "':' after an object key")
            yield key
            if self._separator(b"}", "an object member"):
                return

    def elements(self) -> Iterator[int]:
        """Yield the index of each element of the array at the cursor; the caller consumes each value."""
        self.expect(b"[", "a JSON array")
        if self.peek() == b"]":
            self._pos += 1
            return
        index = 0
        while True:
            yield index
            index += 1
            if self._separator(b"]", "an array element"):
                return

    def items(self, kind: Any = Any) -> Iterator[Any]:
        """Yield the decoded elements of the array at the cursor, many per decoder call.

        ``kind`` is the element type: a msgspec Struct builds only the fields an importer reads. An
        element of the wrong shape is reported with its own position.
        """
        self.expect(b"[", "a JSON array")
        if self.peek() == b"]":
            self._pos += 1
            return
        while True:
            batch = self._batch(kind) if self._singles <= 0 and self.peek() == b"{" else None
            if batch is None:
                self._singles -= 1
                yield self.value(kind)
                if self._separator(b"]", "an array element"):
                    return
                continue
            elements, closed = batch
            yield from elements
            if closed:
                return

    def _batch(self, kind: Any) -> tuple[list[Any], bool] | None:
        self._more(self._window)
        start = self._pos
        try:
            found = decode_window(self._buf, start, self._window, self._eof, decoders(kind)[1])
        except (UnicodeDecodeError, RecursionError) as exc:
            raise self._failure(exc, self._buf[start:], self._base + start) from None
        if found is None:
            # No guess held (huge or odd elements): take a few one at a time, smaller windows after.
            self._window = max(_MIN_WINDOW, self._window // 4)
            self._singles = 8
            return None
        elements, self._pos, closed = found
        if closed:
            return elements, True
        self._window = min(_MAX_WINDOW, self._window * 2)
        return elements, self._separator(b"]", "an array element")


def _shown(found: bytes) -> str:
    return repr(found.decode("latin-1")) if found else "the end of the file (truncated?)"
