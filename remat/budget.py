"""Budgets as users write them: bytes, a fraction or a percent of the no-remat peak.

Fractions are exact: ``floor(0.9 x peak)`` is computed with rationals, so the
paper's budgets come out to the byte.

>>> parse_budget("41687", peak=46319), parse_budget("0.9", peak=46319), parse_budget("90%", peak=46319)
(41687, 41687, 41687)
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

from remat.errors import BudgetError

_BYTES = re.compile(r"\d+")
_FRACTION = re.compile(r"\d*\.\d+|\d+\.\d*")
_PERCENT = re.compile(r"(\d+(?:\.\d*)?|\.\d+)%")


def parse_budget(text: str, *, peak: int) -> int:
    """Read a memory budget written as bytes, a fraction of ``peak`` or a percent of it.

    Fractions and percents are exact (rationals, then the floor), so ``0.9`` of
    a peak gives the same byte count as ``90%``.

    Parameters
    ----------
    text : str
        Integer bytes (``41687``), a fraction of ``peak`` (``0.9``, ``.9``) or a
        percent (``90%``); surrounding blanks are ignored.
    peak : int
        The no-remat peak in bytes (see :func:`remat.graph.no_remat_peak`) that
        fractions and percents are taken of; unused for integer bytes.

    Returns
    -------
    int
        The budget in bytes, at least 1.

    Raises
    ------
    BudgetError
        When ``text`` is none of the three forms, or the budget it gives is
        zero bytes (``0``, ``0.0``, or a fraction too small for ``peak``).

    Examples
    --------
    >>> parse_budget("1000", peak=46319), parse_budget("0.5", peak=10), parse_budget("12.5%", peak=80)
    (1000, 5, 10)
    >>> parse_budget("0.00001", peak=100)
    Traceback (most recent call last):
    remat.errors.BudgetError: budget '0.00001' must be positive (it is 0 bytes of a 100-byte peak)
    """
    s = str(text).strip()
    if _BYTES.fullmatch(s):
        if int(s) == 0:
            raise BudgetError(f"budget {text!r} must be positive")
        return int(s)
    if _FRACTION.fullmatch(s):
        frac = Fraction(s)
    elif m := _PERCENT.fullmatch(s):
        frac = Fraction(m.group(1)) / 100
    else:
        raise BudgetError(f"budget {text!r} is not bytes (41687), a fraction (0.9) or a percent (90%)")
    budget = math.floor(frac * peak)
    if budget <= 0:
        raise BudgetError(f"budget {text!r} must be positive (it is {budget} bytes of a {peak}-byte peak)")
    return budget
