"""The exceptions the CLI handles, torch-free: the user's errors reach the user as one clear line (no
traceback, exit 2), an interrupted training exits 130, and anything else is a bug and keeps its traceback."""


class UserError(Exception):
    """Bad input, missing data or a misconfiguration: the message says what is wrong and what to do."""


class ConfigError(UserError, ValueError):
    """An invalid setting (a config field, a command-line option). Also a ValueError, as library callers
    of the dataclasses that raise it expect."""


class Interrupted(Exception):
    """Training stopped by SIGTERM or Ctrl-C after saving a checkpoint (the CLI exits 130)."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, or its type where the message is empty."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
