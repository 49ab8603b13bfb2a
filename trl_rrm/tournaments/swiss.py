"""Swiss system: ceil(log2 n) rounds of n // 2 matches, each pairing similar standings."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import ClassVar

from ..types import Verdict
from .base import (
    GroupwiseSchedule,
    Pairing,
    Schedule,
    Tournament,
    group_rng,
    outcome,
    valid_results,
)
from .bradley_terry import bradley_terry_rewards
from .knockout import knockout_rounds
from .validation import validate_flag, validate_positive, validate_seed, validate_sizes

# Search steps for a round without rematches before falling back to allowing them. In
# ceil(log2 n) rounds every player has met at most ceil(log2 n) - 1 others, so for even
# n a rematch-free round exists (Dirac's theorem on the graph of pairs not yet met);
# odd n were checked for n <= 65. The search takes a few steps per pair: the cap only
# bounds the work should that ever fail.
_SEARCH_BUDGET = 20_000
# Bye candidates whose rounds are compared (each is one pairing search).
_BYE_CANDIDATES = 8


def swiss_rounds(n: int) -> int:
    """Rounds of a Swiss group of ``n``: ceil(log2 n), as a knockout (0 for n < 2)."""
    return knockout_rounds(n)


def _pair_by_standing(
    order: list[int],
    standing: dict[int, float],
    met: list[set[int]],
    balance: list[int],
    budget: list[int],
) -> list[tuple[int, int]] | None:
    """Pairs ``order`` (best standing first) without rematches, closest standings first.

    The first player meets the player of the closest standing that it has not met and
    that leaves the rest pairable (backtracking). Among equal standings it prefers one
    whose presentation ``balance`` (shown first minus shown second) has not the same sign
    as its own, so that slots can even out, then the one higher in ``order``. None when
    no such pairing exists or the search ran out of ``budget``.
    """
    if not order:
        return []
    head, rest = order[0], order[1:]
    for idx in _by_preference(head, rest, standing, balance):
        other = rest[idx]
        if other in met[head]:
            continue
        budget[0] -= 1
        if budget[0] < 0:
            return None
        tail = _pair_by_standing(rest[:idx] + rest[idx + 1 :], standing, met, balance, budget)
        if tail is not None:
            return [(head, other), *tail]
    return None


def _by_preference(head: int, rest: list[int], standing: dict[int, float], balance: list[int]) -> Iterator[int]:
    """Indices into ``rest`` (sorted by standing, below ``head``) in ``head``'s order of
    preference: closest standing first; within equal standings, a balance of another sign
    before the same sign. Lazy: usually the first one is taken."""
    start = 0
    while start < len(rest):
        stop = start + 1
        while stop < len(rest) and standing[rest[stop]] == standing[rest[start]]:
            stop += 1
        same_sign = [balance[head] * balance[rest[idx]] > 0 for idx in range(start, stop)]
        yield from (idx for idx, same in zip(range(start, stop), same_sign) if not same)
        yield from (idx for idx, same in zip(range(start, stop), same_sign) if same)
        start = stop


def _pair_allowing_rematches(order: list[int], met: list[set[int]]) -> list[tuple[int, int]]:
    """Greedy fallback: the first player meets the nearest one not met yet, else the nearest."""
    order, pairs = list(order), []
    while len(order) >= 2:
        head = order.pop(0)
        idx = next((i for i, other in enumerate(order) if other not in met[head]), 0)
        pairs.append((head, order.pop(idx)))
    return pairs


class _SwissGroup:
    """One group's standings, who met whom, byes and presentation slots."""

    def __init__(self, n: int, rng: random.Random, soft: bool) -> None:
        self.n = n
        self.rng = rng
        self.soft = soft
        self.rounds = swiss_rounds(n)
        self.planned = 0
        self.points = [0.0] * n
        self.played = [0] * n  # valid results
        self.met: list[set[int]] = [set() for _ in range(n)]
        self.byes = [0] * n
        self.shown_first = [0] * n  # shown first minus shown second

    def standing(self, i: int) -> float:
        """Points per valid match; 0.5 (neutral) before any valid result."""
        return self.points[i] / self.played[i] if self.played[i] else 0.5

    def plan(self) -> list[tuple[int, int]]:
        """The next round's matches (first, second); [] after the last round."""
        if self.planned >= self.rounds:
            return []
        self.planned += 1
        key = list(range(self.n))
        self.rng.shuffle(key)  # seeded tie-break between equal standings, new each round
        standing = {i: self.standing(i) for i in range(self.n)}
        order = sorted(range(self.n), key=lambda i: (-standing[i], key[i]))
        bye, pairs = self._pairs(order, standing, key)
        if bye is not None:
            self.byes[bye] += 1
        for a, b in pairs:
            self.met[a].add(b)
            self.met[b].add(a)
        return [self._orient(a, b) for a, b in pairs]

    def _pairs(
        self, order: list[int], standing: dict[int, float], key: list[int]
    ) -> tuple[int | None, list[tuple[int, int]]]:
        """The bye (None for even n) and the pairs of this round."""
        if self.n % 2:
            # The bye goes to a player with the fewest byes so far (a different one each
            # round); among the _BYE_CANDIDATES lowest standings of those, the one whose
            # absence lets the others meet the closest standings (sum of |difference|
            # over the pairs), the lowest standing on a draw. Others only if none of
            # those leaves a rematch-free round.
            fewest = min(self.byes)
            by_standing = sorted(order, key=lambda i: (standing[i], key[i]))
            tiers = [
                [i for i in by_standing if self.byes[i] == fewest][:_BYE_CANDIDATES],
                [i for i in by_standing if self.byes[i] > fewest],
            ]
        else:
            tiers = [[None]]
        budget = [_SEARCH_BUDGET]
        best: tuple[float, int | None, list[tuple[int, int]]] | None = None
        for tier in tiers:
            for bye in tier:
                rest = [i for i in order if i != bye]
                pairs = _pair_by_standing(rest, standing, self.met, self.shown_first, budget)
                if pairs is not None:
                    cost = sum(abs(standing[a] - standing[b]) for a, b in pairs)
                    if best is None or cost < best[0]:
                        best = (cost, bye, pairs)
                    if cost == 0.0:
                        break  # every pair within one standing: nothing better to find
                elif budget[0] < 0:
                    break
            if best is not None or budget[0] < 0:
                break
        if best is None:
            bye = tiers[0][0]
            return bye, _pair_allowing_rematches([i for i in order if i != bye], self.met)
        return best[1], best[2]

    def _orient(self, a: int, b: int) -> tuple[int, int]:
        """Balanced slots: whoever was shown first less often goes first (a seeded coin on
        a draw), so a position bias of the judge favours nobody systematically."""
        if self.shown_first[a] != self.shown_first[b]:
            first, second = (a, b) if self.shown_first[a] < self.shown_first[b] else (b, a)
        else:
            first, second = (a, b) if self.rng.random() < 0.5 else (b, a)
        self.shown_first[first] += 1
        self.shown_first[second] -= 1
        return first, second

    def apply(self, matches: Sequence[tuple[int, int]], verdicts: Sequence[Verdict]) -> None:
        for (first, second), verdict in zip(matches, verdicts):
            points = outcome(verdict, self.soft)
            if points is None:
                continue  # a failed match: missing, the pair still counts as met
            self.points[first] += points
            self.points[second] += 1.0 - points
            self.played[first] += 1
            self.played[second] += 1


