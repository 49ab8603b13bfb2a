"""ELO rating from one round of pairwise matches, as in the RRM paper's arena."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from .base import OneRoundTournament, Pairing, Result, group_rng
from .pairings import one_round_pairings
from .validation import validate_count, validate_flag, validate_opponents, validate_positive

ELO_INITIAL = 1000.0
ELO_SCALE = 400.0
# The RRM arena's reward mapping: (elo - 1000) / 200 + 0.5, i.e. 0.5 at the initial rating.
ELO_REWARD_SPAN = 200.0


def elo_ratings(
    n: int,
    results: Sequence[Result],
    *,
    k_factor: float = 4.0,
    passes: int = 16,
    rng: random.Random | None = None,
) -> list[float | None]:
    """ELO ratings of ``n`` players from valid results ``(first, second, points of first)``.

    Each result updates by ``k_factor * (S - E)``, ``S`` the points of ``first`` (1, 0.5,
    0, or a soft verdict's ``p_first``) and ``E`` its expected score from the ratings.

    Sequential ELO depends on the order the results are replayed in, which here is an
    artefact (all matches are played at once). So the results are put in a canonical
    order (the answer does not depend on the order they were given in), replayed in
    ``passes`` independently shuffled orders from the initial 1000 each time, and the
    ratings averaged over passes.

    Returns:
        The mean rating per player; None for players without a valid result.
    """
    ordered = sorted(results)
    rng = rng if rng is not None else random.Random(0)
    played = [False] * n
    for first, second, _ in ordered:
        played[first] = played[second] = True
    totals = [0.0] * n
    for _ in range(passes):
        rng.shuffle(ordered)
        ratings = [ELO_INITIAL] * n
        for first, second, score in ordered:
            expected = 1.0 / (1.0 + 10.0 ** ((ratings[second] - ratings[first]) / ELO_SCALE))
            delta = k_factor * (score - expected)
            ratings[first] += delta
            ratings[second] -= delta
        for i in range(n):
            totals[i] += ratings[i]
    return [totals[i] / passes if played[i] else None for i in range(n)]


def elo_reward(rating: float | None) -> float | None:
    """The RRM arena's mapping ``(rating - 1000) / 200 + 0.5`` (None stays None)."""
    return None if rating is None else (rating - ELO_INITIAL) / ELO_REWARD_SPAN + 0.5


@dataclass(frozen=True)
class EloTournament(OneRoundTournament):
    """All matches in one round; rewards from ELO ratings.

    Pairings: the full round robin (``opponents=None``) or each completion against
    ``opponents`` distinct random others (pairs deduplicated, random presentation order;
    the RRM RL arena used 4). Ratings: initial 1000, scale 400, ``k_factor`` (4, as the
    RRM authors), averaged over ``passes`` seeded shuffles of the replay order.

    Reward: ``(rating - 1000) / 200 + 0.5`` (the RRM arena's mapping), so 0.5 is average;
    it is not clipped. With K=4 a completion moves at most 4 points per match, so rewards
    stay close to 0.5 (e.g. 1 win of 1 match: 1002 -> 0.51): fine under GRPO's per-group
    normalisation, small next to other unnormalised rewards. Ties count 0.5; with ``soft``
    (default) a verdict with ``p_first`` is the fractional actual score ``S = p_first``
    for ``first`` (``1 - p_first`` for ``second``), e.g. p_first = 0.75 moves K * 0.25;
    ``soft=False`` ignores ``p_first`` (S = 1/0.5/0 from ``winner``/``tie``). A failed
    match is left out; a completion without a valid match scores None.

    Raises:
        ValueError: ``opponents`` not None or >= 1; ``k_factor`` not > 0; ``passes`` not
            >= 1; ``soft`` not a bool.
    """

    name: ClassVar[str] = "elo"

    opponents: int | None = None
    k_factor: float = 4.0
    passes: int = 16
    soft: bool = True

    def __post_init__(self) -> None:
        validate_opponents(self.opponents)
        validate_positive("k_factor", self.k_factor)
        validate_count("passes", self.passes)
        validate_flag("soft", self.soft)

    def pairings(self, sizes: list[int], seed: int) -> list[Pairing]:
        return one_round_pairings(sizes, seed, self.opponents)

    def score_group(self, seed: int, group: int, size: int, results: list[Result]) -> list[float | None]:
        rng = group_rng(seed, group, "elo-passes")
        ratings = elo_ratings(size, results, k_factor=self.k_factor, passes=self.passes, rng=rng)
        return [elo_reward(r) for r in ratings]
