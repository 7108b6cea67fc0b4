"""Streaming reader for very large JSON scan files (Trivy, SARIF, Grype).

ijson, even with its yajl2_c backend, tokenizes at about 170 MB/s here and builds values a token at a
time: too slow for 300 MB reports. This reader walks only the outer levels itself (object members,
array elements) and hands complete values to msgspec, which decodes at memory speed and, given a
Struct type, builds only the fields an importer reads. The elements of a long array are decoded a
window at a time: the reader guesses an element boundary near the end of the window and the decoder
checks the guess, because a JSON value has exactly one end: a guess that decodes is right, a wrong one
fails and the reader backs off. Nothing here recurses on the input's nesting and the decoder stops at
the interpreter's recursion limit, so hostile nesting becomes ImportFailed, never a crash.
"""

from __future__ import annotations

import codecs
import gc
import re
import tempfile
from collections.abc import Iterator
from functools import cache
from typing import Any, BinaryIO

import msgspec

from findings.errors import ImportFailed

_WS = re.compile(rb"[ \t\r\n]*")
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_SCALAR = re.compile(rb"-?[0-9][0-9.eE+-]*|true|false|null")
_TRAILING = re.compile(r"trailing characters \(byte (\d+)\)")
_CHUNK = 1 << 20
_MAX_WINDOW = 1 << 20
_MIN_WINDOW = 64 << 10
# One value (a SARIF tool object, one finding) above this is refused rather than buffered.
MAX_VALUE = 64 << 20


@cache
def _decoders(element: Any) -> tuple[msgspec.json.Decoder, msgspec.json.Decoder]:
    return msgspec.json.Decoder(element), msgspec.json.Decoder(list[element])  # type: ignore[valid-type]


def _decode(decoder: msgspec.json.Decoder, data: bytes) -> Any:
    # The cyclic GC would run dozens of times while the decoder builds thousands of fresh containers
    # that cannot form cycles; pausing it for the call makes decoding markedly faster.
    if not gc.isenabled():
        return decoder.decode(data)
    gc.disable()
    try:
        return decoder.decode(data)
    finally:
        gc.enable()


