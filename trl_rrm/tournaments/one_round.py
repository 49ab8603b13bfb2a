"""The one-round tournaments (round robin, ELO, Bradley-Terry, circular, anchor): who meets
whom, and the schedule they share (``OneRoundTournament``)."""

from __future__ import annotations

import random
from abc import abstractmethod
from collections.abc import Sequence
from functools import partial

from .base import OneRoundSchedule, Pairing, Result, Schedule, Tournament, group_rng
from .validation import validate_seed, validate_sizes


def _oriented(i: int, j: int, rng: random.Random) -> tuple[int, int]:
    # Random presentation order: with a judge that has a position bias and judges one
    # order only, a fixed "lower index first" would favour some completions every step.
    return (i, j) if rng.random() < 0.5 else (j, i)


def round_robin_pairs(n: int, rng: random.Random) -> list[tuple[int, int]]:
    """Every unordered pair of ``range(n)`` once, each in a random orientation."""
    return [_oriented(i, j, rng) for i in range(n) for j in range(i + 1, n)]


def random_opponent_pairs(n: int, opponents: int, rng: random.Random) -> list[tuple[int, int]]:
    """Each of ``range(n)`` against ``opponents`` distinct random others.

    Pairs drawn twice (i picked j and j picked i) are judged once, so a completion plays
    at least ``min(opponents, n - 1)`` matches and a few more when others picked it.
    With ``opponents >= n - 1`` this is the full round robin.
    """
    if opponents >= n - 1:
        return round_robin_pairs(n, rng)
    seen: set[tuple[int, int]] = set()
    pairs = []
    for i in range(n):
        for j in rng.sample([j for j in range(n) if j != i], opponents):
            key = (min(i, j), max(i, j))
            if key not in seen:
                seen.add(key)
                pairs.append(_oriented(i, j, rng))
    return pairs


def one_round_pairings(sizes: Sequence[int], seed: int, opponents: int | None) -> list[Pairing]:
    """All groups' pairings: full round robin (``opponents=None``) or k random opponents."""
    pairings = []
    for g, n in enumerate(sizes):
        if n < 2:
            continue
        rng = group_rng(seed, g, "pairs")
        pairs = round_robin_pairs(n, rng) if opponents is None else random_opponent_pairs(n, opponents, rng)
        pairings.extend(Pairing(g, a, b) for a, b in pairs)
    return pairings


class OneRoundTournament(Tournament):
    """A tournament that plays every match in one round (round robin, ELO, Bradley-Terry,
    circular, anchor): a subclass says how a group's valid results become its rewards
    (``score_group``) and, unless they are the full round robin or ``opponents`` random
    others (``one_round_pairings``), who meets whom (``pairings``); the schedule
    is this one."""

    # Each completion against this many distinct random others; None: the full round robin.
    opponents: int | None = None

    def schedule(self, sizes: Sequence[int], seed: int = 0) -> Schedule:
        sizes, seed = validate_sizes(sizes), validate_seed(seed)
        return OneRoundSchedule(sizes, seed, self.pairings(sizes, seed), partial(self.score_group, seed), self.soft)

    def pairings(self, sizes: list[int], seed: int) -> list[Pairing]:
        """Every group's matches (``sizes`` and ``seed`` validated).

        Raises:
            ValueError: a size this tournament cannot play.
        """
        return one_round_pairings(sizes, seed, self.opponents)

    @abstractmethod
    def score_group(self, seed: int, group: int, size: int, results: list[Result]) -> list[float | None]:
        """Rewards of group ``group`` (``size`` members) from its valid ``results``."""