class SwissSchedule(GroupwiseSchedule):
    """The rounds of a Swiss tournament over all groups; smaller groups finish early."""

    def __init__(self, sizes: Sequence[int], seed: int, soft: bool, prior: float) -> None:
        super().__init__(sizes, seed)
        self.soft = soft
        self.prior = prior
        self.groups = [_SwissGroup(n, group_rng(self.seed, g, "swiss"), soft) for g, n in enumerate(self.sizes)]

    def _apply_group(self, group: int, pairings: list[Pairing], verdicts: list[Verdict]) -> None:
        self.groups[group].apply([(p.first, p.second) for p in pairings], verdicts)

    def _score(self) -> list[list[float | None]]:
        per_group = valid_results(self._results, len(self.sizes), self.soft)
        return [bradley_terry_rewards(n, per_group[g], prior=self.prior) for g, n in enumerate(self.sizes)]


@dataclass(frozen=True)
class SwissTournament(Tournament):
    """Swiss system: ceil(log2 n) rounds of n // 2 matches, rewards from a Bradley-Terry fit.

    Each round pairs the players of a group by standing (points per valid match, 0.5
    before any): the best-placed player meets the closest standing below it that it has
    not met yet, and so on down (a backtracking search keeps the whole round free of
    rematches; they are allowed only if none is possible). Equal standings are ordered by
    a seeded random key drawn anew each round, so round 1 is a random pairing. With an odd
    n one player sits out each round (a bye, which is no result): one with the fewest
    byes so far, so nobody sits out twice while another has not; among those, the one
    that lets the others meet the closest standings, then the lowest standing.
    Presentation slots are balanced: whoever has been shown first less often goes first.
    A group of n plays exactly ceil(log2 n) * (n // 2) matches in ceil(log2 n) rounds:
    about (n / 2) log2 n, between knockout (n - 1) and round robin (n(n-1)/2). Like a
    knockout's, the rounds are sequential (each pairs on the previous verdicts).

    Reward: the Bradley-Terry expected win rate against the group's other rated players
    (``bradley_terry_rewards`` over ALL results), so every player gets a graded reward,
    not only the winners. Ties are half a win each; with ``soft`` (default) a verdict
    with ``p_first`` is ``p_first`` / ``1 - p_first`` wins (for the standings too);
    ``soft=False`` counts only ``winner``/``tie``. A failed match is missing (the pair
    still counts as met); a player without a valid result scores None. Groups of 0 or 1:
    nothing to play, None.

    Raises:
        ValueError: ``soft`` not a bool; ``prior`` not > 0.
    """

    name: ClassVar[str] = "swiss"

    soft: bool = True
    prior: float = 1.0

    def __post_init__(self) -> None:
        validate_flag("soft", self.soft)
        validate_positive("prior", self.prior)

    def schedule(self, sizes: Sequence[int], seed: int = 0) -> Schedule:
        return SwissSchedule(validate_sizes(sizes), validate_seed(seed), self.soft, self.prior)
