"""Errors meant for users: printed by the CLI as one paragraph, without a traceback."""


class UserError(Exception):
    """A mistake in user input (a file, a key, a value, a command-line option)."""


class ScenarioError(UserError):
    """A scenario file (or an override of one) that cannot be run as written."""


class PluginError(UserError):
    """An installed policy plug-in (entry point group ``loansim.policies``) that cannot be used."""


class RunError(Exception):
    """A run that could not finish for a reason outside the input (a worker process killed,
    for instance): printed as one paragraph, exit status 1."""


class Stopped(KeyboardInterrupt):
    """The process was asked to stop by a signal other than Ctrl-C (SIGTERM, SIGHUP)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
