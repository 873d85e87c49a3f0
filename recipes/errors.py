"""The one exception the CLI turns into a one-line message and exit status 2."""


class UsageError(Exception):
    """Bad input from the user (unknown recipe, bad --set, unreadable file, ...)."""
