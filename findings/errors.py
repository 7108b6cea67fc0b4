"""Domain errors of the findings app, turned into clear messages by views, the API and commands."""


class ImportFailed(Exception):
    """A scan file could not be imported; the message is written for the person who uploaded it."""


class EnrichmentFileInvalid(Exception):
    """A KEV or EPSS file is not what it claims to be; the message says what and where."""


class FetchRefused(Exception):
    """A URL may not be fetched (host not allowed, private address, too big, too slow)."""


class SourcePullFailed(Exception):
    """A scan source could not be pulled; the message is shown on the source's page."""


class ScanTooLarge(ImportFailed):
    """A scan file is larger than HYGIENE_SCAN_MAX_BYTES (the API answers 413)."""
