"""Argument checks shared by the tournaments; messages name the field and the value."""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from typing import Any


def validate_sizes(sizes: Sequence[int]) -> list[int]:
    """``sizes`` as a list of ints; ValueError naming the bad entry otherwise."""
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence):
        raise ValueError(f"sizes must be a sequence of group sizes, got {sizes!r}")
    out = []
    for g, size in enumerate(sizes):
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError(f"sizes[{g}]={size!r}: a group size must be an int >= 0")
        out.append(size)
    return out


def validate_seed(seed: int) -> int:
    """``seed`` as an int (numpy ints accepted); ValueError naming it otherwise."""
    try:
        if isinstance(seed, bool):
            raise TypeError
        return operator.index(seed)
    except TypeError:
        raise ValueError(f"seed={seed!r}: must be an int") from None


def validate_opponents(opponents: int | None) -> None:
    """ValueError unless ``opponents`` is None or an int >= 1."""
    if opponents is not None and (isinstance(opponents, bool) or not isinstance(opponents, int) or opponents < 1):
        raise ValueError(f"opponents={opponents!r}: must be None (full round robin) or an int >= 1")


def validate_positive(field: str, value: float) -> None:
    """ValueError unless ``value`` is a finite number > 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
        raise ValueError(f"{field}={value!r}: must be a finite number > 0")


def validate_non_negative(field: str, value: float) -> None:
    """ValueError unless ``value`` is a finite number >= 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
        raise ValueError(f"{field}={value!r}: must be a finite number >= 0")


def validate_count(field: str, value: int, minimum: int = 1) -> None:
    """ValueError unless ``value`` is an int >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{field}={value!r}: must be an int >= {minimum}")


def validate_flag(field: str, value: bool) -> None:
    """ValueError unless ``value`` is a bool (True or False, not 0/1 or a string)."""
    if not isinstance(value, bool):
        raise ValueError(f"{field}={value!r}: must be True or False")


def validate_choice(field: str, value: Any, choices: Sequence[str]) -> None:
    """ValueError unless ``value`` is one of ``choices`` (strings)."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{field}={value!r}: must be one of {', '.join(repr(c) for c in choices)}")
