"""Round robin: every pair of a group is judged once; reward = (expected) win rate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .base import OneRoundTournament, Pairing, Result, win_rates
from .pairings import one_round_pairings
from .validation import validate_flag


@dataclass(frozen=True)
class RoundRobinTournament(OneRoundTournament):
    """All n(n-1)/2 pairs of each group in one round, each in a random presentation order.

    Reward: ``(wins + 0.5 * ties) / valid matches`` in [0, 1]. With ``soft`` (default), a
    verdict with ``p_first`` gives ``p_first`` to ``first`` and ``1 - p_first`` to
    ``second`` instead, so the reward is the expected win rate; hard verdicts score exactly
    as before. ``soft=False`` ignores ``p_first`` and counts only ``winner``/``tie``.
    A failed match counts for neither side (it is left out of the denominator too); a
    completion with no valid match scores None. Groups of 0 or 1 completions: no match, None.

    Raises:
        ValueError: ``soft`` not a bool.
    """

    name: ClassVar[str] = "round_robin"

    soft: bool = True

    def __post_init__(self) -> None:
        validate_flag("soft", self.soft)

    def pairings(self, sizes: list[int], seed: int) -> list[Pairing]:
        return one_round_pairings(sizes, seed, opponents=None)

    def score_group(self, seed: int, group: int, size: int, results: list[Result]) -> list[float | None]:
        return win_rates(size, results)
