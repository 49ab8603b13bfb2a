"""Pointwise scoring: each completion judged on its own (``judge.grade``), no matches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from .base import Schedule, Tournament


@dataclass(frozen=True)
class PointwiseTournament(Tournament):
    """Marker for pointwise judging: no pairwise schedule.

    ``is_pointwise`` tells callers to make one ``judge.grade`` call for all groups (one
    Match per distinct completion of a group: identical completions are judged once) and
    to reward each completion with its grade's value in [0, 1]; a failed grade is None.
    A group of n costs n judgments, against ``2 (n - 1)`` readings of each completion in a
    round robin in both orders.
    """

    name: ClassVar[str] = "pointwise"
    is_pointwise: ClassVar[bool] = True

    def schedule(self, sizes: Sequence[int], seed: int = 0) -> Schedule:
        """Always raises: a pointwise tournament has no pairwise rounds.

        Raises:
            TypeError: always; call ``judge.grade`` once per completion.
        """
        raise TypeError("the pointwise tournament has no pairwise schedule: call judge.grade() once per completion")
