"""Bradley-Terry strengths fitted to one round of pairwise matches."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from .base import OneRoundTournament, Pairing, Result
from .pairings import one_round_pairings
from .validation import validate_count, validate_flag, validate_opponents, validate_positive

logger = logging.getLogger(__name__)


def bradley_terry_strengths(
    n: int,
    results: Sequence[Result],
    *,
    prior: float = 1.0,
    tol: float = 1e-9,
    max_iter: int = 1000,
) -> list[float | None]:
    """Maximum-a-posteriori Bradley-Terry strengths, P(i beats j) = s_i / (s_i + s_j).

    Each result ``(first, second, score)`` is ``score`` wins for ``first`` and
    ``1 - score`` for ``second`` of one game: a tie is half a win each, a soft verdict
    p / 1 - p (fractional wins; the likelihood and the MM step take them as they are).
    Fitted with the MM algorithm (Hunter 2004,
    "MM algorithms for generalized Bradley-Terry models"): one step sets
    ``s_i = W_i / sum_j n_ij / (s_i + s_j)`` and never decreases the likelihood. Plain MM
    crawls when strengths are far apart (a strictly ordered group of 64 is not converged
    after 1000 steps), so steps are accelerated with SQUAREM (Varadhan & Roland 2008):
    extrapolate from two MM steps in log-strength, take one more MM step from there, and
    fall back to the plain double step whenever that would lower the likelihood. It stays
    a monotone MM iteration and converges to the same unique optimum.

    Prior: every player also plays ``prior`` virtual ties against a fixed reference player
    of strength 1. Without it a perfect record (or a player who lost every match) has no
    finite maximum-likelihood strength and the fit would run off to 0 or infinity; the
    virtual ties keep every strength finite, make the optimum unique, and pull poorly
    connected players toward 1.

    Stops when no log-strength moves by more than ``tol`` in one iteration, or after
    ``max_iter`` MM steps (logged at DEBUG; the strengths are still usable).

    Returns:
        The strength per player; None for players without a valid result.
    """
    index: dict[int, int] = {}  # rated player -> position in the fit
    pair_points: dict[tuple[int, int], list[float]] = {}  # fit positions a < b -> [points of a, games]
    for first, second, score in sorted(results):  # canonical order: exact same fit for any input order
        i, j = index.setdefault(first, len(index)), index.setdefault(second, len(index))
        key, points = ((i, j), score) if i < j else ((j, i), 1.0 - score)
        entry = pair_points.setdefault(key, [0.0, 0.0])
        entry[0] += points
        entry[1] += 1.0
    m = len(index)
    if m == 0:
        return [None] * n
    wins = [prior / 2.0] * m  # the virtual ties' half wins
    neighbours: list[list[tuple[int, float]]] = [[] for _ in range(m)]
    pairs = [(a, b, points, games) for (a, b), (points, games) in pair_points.items()]
    for a, b, points, games in pairs:
        wins[a] += points
        wins[b] += games - points
        neighbours[a].append((b, games))
        neighbours[b].append((a, games))
    log_wins = [math.log(w) for w in wins]

    def mm_step(theta: list[float]) -> list[float]:
        s = [math.exp(t) for t in theta]
        return [
            log_wins[i] - math.log(prior / (s[i] + 1.0) + sum(c / (s[i] + s[j]) for j, c in neighbours[i]))
            for i in range(m)
        ]

    def log_posterior(theta: list[float]) -> float:
        total = sum(
            points * _log_sigmoid(theta[a] - theta[b]) + (games - points) * _log_sigmoid(theta[b] - theta[a])
            for a, b, points, games in pairs
        )
        return total + prior / 2.0 * sum(_log_sigmoid(t) + _log_sigmoid(-t) for t in theta)

    theta = [0.0] * m
    current = log_posterior(theta)
    steps = 0
    moved = math.inf
    while steps < max_iter and moved > tol:
        one = mm_step(theta)
        two = mm_step(one)
        steps += 2
        r = [x1 - x0 for x0, x1 in zip(theta, one)]
        v = [x2 - 2.0 * x1 + x0 for x0, x1, x2 in zip(theta, one, two)]
        r_norm, v_norm = math.sqrt(sum(x * x for x in r)), math.sqrt(sum(x * x for x in v))
        candidate, value = two, None
        if v_norm > 0.0 and r_norm > tol:
            alpha = min(-r_norm / v_norm, -1.0)  # -1 is the plain double step
            jump = [
                min(max(x0 - 2.0 * alpha * dr + alpha * alpha * dv, -_THETA_CAP), _THETA_CAP)
                for x0, dr, dv in zip(theta, r, v)
            ]
            extrapolated = mm_step(jump)
            steps += 1
            value = log_posterior(extrapolated)
            if value >= current:
                candidate = extrapolated
            else:
                value = None
        if value is None:
            value = log_posterior(two)
        moved = max(abs(new - old) for new, old in zip(candidate, theta))
        theta, current = candidate, value
    if moved > tol:
        logger.debug("Bradley-Terry MM stopped after max_iter=%d steps (last move %.3g)", max_iter, moved)
    strengths = [math.exp(t) for t in theta]
    return [strengths[index[i]] if i in index else None for i in range(n)]


# Extrapolated log-strengths are clamped here so exp() cannot overflow; the optimum with
# any sane prior lies far inside (|log s| of a few units for groups of 64).
_THETA_CAP = 300.0


def _log_sigmoid(x: float) -> float:
    return -math.log1p(math.exp(-x)) if x >= 0 else x - math.log1p(math.exp(x))


def expected_win_rates(strengths: Sequence[float | None]) -> list[float | None]:
    """Mean of ``sigmoid(log s_i - log s_j) = s_i / (s_i + s_j)`` over the other rated j."""
    rated = [i for i, s in enumerate(strengths) if s is not None]
    out: list[float | None] = [None] * len(strengths)
    for i in rated:
        others = [j for j in rated if j != i]
        if others:
            s_i = strengths[i]
            out[i] = sum(s_i / (s_i + strengths[j]) for j in others) / len(others)
    return out


def bradley_terry_rewards(
    n: int, results: Sequence[Result], *, prior: float = 1.0, tol: float = 1e-9, max_iter: int = 1000
) -> list[float | None]:
    """``expected_win_rates`` of the ``bradley_terry_strengths`` fit: the reward of every
    tournament that fits Bradley-Terry (bradley_terry, swiss, circular); None for players
    without a valid result."""
    strengths = bradley_terry_strengths(n, results, prior=prior, tol=tol, max_iter=max_iter)
    return expected_win_rates(strengths)


@dataclass(frozen=True)
class BradleyTerryTournament(OneRoundTournament):
    """All matches in one round; rewards from a Bradley-Terry fit of the whole group.

    Pairings as ``EloTournament``: the full round robin (``opponents=None``) or each
    completion against ``opponents`` distinct random others. Unlike ELO the fit uses all
    results at once (no order effect) and transfers evidence along chains (a beat b, b
    beat c says something about a vs c), which helps with sparse ``opponents=k`` pairings.

    Reward_i: the expected win probability against a random other rated completion of the
    group, ``mean_j s_i / (s_i + s_j)``, in [0, 1] (0.5 for all in a symmetric group).
    Ties count half a win each; with ``soft`` (default) a verdict with ``p_first`` is
    ``p_first`` wins for ``first`` and ``1 - p_first`` for ``second`` (the same mechanism);
    ``soft=False`` ignores ``p_first`` and counts only ``winner``/``tie``. A failed match
    is left out; a completion without a valid match scores None and is left out of the
    others' mean.

    Raises:
        ValueError: ``opponents`` not None or >= 1; ``prior`` not > 0; ``tol`` not > 0;
            ``max_iter`` not >= 1; ``soft`` not a bool.
    """

    name: ClassVar[str] = "bradley_terry"

    opponents: int | None = None
    prior: float = 1.0
    tol: float = 1e-9
    max_iter: int = 1000
    soft: bool = True

    def __post_init__(self) -> None:
        validate_opponents(self.opponents)
        validate_positive("prior", self.prior)
        validate_positive("tol", self.tol)
        validate_count("max_iter", self.max_iter)
        validate_flag("soft", self.soft)

    def pairings(self, sizes: list[int], seed: int) -> list[Pairing]:
        return one_round_pairings(sizes, seed, self.opponents)

    def score_group(self, seed: int, group: int, size: int, results: list[Result]) -> list[float | None]:
        return bradley_terry_rewards(size, results, prior=self.prior, tol=self.tol, max_iter=self.max_iter)
