"""Frontends: turn a model of some framework into a :class:`remat.Graph`, and a schedule back into code.

``remat.frontends.torch`` (extra ``torch``) extracts the joint forward +
backward graph of a PyTorch module, executes schedules as ``torch.fx``
modules and measures their memory. This package itself imports no framework.
"""

from __future__ import annotations

from remat.errors import RematError


class FrontendError(RematError):
    """A model could not be traced or executed, or its framework is not installed."""
