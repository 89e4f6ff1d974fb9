"""Argument checks shared by the whole package.

Every function raises :class:`pufferlib.exceptions.APIUsageError` with a message naming
the argument, what it got and what is allowed, and returns the value converted to a
plain Python type.
"""
from __future__ import annotations

import numbers

import numpy as np

from pufferlib.exceptions import APIUsageError

__all__ = ["check_int", "check_float"]


def check_int(name: str, value, low: int = None, high: int = None) -> int:
    """Validate an integer argument and return it as a Python ``int``.

    Args:
        name: argument name used in the error message.
        value: any ``numbers.Integral`` (Python or NumPy integer); ``bool`` is rejected.
        low, high: inclusive bounds; ``None`` means unbounded on that side.

    Raises:
        APIUsageError: ``value`` is not an integer ("<name> must be an int, got ..."), or
            it is outside the bounds ("<name> must be >= low" when only ``low`` is given,
            otherwise "<name> must be in [low, high]").
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise APIUsageError(f"{name} must be an int, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        rng = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise APIUsageError(f"{name} must be {rng}, got {value}")
    return int(value)


def check_float(name: str, value) -> float:
    """Validate a finite real argument and return it as a Python ``float``.

    Args:
        name: argument name used in the error message.
        value: any finite ``numbers.Real`` (ints included); ``bool`` is rejected.

    Raises:
        APIUsageError: ``value`` is a bool, not a real number, NaN or infinite.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise APIUsageError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def check_bool(name: str, value) -> bool:
    """Validate a flag and return it as a Python ``bool``.

    Raises:
        APIUsageError: ``value`` is not a ``bool`` or ``numpy.bool_`` (``0`` / ``1`` included).
    """
    if not isinstance(value, (bool, np.bool_)):
        raise APIUsageError(f"{name} must be a bool, got {value!r}")
    return bool(value)