def seekable(stream: BinaryIO) -> BinaryIO:
    """The stream itself when it can seek, else a temporary copy (two-pass readers need to seek)."""
    try:
        if stream.seekable():
            return stream
    except (AttributeError, OSError, ValueError):
        pass
    copy = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the caller, closed with the import
    while chunk := stream.read(_CHUNK):
        copy.write(chunk)
    copy.seek(0)
    return copy


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

    def _line_of(self, offset: int) -> int | None:
        if self._origin is None:
            return None
        try:
            self._stream.seek(self._origin)
            lines, left = 1, offset
            while left > 0 and (chunk := self._stream.read(min(_CHUNK, left))):
                lines += chunk.count(b"\n")
                left -= len(chunk)
            self._stream.seek(self._origin + self._base + len(self._buf))
            return lines
        except (OSError, ValueError):
            return None

    def _failure(self, exc: Exception, data: bytes, at: int) -> ImportFailed:
        """ImportFailed for a decoder error on ``data``, which starts at absolute offset ``at``."""
        if isinstance(exc, UnicodeDecodeError):
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as bad:
                return self.error("the file is not valid UTF-8", at + bad.start)
            return self.error("the file is not valid UTF-8", at)
        if isinstance(exc, RecursionError):
            return self.error("JSON nested too deeply", at)
        message = str(exc)
        if isinstance(exc, msgspec.ValidationError):
            return self.error(f"unexpected value: {message.split(' - at ')[0]}", at)
        if message == "Input data was truncated":
            if self._eof and at + len(data) >= self._base + len(self._buf):
                return self.error("the file ends in the middle of a JSON value; it may be truncated", at)
            return self.error("invalid JSON (an unterminated value or an invalid escape)", at)
        found = re.search(r"\(byte (\d+)\)", message)
        where = at + int(found.group(1)) if found else at
        message = re.sub(r"^JSON is malformed: | \(byte \d+\)| - at `\$[^`]*`", "", message)
        return self.error(f"invalid JSON: {message}", where)

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
            return _decode(_decoders(kind)[0], raw)
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
                _decode(_decoders(msgspec.Raw)[0], view)
            except msgspec.DecodeError as exc:
                end = _end_of_document(str(exc), view)
                if end is not None:
                    self._pos += end
                    return view[:end]
                if partial and _near_end(str(exc), len(view)):
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
        buf, start = self._buf, self._pos
        decoder = _decoders(kind)[1]
        candidates = _candidates(buf, start, min(len(buf), start + self._window), self._eof)
        for tries, cut in enumerate(candidates):
            if tries == 3:
                break
            piece = b"[" + buf[start : cut + 1] + b"]"
            try:
                elements = _decode(decoder, piece)
            except msgspec.ValidationError:
                break  # a misshapen element: decode one at a time to report it where it is
            except msgspec.DecodeError as exc:
                end = _end_of_document(str(exc), piece)
                if end is None:
                    continue  # the guess fell inside an element: back off to an earlier one
                # The array itself closed inside the window, right before the trailing characters.
                document = piece[:end].rstrip()
                elements = _decode(decoder, document)
                self._pos = start + len(document) - 1
                return elements, True
            except (UnicodeDecodeError, RecursionError) as exc:
                raise self._failure(exc, piece[1:], self._base + start) from None
            self._pos = cut + 1
            self._window = min(_MAX_WINDOW, self._window * 2)
            return elements, self._separator(b"]", "an array element")
        # No guess held (huge or odd elements): take the next few one at a time, smaller windows after.
        self._window = max(_MIN_WINDOW, self._window // 4)
        self._singles = 8
        return None


def _shown(found: bytes) -> str:
    return repr(found.decode("latin-1")) if found else "the end of the file (truncated?)"


def _near_end(message: str, size: int) -> bool:
    """Whether a decoder error may only mean that the view stopped inside the value."""
    if message == "Input data was truncated":
        return True
    found = re.search(r"\(byte (\d+)\)", message)
    return bool(found) and int(found.group(1)) >= size - 64  # e.g. "invalid number" for a cut "1."


def _end_of_document(message: str, data: bytes) -> int | None:
    """Where the first complete JSON value in ``data`` ends, from a "trailing characters" error."""
    match = _TRAILING.search(message)
    if not match:
        return None
    # msgspec (0.22) points one byte past the first trailing character; the tests pin this.
    end = int(match.group(1)) - 1
    while end > 0 and data[end - 1 : end] in b" \t\r\n":
        end -= 1
    return end if data[end - 1 : end] in (b"}", b"]") else None


def _candidates(buf: bytes, start: int, limit: int, eof: bool) -> Iterator[int]:
    """Likely ends of array elements, last first: a '}' followed by ',' and '{', or by ']'.

    After the first guess, only cuts where the braces and brackets balance (counted naively, ignoring
    strings) are offered, which skips most cuts inside nested arrays of objects.
    """
    end = limit
    balance: tuple[int, int] | None = None  # counted only once the first guess has failed
    while True:
        cut = buf.rfind(b"}", start, end)
        if cut < 0:
            return
        if balance is not None:
            opened, listed = balance
            opened += buf.count(b"}", cut, end) - buf.count(b"{", cut, end)
            listed += buf.count(b"]", cut, end) - buf.count(b"[", cut, end)
            balance = opened, listed
        end = cut
        tail = buf[cut + 1 : cut + 65].lstrip()
        if not tail or (len(tail) < 2 and not eof):
            continue
        if tail[:1] != b"]" and (tail[:1] != b"," or tail[1:].lstrip()[:1] != b"{"):
            continue
        # The counts cover buf[start:cut]: whole elements plus the last one without its '}'.
        if balance is None or balance == (1, 0):
            yield cut
            if balance is None:
                opened = buf.count(b"{", start, cut) - buf.count(b"}", start, cut)
                listed = buf.count(b"[", start, cut) - buf.count(b"]", start, cut)
                balance = opened, listed
