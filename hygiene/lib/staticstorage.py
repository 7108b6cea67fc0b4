"""Static files as ``make run`` serves them: collected, compressed and named by their content."""

from __future__ import annotations

from typing import Any

from whitenoise.storage import CompressedManifestStaticFilesStorage


class CollectedStaticFilesStorage(CompressedManifestStaticFilesStorage):
    """Hashed names even with DEBUG on, so WhiteNoise may let browsers keep each file for a year.

    Django gives unhashed names in DEBUG, which WhiteNoise can only cache for a minute; ``make run``
    collects the files before it starts the server, so every name is in the manifest.
    """

    def url(self, name: Any, force: bool = False) -> str:
        return super().url(name, force=True)
