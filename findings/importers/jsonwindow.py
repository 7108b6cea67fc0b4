"""Helpers of the streaming reader: decoding many array elements per call, and seekable copies.

A window of bytes is cut after a '}' that looks like the end of an element (followed by ',' and
'{', or by ']'), wrapped in brackets and decoded as one array. A JSON value has exactly one end, so a
guess that decodes is right; a wrong one fails and an earlier guess is tried.
"""

from __future__ import annotations

import gc
import re
import tempfile
from collections.abc import Iterator
from functools import cache
from typing import Any, BinaryIO

import msgspec

_TRAILING = re.compile(r"trailing characters \(byte (\d+)\)")
_COPY_CHUNK = 1 << 20


@cache
def decoders(element: Any) -> tuple[msgspec.json.Decoder, msgspec.json.Decoder]:
    return msgspec.json.Decoder(element), msgspec.json.Decoder(list[element])  # type: ignore[valid-type]


def decode(decoder: msgspec.json.Decoder, data: bytes) -> Any:
    # The cyclic GC would run dozens of times while the decoder builds thousands of fresh containers
    # that cannot form cycles; pausing it for the call makes decoding markedly faster.
    if not gc.isenabled():
        return decoder.decode(data)
    gc.disable()
    try:
        return decoder.decode(data)
    finally:
        gc.enable()


def near_end(message: str, size: int) -> bool:
    """Whether a decoder error may only mean that the view stopped inside the value."""
    if message == "Input data was truncated":
        return True
    found = re.search(r"\(byte (\d+)\)", message)
    return found is not None and int(found.group(1)) >= size - 64  # e.g. "invalid number" for "1."


def end_of_document(message: str, data: bytes) -> int | None:
    """Where the first complete JSON value in ``data`` ends, from a "trailing characters" error."""
    match = _TRAILING.search(message)
    if not match:
        return None
    # msgspec (0.22) points one byte past the first trailing character; the tests pin this.
    end = int(match.group(1)) - 1
    while end > 0 and data[end - 1 : end] in b" \t\r\n":
        end -= 1
    return end if data[end - 1 : end] in (b"}", b"]") else None


def candidates(buf: bytes, start: int, limit: int, eof: bool) -> Iterator[int]:
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


def seekable(stream: BinaryIO) -> BinaryIO:
    """The stream itself when it can seek, else a temporary copy (two-pass readers need to seek)."""
    try:
        if stream.seekable():
            return stream
    except (AttributeError, OSError, ValueError):
        pass
    copy = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the caller, closed with the import
    while chunk := stream.read(_COPY_CHUNK):
        copy.write(chunk)
    copy.seek(0)
    return copy


def decode_window(
    buf: bytes, start: int, window: int, eof: bool, decoder: msgspec.json.Decoder
) -> tuple[list[Any], int, bool] | None:
    """Decode the array elements from ``start`` up to a verified boundary inside the window.

    Returns the elements, where the reader goes on, and whether the array closed; None when no
    guess held. A misshapen element also gives None, so that decoding it alone reports its place.
    """
    for tries, cut in enumerate(candidates(buf, start, min(len(buf), start + window), eof)):
        if tries == 3:
            break
        piece = b"[" + buf[start : cut + 1] + b"]"
        try:
            return decode(decoder, piece), cut + 1, False
        except msgspec.ValidationError:
            return None
        except msgspec.DecodeError as exc:
            end = end_of_document(str(exc), piece)
            if end is None:
                continue  # the guess fell inside an element: back off to an earlier one
            # The array itself closed inside the window, right before the trailing characters.
            document = piece[:end].rstrip()
            return decode(decoder, document), start + len(document) - 1, True
    return None


def describe_failure(exc: Exception, data: bytes, at_end: bool) -> tuple[str, int]:
    """What went wrong decoding ``data``, for a person, and where (an offset into ``data``).

    ``at_end``: the data ran to the end of the file, so "truncated" really means truncated.
    """
    if isinstance(exc, UnicodeDecodeError):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as bad:
            return "the file is not valid UTF-8", bad.start
        return "the file is not valid UTF-8", 0
    if isinstance(exc, RecursionError):
        return "JSON nested too deeply", 0
    message = str(exc)
    if isinstance(exc, msgspec.ValidationError):
        return f"unexpected value: {message.split(' - at ')[0]}", 0
    if message == "Input data was truncated":
        if at_end:
            return "the file ends in the middle of a JSON value; it may be truncated", 0
        return "invalid JSON (an unterminated value or an invalid escape)", 0
    found = re.search(r"\(byte (\d+)\)", message)
    message = re.sub(r"^JSON is malformed: | \(byte \d+\)| - at `\$[^`]*`", "", message)
    return f"invalid JSON: {message}", int(found.group(1)) if found else 0


def line_of(stream: BinaryIO, origin: int, offset: int) -> int | None:
    """The line number of a byte offset, counted again from the start (only for error messages)."""
    try:
        stream.seek(origin)
        lines, left = 1, offset
        while left > 0 and (chunk := stream.read(min(_COPY_CHUNK, left))):
            lines += chunk.count(b"\n")
            left -= len(chunk)
        return lines
    except (OSError, ValueError):
        return None
