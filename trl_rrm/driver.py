"""The tournament driver: groups of completions in, one score per completion out.

Shared by the TRL reward (``RRMReward``) and the DPO labeler. Round by round, it takes
the pairings of EVERY group from the tournament's schedule, judges them in one batched
``judge.compare`` call (split across ranks when several processes run), and records the
verdicts. Listwise tournaments make one ``judge.rank`` call for all groups instead, and
pointwise ones one ``judge.grade`` call for every distinct completion of every group.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

from .distributed import sharded_map
from .floor import NoiseFloor, flatten, mean_points, uses_probabilities
from .judges.protocol import Judge, PairwiseJudge, check_judge, compare_of
from .tournaments import Pairing, Tournament, listwise_scores
from .types import Grade, Match, Ranking, Text, Verdict, text_key


@dataclass(frozen=True)
class Group:
    """The completions of one prompt, judged against each other.

    ``reference``: an extra response that is not a completion (a dataset's reference
    answer), for tournaments with ``needs_reference`` (``anchor="reference"``); it gets
    no score. Other tournaments ignore it.
    """

    prompt: Text
    completions: tuple[Text, ...]
    principle: str | None = None
    reference: Text | None = None


@dataclass
class JudgeStats:
    """Counters over everything judged in one driver run (identical on every rank).

    With a noise floor (``run_tournament(floor=...)``): ``below_floor`` counts the matches
    it made ties, ``rated_groups`` the groups with two or more members with points and
    ``flat_groups`` those of them it found flat."""

    matches: int = 0
    judgments: int = 0
    failed_judgments: int = 0
    failed_matches: int = 0
    ties: int = 0
    both_orders: int = 0
    order_disagreements: int = 0
    forced: int = 0
    tokens: int = 0
    rankings: int = 0
    failed_rankings: int = 0
    seconds: float = 0.0
    bias_sum: float = 0.0
    bias_count: int = 0
    over_context: int = 0
    cut: int = 0
    below_floor: int = 0
    grades: int = 0
    failed_grades: int = 0
    rated_groups: int = 0
    flat_groups: int = 0

    def add_verdicts(self, verdicts: Sequence[Verdict]) -> None:
        for verdict in verdicts:
            self.matches += 1
            self._add_judgments(verdict)
            self.failed_matches += verdict.failed
            self.ties += verdict.tie
            if verdict.order_agreement is not None:
                self.both_orders += 1
                self.order_disagreements += not verdict.order_agreement
            if verdict.position_bias is not None:
                self.bias_sum += verdict.position_bias
                self.bias_count += 1

    def _add_judgments(self, result: Verdict | Grade) -> None:
        """What a verdict and a grade both count: judgments, forced answers, tokens, cuts."""
        self.judgments += len(result.votes)
        self.failed_judgments += sum(vote is None for vote in result.votes)
        self.forced += result.forced
        self.tokens += result.tokens
        self.over_context += result.over_context
        self.cut += result.cut

    def merge(self, other: JudgeStats) -> None:
        """Adds ``other``'s counters to these (stats of several runs, one total)."""
        for item in fields(self):
            setattr(self, item.name, getattr(self, item.name) + getattr(other, item.name))

    @property
    def judged(self) -> int:
        """What was judged, whatever the kind: pairwise matches, listwise rankings and
        pointwise grades (a run has one kind)."""
        return self.matches + self.rankings + self.grades

    def add_grades(self, grades: Sequence[Grade]) -> None:
        for grade in grades:
            self.grades += 1
            self.failed_grades += grade.failed
            self._add_judgments(grade)

    def add_rankings(self, rankings: Sequence[Ranking | None]) -> None:
        for ranking in rankings:
            self.rankings += 1
            self.failed_rankings += ranking is None
            self.tokens += ranking.tokens if ranking is not None else 0

    def metrics(self) -> dict[str, float]:
        """Rates and totals, named for the trainer's logs."""
        out = {"matches": float(self.matches), "judge_tokens": float(self.tokens), "judge_seconds": self.seconds,
               "judgments": float(self.judgments)}  # fmt: skip
        if self.judgments:
            out["parse_failure_rate"] = self.failed_judgments / self.judgments
        if self.matches:
            out["failed_match_rate"] = self.failed_matches / self.matches
            out["tie_rate"] = self.ties / self.matches
            out["forced_answer_rate"] = self.forced / max(self.judgments, 1)
            out["over_context_rate"] = self.over_context / self.matches
            out["response_cut_rate"] = self.cut / (2 * self.matches)
        if self.both_orders:
            out["order_disagreement_rate"] = self.order_disagreements / self.both_orders
        if self.bias_count:
            out["position_bias"] = self.bias_sum / self.bias_count
        if self.grades:
            out["grades"] = float(self.grades)
            out["grade_failure_rate"] = self.failed_grades / self.grades
            out["forced_answer_rate"] = self.forced / max(self.judgments, 1)
            out["over_context_rate"] = self.over_context / self.grades
            out["response_cut_rate"] = self.cut / self.grades
        if self.rankings:
            out["rankings"] = float(self.rankings)
            out["ranking_failure_rate"] = self.failed_rankings / self.rankings
        if self.matches:
            out["below_floor_rate"] = self.below_floor / self.matches
        if self.rated_groups:
            out["flat_group_rate"] = self.flat_groups / self.rated_groups
        return out


