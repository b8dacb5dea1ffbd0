"""Errors that are the user's to fix: printed as one line, without a stack trace."""


class UserError(Exception):
    """A mistake the user can fix (unreachable database, missing file, bad argument)."""
