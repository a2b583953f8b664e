"""The library's documented errors.

Every error a user can cause derives from :class:`RematError` and carries a
one-line message that names the problem and an exit code for the CLI. Anything
else escaping the library is a bug.
"""

from __future__ import annotations


class RematError(Exception):
    """Base of all user-facing errors; ``exit_code`` is what the CLI returns.

    Catch :class:`RematError` to handle every problem the input can cause; its
    message is one line naming the node, field, file or value at fault.

    Attributes
    ----------
    exit_code : int
        The CLI's exit status for this kind of error.

    Examples
    --------
    >>> from remat.budget import parse_budget
    >>> try:
    ...     parse_budget("lots", peak=100)
    ... except RematError as exc:
    ...     print(type(exc).__name__, exc.exit_code)
    BudgetError 2
    """

    exit_code = 2


class GraphError(RematError):
    """The graph (file or object) is malformed: names the node, field or cycle."""


class BudgetError(RematError):
    """A memory budget could not be parsed or is out of range."""


class ScheduleFormatError(RematError):
    """A schedule file is malformed or belongs to another graph."""


class BackendError(RematError):
    """An unknown or unavailable backend, or a backend that cannot take the model."""


class FormulationError(RematError):
    """An unknown formulation or invalid formulation options."""


class OutputError(RematError):
    """An output file cannot be written (its folder is missing, it is a folder, permission denied)."""


class VerificationFailed(AssertionError):
    """A solver produced a schedule the verifier rejects: a bug in remat, never user error."""
