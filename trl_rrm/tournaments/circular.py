"""Circular: each completion against its k next neighbours on a seeded random ring."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import ClassVar

from .base import OneRoundTournament, Pairing, Result, group_rng
from .bradley_terry import bradley_terry_rewards
from .validation import validate_count, validate_flag, validate_positive


def circular_matches(n: int, k: int) -> int:
    """Matches of a circular group of ``n`` with ``k`` neighbours: min(n * k, n(n-1)/2)."""
    return min(n * k, n * (n - 1) // 2)


def circular_pairs(n: int, k: int, rng: random.Random) -> list[tuple[int, int]]:
    """``(first, second)`` pairs: ring position i meets i + 1, ..., i + k, shown first.

    So each player is shown first k times and second k times. Distances d and n - d are
    the same pair, so for n <= 2k only distances up to (n - 1) // 2 are used, plus, for
    even n, each diametric pair (d = n / 2) once: every pair exactly once (a round
    robin), slots balanced to within one.
    """
    ring = list(range(n))
    rng.shuffle(ring)
    pairs = []
    for d in range(1, min(k, (n - 1) // 2) + 1):
        pairs.extend((ring[i], ring[(i + d) % n]) for i in range(n))
    if n % 2 == 0 and 2 * k >= n:
        pairs.extend((ring[i], ring[i + n // 2]) for i in range(n // 2))
    return pairs


@dataclass(frozen=True)
class CircularTournament(OneRoundTournament):
    """Each completion against its ``k`` next neighbours on a seeded random ring; one round.

    The group is placed on a ring in a seeded random order and position i meets
    positions i + 1, ..., i + k (shown first in those; so every completion is shown
    first k times and second k times, and a position bias favours nobody). n * k
    matches, linear in n; for n <= 2k + 1 every pair exactly once instead (n(n-1)/2,
    the round robin: no pair is ever played twice). The ring's seeded order means no
    two completions are compared only because of their index.

    Reward: the Bradley-Terry expected win rate against the group's other rated
    completions (``bradley_terry_rewards``): the fit carries evidence around the ring
    (a beat b, b beat c), which win rates over 2k matches would not. Ties are half a win
    each; with ``soft`` (default) a verdict with ``p_first`` is ``p_first`` /
    ``1 - p_first`` wins; ``soft=False`` counts only ``winner``/``tie``. A failed match is
    missing; a completion without a valid result scores None. Groups of 0 or 1: None.

    Raises:
        ValueError: ``k`` not an int >= 1; ``soft`` not a bool; ``prior`` not > 0.
    """

    name: ClassVar[str] = "circular"

    k: int = 2
    soft: bool = True
    prior: float = 1.0

    def __post_init__(self) -> None:
        validate_count("k", self.k)
        validate_flag("soft", self.soft)
        validate_positive("prior", self.prior)

    def pairings(self, sizes: list[int], seed: int) -> list[Pairing]:
        return [
            Pairing(g, first, second)
            for g, n in enumerate(sizes)
            for first, second in circular_pairs(n, self.k, group_rng(seed, g, "circular"))
        ]

    def score_group(self, seed: int, group: int, size: int, results: list[Result]) -> list[float | None]:
        return bradley_terry_rewards(size, results, prior=self.prior)
