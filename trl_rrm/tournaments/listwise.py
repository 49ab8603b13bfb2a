"""Listwise scoring: one ``judge.rank`` call per group instead of pairwise rounds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from ..types import Ranking
from .base import Schedule, Tournament

SCORE_MIN, SCORE_MAX = 1.0, 5.0  # RewardAnything's score scale


def listwise_scores(ranking: Ranking | None, k: int) -> list[float | None]:
    """Rewards in [0, 1] for the k responses of one listwise judgment.

    - With judge scores (1..5): ``(score - 1) / 4``; equal scores give equal rewards.
    - With an order only: ``1 - position / (k - 1)``, best 1.0, worst 0.0.
    - ``ranking is None`` (the judgment failed): ``[None] * k``, nothing invented.

    Raises:
        ValueError: ``k`` is negative, or the ranking does not cover exactly k responses,
            or a score lies outside 1..5 (the parser never produces either).
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise ValueError(f"k={k!r}: must be an int >= 0")
    if ranking is None:
        return [None] * k
    if sorted(ranking.order) != list(range(k)):
        raise ValueError(f"ranking.order={ranking.order!r} is not a permutation of range(k={k})")
    if ranking.scores is not None:
        if len(ranking.scores) != k:
            raise ValueError(f"ranking.scores={ranking.scores!r}: expected {k} scores")
        for score in ranking.scores:
            if not SCORE_MIN <= score <= SCORE_MAX:  # also rejects NaN
                raise ValueError(f"ranking.scores={ranking.scores!r}: score {score!r} is outside 1..5")
        return [(score - SCORE_MIN) / (SCORE_MAX - SCORE_MIN) for score in ranking.scores]
    if k == 1:
        return [None]  # an order of one response says nothing
    position = {response: rank for rank, response in enumerate(ranking.order)}
    return [1.0 - position[i] / (k - 1) for i in range(k)]


@dataclass(frozen=True)
class ListwiseTournament(Tournament):
    """Marker for listwise judging: no pairwise schedule.

    ``is_listwise`` tells callers to make one ``judge.rank`` call for all groups (one
    Match per group of >= 2 completions) and to score each with ``listwise_scores``.
    Rewards as ``listwise_scores``; a failed ranking gives None to the whole group.
    """

    name: ClassVar[str] = "listwise"
    is_listwise: ClassVar[bool] = True

    def schedule(self, sizes: Sequence[int], seed: int = 0) -> Schedule:
        """Always raises: a listwise tournament has no pairwise rounds.

        Raises:
            TypeError: always; call ``judge.rank`` per group and ``listwise_scores``.
        """
        raise TypeError(
            "the listwise tournament has no pairwise schedule: call judge.rank() once per group "
            "and score each with listwise_scores()"
        )
