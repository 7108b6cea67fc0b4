"""Progress of a running import, visible while its transaction is still open.

The import runs in one transaction, so a progress value written on its connection would only appear
when the import is over. The reporter writes on a second, autocommit connection of its own instead;
the job row is not locked by the import (findings only take a key-share lock on it), so these small
updates never wait. Progress is the share of the raw file read (parsing and staging dominate), kept
below 90 until the merge is done, and written only when it moved by ``step`` points.
"""

from __future__ import annotations

import contextlib
from types import TracebackType
from typing import IO, Any

from django.db import DEFAULT_DB_ALIAS, connections

PARSE_SHARE = 90


class ProgressReporter:
    def __init__(self, *, job_id: int, stream: IO[bytes], size: int, step: int = 5) -> None:
        self.job_id = job_id
        self._stream = stream
        self._size = max(size, 1)
        self._step = step
        self._written = 0
        self._connection: Any = None

    def __enter__(self) -> ProgressReporter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.close()

    def update(self) -> None:
        try:
            position = self._stream.tell()
        except (OSError, ValueError):
            return
        percent = min(PARSE_SHARE, PARSE_SHARE * position // self._size)
        if percent >= self._written + self._step:
            self._write(percent)

    def _write(self, percent: int) -> None:
        self._written = percent
        try:
            if self._connection is None:
                self._connection = connections.create_connection(DEFAULT_DB_ALIAS)
            with self._connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE findings_importjob SET progress = %s WHERE id = %s AND status = 'running'",
                    [percent, self.job_id],
                )
        except Exception:  # progress is a courtesy: never let it fail an import
            self._connection = None
