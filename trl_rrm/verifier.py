"""Judging only what a verifier cannot separate.

Where a task has a verifiable reward (a unit test, an exact answer, a constraint checker)
for some of its prompts, most groups need no judge: the verifier already tells their
members apart. A generative judge is worth its cost where the verifier ties everyone: all
right (which right answer is better?), all wrong (which is less wrong?), or no verdict.
``RRMReward(verifier=...)`` keeps the verifier's rewards for the groups it separates and
runs the tournament on the rest only::

    settled = settled_groups([[1.0, 0.0, 1.0], [1.0, 1.0, 1.0], [0.0, None, 1.0]])
    # [[1.0, 0.0, 1.0], None, None]: the judge ranks the 2nd (a tie) and the 3rd (a gap)

Pure Python.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet


def verifier_values(values: object, rows: int, what: str = "verifier") -> list[float | None]:
    """A verifier's (or ``what``'s: ``"audit"``) rewards as floats. None, NaN and +-inf
    are no verdict (None): an infinite reward would reach GRPO's advantages, and its group's
    normalisation would make all of them NaN.

    Raises:
        TypeError: ``values`` is not a list of rewards (None, a number, a string, a dict or
            a set), or a value is not a real number or None (a bool is not); the error
            names ``what`` and the row.
        ValueError: a count other than ``rows``.
    """
    if values is None or isinstance(values, (str, bytes, Mapping, AbstractSet)) or not isinstance(values, Iterable):
        raise TypeError(f"{what} returned {values!r:.60} ({type(values).__name__}); it must return a list with one "
                        "reward (a number or None) per completion")  # fmt: skip
    values = list(values)
    if len(values) != rows:
        raise ValueError(f"{what} returned {len(values)} rewards for {rows} completions")
    out: list[float | None] = []
    for row, value in enumerate(values):
        if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Real)):
            raise TypeError(f"{what} reward of row {row}: {value!r:.60} ({type(value).__name__}) must be a number or None")
        out.append(None if value is None or not math.isfinite(value) else float(value))
    return out


def settled_groups(values: Sequence[Sequence[float | None]]) -> list[list[float] | None]:
    """Per group, the verifier's rewards where they separate its members (every member has
    one and they are not all equal), else None: the judge ranks that group."""
    settled: list[list[float] | None] = []
    for group in values:
        known = [v for v in group if v is not None]
        separates = len(known) == len(group) >= 2 and max(known) > min(known)
        settled.append(known if separates else None)
    return settled


__all__ = ["settled_groups", "verifier_values"]
