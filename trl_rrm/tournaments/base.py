"""The tournament protocol: which pairs are judged, round by round, and the rewards.

A tournament never calls a judge. ``Tournament.schedule(sizes, seed)`` returns a
``Schedule`` that the caller drives::

    schedule = tournament.schedule([len(g) for g in groups], seed=step)
    while pairings := schedule.next_round():        # every group's matches of this round
        schedule.record(judge.compare([match_for(p) for p in pairings]))
    rewards = schedule.scores()                      # per group, per completion

so each round is ONE batched judge call across all groups of the batch (and, in the
driver, across processes). Everything here is deterministic in (sizes, seed): every rank
that builds the same schedule gets the same pairings and the same scores.

Failure handling, common to all tournaments: a verdict with ``winner`` 0/1 is a win of
``first``/``second``; ``tie=True`` is a real draw (half a win each); a failed verdict
(``winner is None and not tie``) is a MISSING match: not a loss, not a draw, and nothing
is invented for it. A completion left without any valid result scores None.

Soft verdicts: a verdict with ``p_first`` (the judge's probability that ``first`` is
better) is worth ``p_first`` points to ``first`` and ``1 - p_first`` to ``second`` in the
one-round tournaments (``outcome``; their option ``soft=False`` counts only
``winner``/``tie``). Knockout always goes by ``winner``.
"""

from __future__ import annotations

import numbers
import random
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar

from ..seeds import seeded_rng
from ..types import Verdict
from .validation import validate_seed, validate_sizes

# One valid result inside a group: (first, second, points of first in [0, 1]); see outcome().
Result = tuple[int, int, float]


@dataclass(frozen=True)
class Pairing:
    """One match to judge: completions ``first`` and ``second`` of group ``group``.

    ``first`` is shown as ``Match.responses[0]``, so ``Verdict.winner == 0`` means
    ``first`` won.
    """

    group: int
    first: int
    second: int


def group_rng(seed: int, group: int, purpose: str = "") -> random.Random:
    """A per-group RNG from (seed, group, purpose).

    Seeded with a string, which ``random.Random`` hashes with SHA-512: identical across
    processes and runs (Python's ``hash()`` is salted per process, so it is never used).
    Different groups (and purposes) get independent streams.
    """
    return seeded_rng("trl_rrm", purpose, seed, group)


def outcome(verdict: Verdict, soft: bool = True) -> float | None:
    """Points of ``first`` (``responses[0]``) in one match; ``second`` gets 1 minus them.

    A win is 1, a tie 0.5, a loss 0. With ``soft``, a verdict that has ``p_first`` is
    worth ``p_first`` instead (``Verdict.score``: expected wins rather than counted wins).
    A failed verdict (``winner is None and not tie``) is None, a missing match, whatever
    its ``p_first``.
    """
    if verdict.failed:
        return None
    if soft and verdict.p_first is not None:
        return float(verdict.p_first)
    return 1.0 - verdict.winner if verdict.winner is not None else 0.5


def valid_results(
    results: Sequence[tuple[Pairing, Verdict]], n_groups: int, soft: bool = True
) -> list[list[Result]]:
    """The valid results of each group, as ``outcome(verdict, soft)``; failed verdicts are dropped."""
    per_group: list[list[Result]] = [[] for _ in range(n_groups)]
    for pairing, verdict in results:
        points = outcome(verdict, soft)
        if points is not None:
            per_group[pairing.group].append((pairing.first, pairing.second, points))
    return per_group


def win_rates(n: int, results: Sequence[Result]) -> list[float | None]:
    """Points / valid matches per player; None without a valid match.

    Each result ``(first, second, score)`` gives ``score`` points to ``first`` and
    ``1 - score`` to ``second``: 1/0 for a win, 0.5 each for a tie, p/1 - p for a soft
    verdict (so the points are expected wins).
    """
    points = [0.0] * n
    played = [0] * n
    for first, second, score in results:
        points[first] += score
        points[second] += 1.0 - score
        played[first] += 1
        played[second] += 1
    return [points[i] / played[i] if played[i] else None for i in range(n)]


