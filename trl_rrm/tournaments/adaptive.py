"""Adaptive: a seeded ring, then the pairs a Bradley-Terry fit is least sure of; <= 2n matches."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from ..types import Verdict
from .base import (
    GroupwiseSchedule,
    Pairing,
    Result,
    Schedule,
    Tournament,
    group_rng,
    outcome,
    valid_results,
)
from .bradley_terry import bradley_terry_rewards, bradley_terry_strengths
from .circular import circular_pairs
from .validation import (
    validate_count,
    validate_flag,
    validate_non_negative,
    validate_positive,
    validate_seed,
    validate_sizes,
)


def adaptive_budget(n: int, budget_factor: float = 2.0) -> int:
    """Most matches of an adaptive group of ``n``: min(floor(budget_factor * n), n(n-1)/2)."""
    return min(int(budget_factor * n), n * (n - 1) // 2)


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


class _AdaptiveGroup:
    """One group's budget, the pairs it has met, presentation slots and valid results."""

    def __init__(
        self, n: int, rng: random.Random, budget: int, rounds: int, prior: float, top_weight: float
    ) -> None:
        self.n = n
        self.rng = rng
        self.budget = budget
        self.rounds = rounds if n >= 2 else 0
        self.prior = prior
        self.top_weight = top_weight
        self.planned = 0
        self.met: set[tuple[int, int]] = set()  # (low, high), failed matches included
        self.shown_first = [0] * n  # shown first minus shown second
        self.results: list[Result] = []  # valid results so far

    def plan(self) -> list[tuple[int, int]]:
        """The next round's matches (first, second); [] once the budget or the rounds are spent."""
        left = self.budget - len(self.met)  # every match spends one, failed or not
        if left <= 0 or self.planned >= self.rounds:
            return []
        if self.planned == 0:
            pairs = self._first_round()
        else:  # the later rounds share what is left evenly
            quota = -(-left // (self.rounds - self.planned))
            pairs = [self._orient(a, b) for a, b in self._acquire(quota)]
        self.planned += 1
        for first, second in pairs:
            self.met.add((min(first, second), max(first, second)))
            self.shown_first[first] += 1
            self.shown_first[second] -= 1
        return pairs

    def _first_round(self) -> list[tuple[int, int]]:
        """Judge-free: a seeded random ring where each member meets both neighbours, shown
        first once and second once (n matches); when the budget covers every pair (n <= 5
        at 2n), nothing is left to choose: the whole round robin at once, slots within one."""
        everyone = self.budget >= self.n * (self.n - 1) // 2
        return circular_pairs(self.n, self.n if everyone else 1, self.rng)

    def _acquire(self, quota: int) -> list[tuple[int, int]]:
        """Up to ``quota`` disjoint pairs not met yet, by acquisition score, highest first.

        Score of {i, j}: p (1 - p) of the fitted probability that i beats j, blurred by
        the fit's uncertainty (p = sigmoid(d / sqrt(1 + pi v / 8)), d the difference of
        log-strengths, v the sum of their variances), times the larger top weight
        1 + top_weight * n * pi_k, pi_k = s_k / sum(s) the fitted probability that k is
        the best. Equal scores are ordered by a seeded random key.
        """
        theta, var = self._fit()
        top = max(theta)
        mass = [math.exp(t - top) for t in theta]
        total = sum(mass)
        weight = [1.0 + self.top_weight * self.n * m / total for m in mass]
        scored = []
        for i in range(self.n):
            for j in range(i + 1, self.n):
                if (i, j) in self.met:
                    continue
                p = _sigmoid((theta[i] - theta[j]) / math.sqrt(1.0 + math.pi * (var[i] + var[j]) / 8.0))
                scored.append((-p * (1.0 - p) * max(weight[i], weight[j]), self.rng.random(), i, j))
        scored.sort()
        busy: set[int] = set()
        pairs = []
        for _, _, i, j in scored:
            if len(pairs) == quota:
                break
            if i not in busy and j not in busy:
                busy.update((i, j))
                pairs.append((i, j))
        return pairs

    def _fit(self) -> tuple[list[float], list[float]]:
        """Log-strengths of the Bradley-Terry fit so far (0 without a valid result) and
        their variances, 1 / Fisher information (the prior's virtual ties included)."""
        strengths = bradley_terry_strengths(self.n, self.results, prior=self.prior)
        theta = [0.0 if s is None else math.log(s) for s in strengths]
        info = [self.prior * _sigmoid(t) * _sigmoid(-t) for t in theta]
        for first, second, _ in self.results:
            p = _sigmoid(theta[first] - theta[second])
            info[first] += p * (1.0 - p)
            info[second] += p * (1.0 - p)
        return theta, [1.0 / x for x in info]

    def _orient(self, a: int, b: int) -> tuple[int, int]:
        """Balanced slots: whoever was shown first less often goes first (a seeded coin on
        a draw), so a position bias of the judge favours nobody systematically."""
        if self.shown_first[a] != self.shown_first[b]:
            return (a, b) if self.shown_first[a] < self.shown_first[b] else (b, a)
        return (a, b) if self.rng.random() < 0.5 else (b, a)


class AdaptiveSchedule(GroupwiseSchedule):
    """The rounds of an adaptive tournament over all groups; each group stops at its budget."""

    def __init__(
        self,
        sizes: Sequence[int],
        seed: int,
        budget_factor: float,
        rounds: int,
        top_weight: float,
        soft: bool,
        prior: float,
    ) -> None:
        super().__init__(sizes, seed)
        self.soft = soft
        self.prior = prior
        self.groups = [
            _AdaptiveGroup(
                n, group_rng(self.seed, g, "adaptive"), adaptive_budget(n, budget_factor), rounds, prior, top_weight
            )
            for g, n in enumerate(self.sizes)
        ]

    def _apply_group(self, group: int, pairings: list[Pairing], verdicts: list[Verdict]) -> None:
        for pairing, verdict in zip(pairings, verdicts):
            points = outcome(verdict, self.soft)
            if points is not None:  # a failed match is missing; the pair still counts as met
                self.groups[group].results.append((pairing.first, pairing.second, points))

    def _score(self) -> list[list[float | None]]:
        per_group = valid_results(self._results, len(self.sizes), self.soft)
        return [bradley_terry_rewards(n, per_group[g], prior=self.prior) for g, n in enumerate(self.sizes)]


@dataclass(frozen=True)
class AdaptiveTournament(Tournament):
    """A seeded ring, then up to ``rounds - 1`` rounds on the pairs whose order is least
    certain; at most ``budget_factor * n`` matches per group (2n by default).

    Round 1 needs no verdict: the group sits on a seeded random ring and each member meets
    both neighbours (n matches, each member shown first once and second once); when the
    budget covers every pair (n <= 5 at 2n) the whole round robin is played at once and
    nothing is left to choose. Every later round fits Bradley-Terry to the valid results so far and plays
    the unmet pairs of highest acquisition score ``p (1 - p) * max(w_i, w_j)``, each member
    at most once a round: p is the fitted probability that i beats j, blurred by the
    fit's uncertainty (so a member whose matches failed is caught up), and
    ``w_k = 1 + top_weight * n * s_k / sum(s)`` leans toward the likely best, because a
    GRPO group's best completion matters as much as the whole order (0.05 was chosen with
    benchmarks/tournament_cost.py; see docs/tournaments.md). The budget left after
    the ring is shared evenly by the later rounds. A pair never meets twice (the budget is
    at most n(n-1)/2, the round robin); presentation slots are balanced as in swiss.

    Reward: the Bradley-Terry expected win rate against the group's other rated members
    (``bradley_terry_rewards`` over all valid results). Ties are half a win each; with
    ``soft`` (default) a verdict with ``p_first`` is ``p_first`` / ``1 - p_first`` wins,
    for the acquisition fit too; ``soft=False`` counts only ``winner``/``tie``. A failed
    match is missing (the pair still counts as met); a member without a valid result scores
    None. Groups of 0 or 1: nothing to play, None.

    Raises:
        ValueError: ``budget_factor`` not a number >= 1; ``rounds`` not an int >= 1;
            ``top_weight`` not a number >= 0; ``soft`` not a bool; ``prior`` not > 0.
    """

    name: ClassVar[str] = "adaptive"

    budget_factor: float = 2.0
    rounds: int = 4
    top_weight: float = 0.05
    soft: bool = True
    prior: float = 1.0

    def __post_init__(self) -> None:
        validate_positive("budget_factor", self.budget_factor)
        if self.budget_factor < 1:
            raise ValueError(f"budget_factor={self.budget_factor!r}: must be >= 1 (the ring needs n matches)")
        validate_count("rounds", self.rounds)
        validate_non_negative("top_weight", self.top_weight)
        validate_flag("soft", self.soft)
        validate_positive("prior", self.prior)

    def schedule(self, sizes: Sequence[int], seed: int = 0) -> Schedule:
        return AdaptiveSchedule(
            validate_sizes(sizes),
            validate_seed(seed),
            self.budget_factor,
            self.rounds,
            self.top_weight,
            self.soft,
            self.prior,
        )
