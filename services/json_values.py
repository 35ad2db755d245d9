"""numpy values to JSON: the one conversion every report, snapshot and alert uses."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def json_scalar(value: Any, digits: int | None = None) -> Any:
    """A JSON-safe scalar: numpy types become Python ones, NaN and infinity become None, floats
    are rounded to `digits` when given (JSON has no NaN; a bare NaN makes the document invalid)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return round(value, digits) if digits is not None else value
    return value
