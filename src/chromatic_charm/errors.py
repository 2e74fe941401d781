"""Errors that reach the user as one clear line (the CLI prints them without a traceback)."""


class UserError(Exception):
    """Bad input, missing data or a misconfiguration: the message says what is wrong and what to do."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, or its type where the message is empty."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