@dataclass
class TournamentOutcome:
    """Scores per group and completion, the decisive rationale of each, and the stats."""

    scores: list[list[float | None]]
    rationales: list[list[str | None]]
    stats: JudgeStats
    results: list[tuple[Pairing, Verdict]] = field(default_factory=list)
    rankings: list[Ranking | None] = field(default_factory=list)
    grades: list[list[Grade]] = field(default_factory=list)

    @property
    def soft(self) -> bool:
        """Whether the judge gave soft results (probabilities): the floor's default hangs on it."""
        return uses_probabilities(self.results) or any(g.soft for gs in self.grades for g in gs)


def run_tournament(
    groups: Sequence[Group], judge: Judge, tournament: Tournament, seed: int = 0, *, floor: NoiseFloor | None = None
) -> TournamentOutcome:
    """Plays ``tournament`` on every group with ``judge``.

    ``floor``: the noise floor (``trl_rrm.floor``), applied here once: each round's soft
    verdicts under it are recorded as exact ties (``NoiseFloor.ties``), before any
    tournament turns them into points, so every tournament sees the same draw; once the
    tournament is done, each group whose members' points lie within it gets identical
    scores (``NoiseFloor.flat``, ``flatten``). Points are each member's mean points per
    match (``floor.mean_points``), as the tournament counts them, not its rewards (ELO's
    stay within a few hundredths of 0.5); listwise and pointwise, the judge's own scores.
    Counted in ``JudgeStats`` (``below_floor``, ``rated_groups``, ``flat_groups``). None
    (the default): scores as the tournament gives them.

    Every process must call this with the same groups and seed (the reward gathers them
    first); each judges its share of every round and all end with identical outcomes.

    A tournament with ``needs_reference`` plays each group with its ``reference``
    appended as the last completion; scores and rationales cover the completions only
    (``results`` name the reference as index ``len(completions)``).

    Returns:
        A TournamentOutcome; a completion without any valid result scores None.

    Raises:
        ValueError: the tournament needs a reference and a group has none.
    """
    stats = JudgeStats()
    start = time.perf_counter()
    reference = tournament.needs_reference
    if reference:
        for g, group in enumerate(groups):
            if group.reference is None:
                raise ValueError(
                    f"tournament {tournament.name!r} needs a reference response, but group {g} "
                    f"(prompt {str(group.prompt)[:60]!r}) has reference=None"
                )
        groups = [replace(group, completions=(*group.completions, group.reference)) for group in groups]
    if tournament.is_pointwise:
        outcome = _run_pointwise(groups, judge, stats)
    elif tournament.is_listwise:
        outcome = _run_listwise(groups, judge, stats)
    else:
        outcome = _run_pairwise(groups, judge, tournament, seed, stats, floor)
    if reference:
        outcome.rationales = [rationales[:-1] for rationales in outcome.rationales]
    if floor is not None:
        _flatten(outcome, floor, tournament, [len(group.completions) for group in groups])
    stats.seconds = time.perf_counter() - start
    return outcome


def _flatten(outcome: TournamentOutcome, floor: NoiseFloor, tournament: Tournament, sizes: list[int]) -> None:
    """Gives every flat group (``NoiseFloor.flat``) identical scores and counts them.
    ``sizes``: the members each group played with (a reference too, left out here)."""
    if tournament.is_listwise or tournament.is_pointwise:
        points = outcome.scores
    else:
        points = mean_points(outcome.results, sizes, soft=tournament.soft)
        points = [group[: len(scores)] for group, scores in zip(points, outcome.scores)]
    flat = floor.flat(points, outcome.soft)
    outcome.scores = [flatten(scores) if is_flat else scores for scores, is_flat in zip(outcome.scores, flat)]
    outcome.stats.rated_groups += sum(is_flat is not None for is_flat in flat)
    outcome.stats.flat_groups += sum(bool(is_flat) for is_flat in flat)


