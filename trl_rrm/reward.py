"""RRMReward: a reasoning reward model as a TRL reward function.

    from trl import GRPOConfig, GRPOTrainer
    from trl_rrm import HFJudge, RRMReward

    reward = RRMReward(HFJudge("judge-base", adapter="judge-lora", both_orders=True), tournament="knockout")
    trainer = GRPOTrainer(model="policy", reward_funcs=reward, args=GRPOConfig(...), train_dataset=prompts)

Launch as usual, one process or many:
``accelerate launch --num_processes 8 train.py``.

Works with GRPOTrainer, RLOOTrainer and the experimental OnlineDPOTrainer (which passes
all first completions, then all second ones: grouping by prompt handles that). The
completions of one prompt form a group; a tournament compares them with the judge and
turns verdicts into one reward each. Under several processes the items of all ranks are
gathered, so a group split across two ranks is still judged as one group, each rank
judges about 1/world of every round, and each rank gets back its own slice.
A completion without any valid judgment gets None: TRL excludes it from this reward.

A judge that cannot tell its completions apart must not hand GRPO its noise: GRPO divides
each group's advantages by the group's standard deviation, so rewards of 0.5 +- 0.003
become full-size advantages. Below a noise floor (``min_margin``, ``trl_rrm.floor``) a
match is a tie and a group is flat: identical rewards, zero advantage.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

from .distributed import all_gather, world
from .driver import Group, JudgeStats, TournamentOutcome, run_tournament
from .floor import NoiseFloor
from .formats import render_text
from .hacking import GUARDS, Guard, apply_guard, audit_agreement, length_correlation, suspicious
from .judges.protocol import Judge, check_judge, is_pointwise
from .tournaments import Tournament
from .tournaments.registry import DEFAULT_TOURNAMENT, choose_tournament
from .types import Text, text_key
from .verifier import settled_groups, verifier_values

logger = logging.getLogger(__name__)

# One completion of the gathered batch: (prompt, completion, principle, reference).
Item = tuple[Text, Text, str | None, Text | None]


def _regroup(flat: list[bool], shape: list[list[str]]) -> list[list[bool]]:
    values = iter(flat)
    return [[next(values) for _ in group] for group in shape]


def _placed(
    size: int,
    members: list[list[int]],
    settled: list[list[float] | None],
    judged: list[int],
    scores: list[list[float | None]],
    rationales: list[list[str | None]],
) -> tuple[list[float | None], list[str | None]]:
    """Rewards and rationales in the gathered batch's order: the judged groups' ``scores``
    and the verifier's rewards of the groups it settled."""
    rewards: list[float | None] = [None] * size
    reasons: list[str | None] = [None] * size
    for j, g in enumerate(judged):
        for c, position in enumerate(members[g]):
            rewards[position], reasons[position] = scores[j][c], rationales[j][c]
    for g, values in enumerate(settled):
        for position, value in zip(members[g], values or ()):
            rewards[position], reasons[position] = value, f"settled by the verifier: {value:g}"
    return rewards, reasons


def _column(kwargs: dict[str, Any], name: str, rows: int, *, messages: bool) -> list[Any]:
    """The dataset column ``name`` as one value per completion (None where absent).

    Raises:
        TypeError: not a list, or a value that is not a string (or, where ``messages``, a
            list of chat messages) or None; the error names the column and the row.
        ValueError: a length other than the batch's.
    """
    values = kwargs.get(name)
    if values is None:
        return [None] * rows
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise TypeError(f"column {name!r} must be a list with one value per completion, got {type(values).__name__}")
    if len(values) != rows:
        raise ValueError(f"column {name!r} has {len(values)} values for {rows} completions; it needs one per completion")
    for row, value in enumerate(values):
        if value is None or isinstance(value, str) or (messages and isinstance(value, list)):
            continue
        kinds = "a string, a list of chat messages or None" if messages else "a string or None"
        raise TypeError(f"column {name!r}, row {row}: {value!r:.60} ({type(value).__name__}) must be {kinds}")
    return list(values)


