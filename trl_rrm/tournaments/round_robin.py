"""Round robin: every pair of a group is judged once; reward = win rate."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from .base import OneRoundSchedule, Result, Schedule, Tournament
from .pairings import one_round_pairings
from .validation import validate_seed, validate_sizes


def win_rates(n: int, results: Sequence[Result]) -> list[float | None]:
    """(wins + 0.5 * ties) / valid matches per player; None without a valid match."""
    points = [0.0] * n
    played = [0] * n
    for first, second, score in results:
        points[first] += score
        points[second] += 1.0 - score
        played[first] += 1
        played[second] += 1
    return [points[i] / played[i] if played[i] else None for i in range(n)]


@dataclass(frozen=True)
class RoundRobinTournament(Tournament):
    """All n(n-1)/2 pairs of each group in one round, each in a random presentation order.

    Reward: ``(wins + 0.5 * ties) / valid matches`` in [0, 1]. A failed match counts for
    neither side (it is left out of the denominator too); a completion with no valid
    match scores None. Groups of 0 or 1 completions: no match, None.
    """

    name: ClassVar[str] = "round_robin"

    def schedule(self, sizes: Sequence[int], seed: int = 0) -> Schedule:
        sizes, seed = validate_sizes(sizes), validate_seed(seed)
        pairings = one_round_pairings(sizes, seed, opponents=None)
        return OneRoundSchedule(sizes, seed, pairings, lambda g, n, results: win_rates(n, results))
