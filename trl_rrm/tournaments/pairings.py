"""Who meets whom in the one-round tournaments (round robin, ELO, Bradley-Terry)."""

from __future__ import annotations

import random
from collections.abc import Sequence

from .base import Pairing, group_rng


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
