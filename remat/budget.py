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
    """Integer bytes (``41687``), a fraction of ``peak`` (``0.9``) or a percent (``90%``)."""
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