def _check_p_first(i: int, verdict: Verdict) -> None:
    """ValueError unless ``p_first`` is None or a probability that agrees with the verdict.

    Soft tournaments read ``p_first`` and knockout reads ``winner``, so both must say the
    same: ``winner`` 0 above 0.5, 1 below, a tie at exactly 0.5 (a failed verdict has no
    ``p_first``). Catches NaN and a judge that reports p(second better) instead.
    """
    p = verdict.p_first
    if p is None:
        return
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
        raise ValueError(f"verdicts[{i}].p_first={p!r}: must be None or a probability in [0, 1]")
    side = None if p == 0.5 else int(p < 0.5)
    if verdict.winner != side or verdict.tie != (side is None):
        expected = "a tie (winner=None, tie=True)" if side is None else f"winner={side}, tie=False"
        raise ValueError(
            f"verdicts[{i}]: p_first={p!r} needs {expected}, got winner={verdict.winner!r}, tie={verdict.tie!r}"
        )


class Schedule(ABC):
    """The rounds of one tournament over a batch of groups.

    Protocol: call ``next_round()``; if it returns pairings, judge them all and pass the
    verdicts (aligned) to ``record()``; repeat until ``next_round()`` returns ``[]``;
    then read ``scores()`` and ``results()``.
    """

    @abstractmethod
    def next_round(self) -> list[Pairing]:
        """All pairings of all groups for the next round; ``[]`` when finished."""

    @abstractmethod
    def record(self, verdicts: Sequence[Verdict]) -> None:
        """Records the verdicts of the round ``next_round()`` returned (aligned with it)."""

    @abstractmethod
    def scores(self) -> list[list[float | None]]:
        """Reward per group and completion (None: no valid result); once finished."""

    @abstractmethod
    def results(self) -> list[tuple[Pairing, Verdict]]:
        """Every recorded match with its verdict, in recording order."""


class RoundSchedule(Schedule):
    """The bookkeeping shared by all schedules: pending round, checks, results.

    Subclasses implement ``_plan_round`` (the next round's pairings, ``[]`` when done),
    ``_apply`` (update state from a recorded round) and ``_score``.
    """

    def __init__(self, sizes: Sequence[int], seed: int) -> None:
        self.sizes = validate_sizes(sizes)
        self.seed = validate_seed(seed)
        self.rounds_played = 0
        self._pending: list[Pairing] | None = None
        self._results: list[tuple[Pairing, Verdict]] = []
        self._finished = False

    @property
    def finished(self) -> bool:
        return self._finished

    def next_round(self) -> list[Pairing]:
        if self._pending is not None:
            raise RuntimeError(
                f"next_round() called again before record() of the pending round ({len(self._pending)} pairings)"
            )
        if self._finished:
            return []
        pairings = self._plan_round()
        if not pairings:
            self._finished = True
            return []
        self._pending = pairings
        return list(pairings)

    def record(self, verdicts: Sequence[Verdict]) -> None:
        if self._pending is None:
            raise ValueError(
                "record() without a pending round: it was already called for this round, "
                "or next_round() was not called (or returned [])"
            )
        verdicts = list(verdicts)
        if len(verdicts) != len(self._pending):
            raise ValueError(
                f"record() got {len(verdicts)} verdicts for a round of {len(self._pending)} pairings"
            )
        for i, verdict in enumerate(verdicts):
            # Guard against a judge that answers in another convention (e.g. -1 for
            # failure, which would otherwise read as a valid result).
            if verdict.winner not in (0, 1, None):
                raise ValueError(f"verdicts[{i}].winner={verdict.winner!r}: must be 0, 1 or None")
            _check_p_first(i, verdict)
        pairings, self._pending = self._pending, None
        self._results.extend(zip(pairings, verdicts))
        self.rounds_played += 1
        self._apply(pairings, verdicts)

    def scores(self) -> list[list[float | None]]:
        if not self._finished:
            raise RuntimeError("scores() before the schedule finished: call next_round() until it returns []")
        return [list(group) for group in self._score()]

    def results(self) -> list[tuple[Pairing, Verdict]]:
        return list(self._results)

    @abstractmethod
    def _plan_round(self) -> list[Pairing]: ...

    @abstractmethod
    def _apply(self, pairings: list[Pairing], verdicts: list[Verdict]) -> None: ...

    @abstractmethod
    def _score(self) -> list[list[float | None]]: ...


