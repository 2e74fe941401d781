"""Errors that reach the user as one clear line (the CLI prints them without a traceback)."""


class UserError(Exception):
    """Bad input, missing data or a misconfiguration: the message says what is wrong and what to do."""
