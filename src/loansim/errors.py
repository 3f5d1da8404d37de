"""Errors meant for users: printed by the CLI as one paragraph, without a traceback."""


class UserError(Exception):
    """A mistake in user input (a file, a key, a value, a command-line option)."""


class ScenarioError(UserError):
    """A scenario file (or an override of one) that cannot be run as written."""