class RRMReward:
    """A TRL reward function backed by a pairwise, pointwise or listwise judge.

    Args:
        judge: any pairwise judge (``compare``); a pointwise judge (``grade``: a judge with
            ``format="pointwise"`` or ``"pointwise_score"``), which judges each completion
            once; a listwise judge (``rank``) for ``tournament="listwise"``. ``HFJudge``
            loads its model on first call, so the reward pickles cheaply (async trainers
            ship it to workers).
        tournament: ``"circular"`` (the default for a pairwise judge: each completion
            against its 2 next neighbours on a seeded ring, about 2N matches in one round,
            every member ranked), ``"pointwise"`` (the default for a pointwise judge: the
            reward is each completion's grade in [0, 1], P(yes) or the rescaled score),
            ``"knockout"``, ``"elo"``, ``"round_robin"``, ``"bradley_terry"``, ``"swiss"``,
            ``"adaptive"``, ``"anchor"``, ``"listwise"``, or a ``Tournament`` instance (for its options).
            A pointwise judge in a pairwise tournament compares grades (each distinct
            completion graded once per round). See docs/tournaments.md for each one's cost
            and ranking quality.
        num_generations: when given, a group is exactly this many consecutive completions
            (set it to the trainer's ``num_generations``); otherwise all completions of
            the same prompt in the batch form a group.
        principle: the principle for every prompt (principle-following judges).
        principle_column: dataset column with a per-prompt principle; it wins over
            ``principle`` where present.
        reference_column: dataset column with a reference response per prompt (the same
            value for every completion of a group), compared with every completion by a
            tournament that ``needs_reference`` (``AnchorTournament(anchor="reference")``);
            read only for those, which raise ValueError naming the group without it.
        seed: seeds brackets and opponents; advanced every call so steps differ.
        name: the reward's ``__name__`` (TRL logs rewards under it).
        log_rationales: send each completion's decisive rationale to TRL's completions
            table (``log_extra``).
        guard: what a completion that imitates the judge format or spells its control
            tokens gets (``trl_rrm.hacking``): ``"off"`` (its reward, the default; the
            judge never reads it as structure anyway), ``"none"`` (None: excluded) or
            ``"min"`` (its group's lowest reward). The rate is logged either way.
        min_margin: the noise floor, the labeler's option of the same name, default and
            meaning (``trl_rrm.floor``). A soft verdict whose ``p_first`` lies within
            ``min_margin / 2`` of 0.5 is an exact tie (every tournament sees a draw); a group
            whose members' mean points per match all lie within ``min_margin`` of each
            other is *flat*; pointwise, a group whose grades all lie within ``min_margin``
            is flat. None (default): 0.1 with soft verdicts, 0 with hard ones (whose
            floor is the tie: orders that disagree, an even vote); 0: no floor beyond exact
            ties.
        audit: an optional reward function with TRL's signature, ``(prompts, completions,
            **kwargs) -> list[float | None]``, computed from a labelled column this reward
            never reads (a checker, ground truth of a small audit set). Called on each
            rank's own completions with the same columns (``log_metric`` and ``log_extra``
            left out), before the judge runs; only its agreement with this reward on the groups
            the judge ranked (not those a ``verifier`` settled) is logged. Not timed as judging.
        verifier: an optional verifiable reward with the same signature and call (a unit
            test, an exact-answer check): a group whose members all get one and not all the
            same keeps the verifier's rewards, unjudged; only the groups it cannot separate
            (all right, all wrong, or a member without one) are ranked by the judge
            (``trl_rrm.verifier``). Their rewards then live on two scales, which GRPO's
            per-group normalisation evens out (``scale_rewards="group"``, its default).

    A flat group's rewarded members all get the same number, the group's mean reward
    rounded to 1/1024 (0.5 for a group of draws), not None: the judge did judge and found
    no difference, and a draw is a result worth the same to everyone, while None means a
    failure here (``none_reward_rate``). Equal values give exactly zero advantage in every
    TRL trainer and scaling (GRPO's group/batch/none, RLOO, next to other reward
    functions), without TRL's "All reward functions returned None" warning for every row;
    the 1/1024 grid keeps float32 sums exact, so TRL's group mean equals the value to the
    bit. Members that got None (failed matches) stay None.

    Logged per call (``log_metric``, prefixed with the name): the judge's counters
    (``parse_failure_rate``, ``tie_rate``, ``order_disagreement_rate``,
    ``over_context_rate``, ...), ``judge_seconds`` (wall time of the tournament),
    ``none_reward_rate``, the floor's ``below_floor_rate`` (matches made ties) and
    ``flat_group_rate`` (flat groups over groups with two or more rated members), the
    hacking signals ``length_correlation`` and ``suspicious_rate``, with ``audit``,
    ``audit_agreement`` (``trl_rrm.hacking.audit_agreement``), and with ``verifier``,
    ``verified_group_rate`` (groups settled without the judge; ``matches`` counts what was judged).

    Raises:
        ValueError: an unknown tournament, or a batch that does not split into groups
            of ``num_generations``.
    """

    def __init__(
        self,
        judge: Judge,
        tournament: str | Tournament | None = None,
        *,
        num_generations: int | None = None,
        principle: str | None = None,
        principle_column: str = "principle",
        reference_column: str = "reference",
        seed: int = 0,
        name: str = "rrm_reward",
        log_rationales: bool = True,
        guard: Guard = "off",
        min_margin: float | None = None,
        audit: Callable[..., Sequence[float | None]] | None = None,
        verifier: Callable[..., Sequence[float | None]] | None = None,
    ) -> None:
        check_judge(judge)
        floor = NoiseFloor(min_margin)
        for option, function in (("audit", audit), ("verifier", verifier)):
            if function is not None and not callable(function):
                raise TypeError(f"{option}={function!r:.60} must be a reward function (prompts, completions, **kwargs)")
        if guard not in GUARDS:
            raise ValueError(f"guard={guard!r} must be one of {GUARDS}")
        if guard != "off" and not hasattr(getattr(judge, "format", None), "suspicious"):
            raise ValueError(f"guard={guard!r} needs a judge with a format to recognise imitations of it; "
                             f"{type(judge).__name__} has none (it would guard nothing)")  # fmt: skip
        if num_generations is not None and (not isinstance(num_generations, int) or num_generations < 2):
            raise ValueError(f"num_generations={num_generations!r} must be an integer >= 2 (or None)")
        self.judge = judge
        self.tournament = choose_tournament(tournament, pointwise=is_pointwise(judge), default=DEFAULT_TOURNAMENT)
        check_judge(judge, listwise=self.tournament.is_listwise, pointwise=self.tournament.is_pointwise)
        self.num_generations = num_generations
        self.principle = principle
        self.principle_column = principle_column
        self.reference_column = reference_column
        self.seed = seed
        self.log_rationales = log_rationales
        self.guard = guard
        self.floor = floor
        self.audit = audit
        self.verifier = verifier
        self.__name__ = name
        self._calls = 0
        self.last_outcome: TournamentOutcome | None = None

    @property
    def min_margin(self) -> float | None:
        """The option ``min_margin`` (``self.floor``'s)."""
        return self.floor.min_margin

    def __call__(
        self,
        prompts: Sequence[Text],
        completions: Sequence[Text],
        completion_ids: Sequence[Sequence[int]] | None = None,
        **kwargs: Any,
    ) -> list[float | None]:
        if len(prompts) != len(completions):
            raise ValueError(f"got {len(prompts)} prompts for {len(completions)} completions")
        call = (prompts, completions, completion_ids, kwargs)
        items, mine = self._gather(prompts, completions, kwargs)
        groups, members = self._group(items)
        settled = self._verify(members, call)
        judged = [g for g, values in enumerate(settled) if values is None]  # the groups the judge ranks
        # read before judging: an audit that answers wrongly fails before the judge's work
        audited = self._gathered(self.audit, "audit", *call) if self.audit is not None else None
        outcome = self._tournament([groups[g] for g in judged])
        scores, signals = self._hacking([groups[g] for g in judged], outcome.scores)
        rewards, rationales = _placed(len(items), members, settled, judged, scores, outcome.rationales)
        if self.verifier is not None:
            signals["verified_group_rate"] = (len(groups) - len(judged)) / max(len(groups), 1)
        if audited is not None:  # the judge's agreement where the judge ranked (not the verifier's groups)
            signals["audit_agreement"] = audit_agreement(
                [[rewards[p] for p in members[g]] for g in judged], [[audited[p] for p in members[g]] for g in judged]
            )
        self._log(kwargs, outcome.stats, rewards[mine], rationales[mine], signals)
        return rewards[mine]

    def _gather(
        self, prompts: Sequence[Text], completions: Sequence[Text], kwargs: dict[str, Any]
    ) -> tuple[list[Item], slice]:
        """Every rank's (prompt, completion, principle, reference), in rank order, and
        where this rank's own lie among them."""
        principles = _column(kwargs, self.principle_column, len(prompts), messages=False)
        references = (
            _column(kwargs, self.reference_column, len(prompts), messages=True)
            if self.tournament.needs_reference
            else [None] * len(prompts)
        )
        local = [
            (prompt, completion, principle if principle is not None else self.principle, reference)
            for prompt, completion, principle, reference in zip(prompts, completions, principles, references)
        ]
        rank, _ = world()
        shards = all_gather(local)
        offset = sum(len(shard) for shard in shards[:rank])
        return [item for shard in shards for item in shard], slice(offset, offset + len(local))

    def _group(self, items: list[Item]) -> tuple[list[Group], list[list[int]]]:
        """Groups of the gathered batch, and each group's positions in it."""
        if self.num_generations:
            n = self.num_generations
            if len(items) % n:
                raise ValueError(
                    f"num_generations={n} does not divide the gathered batch of {len(items)} completions; "
                    "set it to the trainer's num_generations, or None to group by prompt"
                )
            members = [list(range(start, start + n)) for start in range(0, len(items), n)]
        else:
            by_prompt: dict[str, list[int]] = {}
            for position, (prompt, *_) in enumerate(items):
                by_prompt.setdefault(text_key(prompt), []).append(position)
            members = list(by_prompt.values())
        for m in members:  # one principle and one reference per group: the tournament reads the first
            for index, column in ((2, self.principle_column), (3, self.reference_column)):
                other = next((p for p in m if items[p][index] != items[m[0]][index]), None)
                if other is not None:
                    raise ValueError(
                        f"column {column!r} differs within one group: row {m[0]} has {items[m[0]][index]!r:.60}, "
                        f"row {other} has {items[other][index]!r:.60}; a group (one prompt's completions) is "
                        "judged against one value"
                    )
        groups = [
            Group(items[m[0]][0], tuple(items[p][1] for p in m), items[m[0]][2], items[m[0]][3])
            for m in members
        ]
        return groups, members

    def _verify(self, members: list[list[int]], call: tuple) -> list[list[float] | None]:
        """Per group, the verifier's rewards where it settles the group, else None (the
        judge ranks it; every group without a verifier)."""
        if self.verifier is None:
            return [None] * len(members)
        values = self._gathered(self.verifier, "verifier", *call)
        return settled_groups([[values[p] for p in m] for m in members])

    @staticmethod
    def _gathered(function: Callable[..., Sequence[float | None]], what: str, prompts: Sequence[Text],
                  completions: Sequence[Text], completion_ids: Any, kwargs: dict[str, Any]) -> list[float | None]:  # fmt: skip
        """The rewards of ``function`` (the audit or the verifier, TRL's signature) on this
        rank's completions, with the same columns; every rank's, in gathered order."""
        columns = {key: value for key, value in kwargs.items() if key not in ("log_metric", "log_extra")}
        values = function(prompts=list(prompts), completions=list(completions), completion_ids=completion_ids, **columns)
        return [value for shard in all_gather(verifier_values(values, len(prompts), what)) for value in shard]

    def _tournament(self, groups: list[Group]) -> TournamentOutcome:
        """The tournament on ``groups``, with the noise floor applied once (in the driver:
        soft verdicts under it are ties, groups within it flat), seeded anew each call."""
        seed, self._calls = self.seed + self._calls, self._calls + 1
        self.last_outcome = run_tournament(groups, self.judge, self.tournament, seed=seed, floor=self.floor)
        return self.last_outcome

    def _hacking(
        self, groups: list[Group], scores: list[list[float | None]]
    ) -> tuple[list[list[float | None]], dict[str, float | None]]:
        """``scores`` with the guard applied, and the hacking signals (``trl_rrm.hacking``)."""
        # TODO(issue 43): read the flags from the texts the judge's Presenter made (it
        # neutralises each one already) once the engine reports them; see hacking.suspicious.
        texts = [[render_text(c) for c in group.completions] for group in groups]
        signals = {"length_correlation": length_correlation(scores, [[len(x) for x in g] for g in texts])}
        flags = suspicious([text for group in texts for text in group], self.judge)
        if flags is None:
            return scores, signals
        signals["suspicious_rate"] = sum(flags) / max(len(flags), 1)
        return apply_guard(self.guard, scores, _regroup(flags, texts)), signals

    def _log(self, kwargs: dict[str, Any], stats: JudgeStats, rewards: list[float | None],
             rationales: list[str | None], signals: dict[str, float | None]) -> None:  # fmt: skip
        log_metric, log_extra = kwargs.get("log_metric"), kwargs.get("log_extra")
        metrics = stats.metrics()
        metrics.update({key: value for key, value in signals.items() if value is not None})
        if rewards:
            metrics["none_reward_rate"] = sum(r is None for r in rewards) / len(rewards)
        if log_metric is not None:
            for key, value in metrics.items():
                log_metric(f"{self.__name__}/{key}", value)
        else:
            logger.debug("%s metrics: %s", self.__name__, metrics)
        if log_extra is not None and self.log_rationales:
            log_extra(f"{self.__name__}_rationale", [r or "" for r in rationales])

    def __repr__(self) -> str:
        return f"RRMReward(judge={type(self.judge).__name__}, tournament={self.tournament.name!r}, name={self.__name__!r})"


class AsyncRRMReward(RRMReward):
    """``RRMReward`` as an ``async`` reward function (same arguments, same results).

    TRL's GRPOTrainer awaits async reward functions together on its event-loop thread,
    so a judge served over HTTP (``OpenAIJudge``) works while the other reward functions
    run. The tournament runs in a worker thread (``asyncio.to_thread``), so the event
    loop is never blocked::

        reward = AsyncRRMReward(OpenAIJudge("http://judge:8000/v1", model="rrm"), num_generations=8)
        rewards = await reward(prompts=prompts, completions=completions)
    """

    async def __call__(  # type: ignore[override]
        self,
        prompts: Sequence[Text],
        completions: Sequence[Text],
        completion_ids: Sequence[Sequence[int]] | None = None,
        **kwargs: Any,
    ) -> list[float | None]:
        return await asyncio.to_thread(super().__call__, prompts, completions, completion_ids, **kwargs)