def _checked(results: Sequence[Any], count: int, kind: type, judge: Judge, method: str) -> list[Any]:
    """``results`` when they are ``count`` ``kind`` objects (a ranking may be None), else a
    TypeError naming the judge and the first bad result: a judge of your own that answers
    in another convention must fail here, not deep inside a tournament."""
    results = list(results)
    if len(results) != count:
        raise TypeError(f"{type(judge).__name__}.{method} returned {len(results)} results for {count} matches")
    for i, result in enumerate(results):
        if not isinstance(result, kind) and not (kind is Ranking and result is None):
            raise TypeError(f"{type(judge).__name__}.{method} returned {result!r:.60} ({type(result).__name__}) at "
                            f"{i}; expected a trl_rrm.{kind.__name__}{' or None' if kind is Ranking else ''}")  # fmt: skip
    return results


def _run_pairwise(
    groups: Sequence[Group],
    judge: PairwiseJudge,
    tournament: Tournament,
    seed: int,
    stats: JudgeStats,
    floor: NoiseFloor | None,
) -> TournamentOutcome:
    schedule = tournament.schedule([len(g.completions) for g in groups], seed=seed)
    rationales: list[list[str | None]] = [[None] * len(g.completions) for g in groups]
    while pairings := schedule.next_round():
        matches = [
            Match(
                groups[p.group].prompt,
                (groups[p.group].completions[p.first], groups[p.group].completions[p.second]),
                groups[p.group].principle,
            )
            for p in pairings
        ]
        verdicts = _checked(sharded_map(compare_of(judge), matches), len(matches), Verdict, judge, "compare")
        if floor is not None:
            floored = floor.ties(verdicts)
            stats.below_floor += sum(new is not old for new, old in zip(floored, verdicts))
            verdicts = floored
        schedule.record(verdicts)
        stats.add_verdicts(verdicts)
        for pairing, verdict in zip(pairings, verdicts):
            if not verdict.failed:  # a later match of the same completion replaces it
                rationales[pairing.group][pairing.first] = verdict.rationale
                rationales[pairing.group][pairing.second] = verdict.rationale
    return TournamentOutcome(schedule.scores(), rationales, stats, results=schedule.results())


def _run_listwise(groups: Sequence[Group], judge: Judge, stats: JudgeStats) -> TournamentOutcome:
    if not hasattr(judge, "rank"):
        raise TypeError(f"the listwise tournament needs a judge with rank(); {type(judge).__name__} has none")
    scores: list[list[float | None]] = [[None] * len(g.completions) for g in groups]
    rationales: list[list[str | None]] = [[None] * len(g.completions) for g in groups]
    rankings: list[Ranking | None] = [None] * len(groups)
    rankable = [i for i, g in enumerate(groups) if len(g.completions) >= 2]
    matches = [Match(groups[i].prompt, groups[i].completions, groups[i].principle) for i in rankable]
    for i, ranking in zip(rankable, _checked(sharded_map(judge.rank, matches), len(matches), Ranking, judge, "rank")):
        rankings[i] = ranking
        scores[i] = listwise_scores(ranking, len(groups[i].completions))
        if ranking is not None:
            rationales[i] = [ranking.rationale] * len(groups[i].completions)
    stats.add_rankings([rankings[i] for i in rankable])
    return TournamentOutcome(scores, rationales, stats, rankings=rankings)


def _run_pointwise(groups: Sequence[Group], judge: Judge, stats: JudgeStats) -> TournamentOutcome:
    """One ``grade`` call for the distinct completions of every group (a completion that
    repeats within its group is judged once and shares the grade)."""
    check_judge(judge, pointwise=True)
    matches: list[Match] = []
    where: list[list[int]] = []  # per group, per completion: its index in ``matches``
    for group in groups:
        seen: dict[str, int] = {}
        members = []
        for completion in group.completions:
            key = text_key(completion)
            if key not in seen:
                seen[key] = len(matches)
                matches.append(Match(group.prompt, (completion,), group.principle))
            members.append(seen[key])
        where.append(members)
    grades = _checked(sharded_map(judge.grade, matches), len(matches), Grade, judge, "grade")
    stats.add_grades(grades)
    per_group = [[grades[m] for m in members] for members in where]
    return TournamentOutcome(
        scores=[[g.value for g in gs] for gs in per_group],
        rationales=[[g.rationale if not g.failed else None for g in gs] for gs in per_group],
        stats=stats,
        grades=per_group,
    )
