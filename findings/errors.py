"""Domain errors of the findings app, turned into clear messages by views, the API and commands."""


class ImportFailed(Exception):
    """A scan file could not be imported; the message is written for the person who uploaded it."""