class GroupwiseSchedule(RoundSchedule):
    """Rounds that each group plans for itself (knockout, swiss, adaptive).

    Subclasses set ``self.groups``, one planner per group whose ``plan()`` returns that
    group's matches of the next round as (first, second) (``[]`` once it is done) and
    whose ``rounds`` is the most it plays; every group's matches of a round go out
    together, and ``_apply_group`` records one group's share of the verdicts.
    """

    groups: Sequence[Any]

    @property
    def rounds(self) -> int:
        """The most rounds a group plays (the largest group's; 0 without any)."""
        return max((group.rounds for group in self.groups), default=0)

    def _plan_round(self) -> list[Pairing]:
        pairings: list[Pairing] = []
        self._spans: list[tuple[int, int, int]] = []  # (group, start, stop) in the pending round
        for g, group in enumerate(self.groups):
            matches = group.plan()
            if matches:
                self._spans.append((g, len(pairings), len(pairings) + len(matches)))
                pairings.extend(Pairing(g, first, second) for first, second in matches)
        return pairings

    def _apply(self, pairings: list[Pairing], verdicts: list[Verdict]) -> None:
        for g, start, stop in self._spans:
            self._apply_group(g, pairings[start:stop], verdicts[start:stop])

    @abstractmethod
    def _apply_group(self, group: int, pairings: list[Pairing], verdicts: list[Verdict]) -> None: ...


class OneRoundSchedule(RoundSchedule):
    """All matches in one round (round robin, ELO, Bradley-Terry).

    ``score_group(group, size, results)`` turns a group's valid results into rewards;
    the results are points of ``first`` as ``outcome(verdict, soft)``.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        seed: int,
        pairings: list[Pairing],
        score_group: Callable[[int, int, list[Result]], list[float | None]],
        soft: bool = True,
    ) -> None:
        super().__init__(sizes, seed)
        self._all = pairings
        self._score_group = score_group
        self._soft = soft

    def _plan_round(self) -> list[Pairing]:
        return self._all if self.rounds_played == 0 else []

    def _apply(self, pairings: list[Pairing], verdicts: list[Verdict]) -> None:
        pass  # scored from results() at the end

    def _score(self) -> list[list[float | None]]:
        per_group = valid_results(self._results, len(self.sizes), self._soft)
        return [self._score_group(g, n, per_group[g]) for g, n in enumerate(self.sizes)]


class Tournament(ABC):
    """A strategy that decides which completions meet and how verdicts become rewards.

    Subclasses are frozen dataclasses validated in ``__post_init__``; ``name`` is the
    key of ``get_tournament``. ``is_listwise`` marks strategies without a pairwise
    schedule (the caller ranks each group with ``judge.rank`` instead); ``is_pointwise``
    those that grade each completion on its own (``judge.grade``, no matches).
    ``needs_reference`` marks strategies whose schedule expects one extra response per
    group, a reference the caller supplies, as the LAST member of each group (``sizes``
    count it); their ``scores()`` leave its slot out (``AnchorTournament(anchor="reference")``).
    """

    name: ClassVar[str]
    is_listwise: ClassVar[bool] = False
    is_pointwise: ClassVar[bool] = False
    needs_reference: ClassVar[bool] = False
    # Whether a verdict's ``p_first`` is its points (``outcome``); the tournaments that read
    # it declare the option ``soft`` (default True), those that go by ``winner`` keep False.
    soft: bool = False

    @abstractmethod
    def schedule(self, sizes: Sequence[int], seed: int = 0) -> Schedule:
        """A fresh schedule for groups of ``sizes[g]`` completions (0, 1, ... allowed).

        Raises:
            ValueError: a size is not an int >= 0.
        """


class OneRoundTournament(Tournament):
    """A tournament that plays every match in one round (round robin, ELO, Bradley-Terry,
    circular, anchor): a subclass says who meets whom (``pairings``) and how a group's
    valid results become its rewards (``score_group``); the schedule is this one."""

    def schedule(self, sizes: Sequence[int], seed: int = 0) -> Schedule:
        sizes, seed = validate_sizes(sizes), validate_seed(seed)
        return OneRoundSchedule(sizes, seed, self.pairings(sizes, seed), partial(self.score_group, seed), self.soft)

    @abstractmethod
    def pairings(self, sizes: list[int], seed: int) -> list[Pairing]:
        """Every group's matches (``sizes`` and ``seed`` validated).

        Raises:
            ValueError: a size this tournament cannot play.
        """

    @abstractmethod
    def score_group(self, seed: int, group: int, size: int, results: list[Result]) -> list[float | None]:
        """Rewards of group ``group`` (``size`` members) from its valid ``results``."""


def play(
    tournament: Tournament,
    sizes: Sequence[int],
    compare: Callable[[list[Pairing]], Sequence[Verdict]],
    seed: int = 0,
) -> Schedule:
    """Plays ``tournament`` to the end with ``compare`` (one call per round).

    Returns:
        The finished schedule: read ``scores()`` and ``results()``.
    """
    schedule = tournament.schedule(sizes, seed=seed)
    while pairings := schedule.next_round():
        schedule.record(compare(pairings))
    return schedule
