"""``LabelingConfig`` (what a labeling run decides) and ``LabelingSummary`` (what it did).

The config's fields carry one-line help: ``trl-rrm label`` and ``recipes/dpo_rrm.py``
build their flags from it. Run controls that do not change a label (``output``,
``resume``, ``overwrite``, ``seed``, ``progress``) are arguments of ``label_preferences``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..floor import MIN_MARGIN_HELP, SOFT_MIN_MARGIN, validate_min_margin
from ..judges.config import positive_int
from ..tournaments import Tournament
from ..tournaments.registry import DEFAULT_LABELING_TOURNAMENT, POINTWISE_TOURNAMENT, TOURNAMENTS, choose_tournament

PAIR_MODES = ("best_worst", "all_above_margin")
DROP_REASONS = (
    "too_few_candidates", "unscored_candidate", "tie", "low_margin", "order_disagreement", "over_context",
)  # fmt: skip
__all__ = ["DROP_REASONS", "PAIR_MODES", "SOFT_MIN_MARGIN", "LabelingConfig", "LabelingSummary"]


@dataclass
class LabelingConfig:
    """How candidates are ranked and which pairs are kept.

    Defaults keep only pairs the judge stands behind: with both orders judged, a pair
    whose orders disagree is dropped (``min_order_agreement=1.0``); with soft verdicts
    (``likelihood``/``direct``), a pair whose score margin is under ``SOFT_MIN_MARGIN``
    (0.1) is dropped (``min_margin=None``); every drop is counted by reason. The floor and
    its default are ``trl_rrm.floor``'s, shared with ``RRMReward(min_margin=...)``.
    """

    tournament: str | None = field(
        default=None,
        metadata={"help": f"a tournament: {', '.join(TOURNAMENTS)}; None: {DEFAULT_LABELING_TOURNAMENT}, or "
                          f"{POINTWISE_TOURNAMENT} for a pointwise judge"},
    )  # fmt: skip
    pairs: str = field(
        default="best_worst",
        metadata={"help": "best_worst: one pair per prompt; all_above_margin: every pair above the margin",
                  "choices": PAIR_MODES},
    )  # fmt: skip
    min_margin: float | None = field(default=None, metadata={"help": MIN_MARGIN_HELP})
    min_order_agreement: float | None = field(
        default=1.0, metadata={"help": "drop pairs whose both-order matches agree less than this (None: keep all)"}
    )
    num_candidates: int = field(default=4, metadata={"help": "candidates sampled per prompt without 'completions'"})
    policy_temperature: float = field(default=1.0, metadata={"help": "policy sampling temperature"})
    policy_max_new_tokens: int = field(default=128, metadata={"help": "policy budget per candidate"})
    policy_batch_size: int = field(default=32, metadata={"help": "policy sequences generated together"})
    chunk_size: int = field(default=16, metadata={"help": "prompts per chunk: one tournament, one fsynced write"})

    def __post_init__(self) -> None:
        choose_tournament(self.tournament, pointwise=False, default=DEFAULT_LABELING_TOURNAMENT)  # fails here, named
        if self.pairs not in PAIR_MODES:
            raise ValueError(f"pairs={self.pairs!r} must be one of {PAIR_MODES}")
        validate_min_margin(self.min_margin)
        if self.min_order_agreement is not None and not 0 <= self.min_order_agreement <= 1:
            raise ValueError(f"min_order_agreement={self.min_order_agreement!r} must be in [0, 1] or None")
        if not isinstance(self.num_candidates, int) or self.num_candidates < 2:
            raise ValueError(f"num_candidates={self.num_candidates!r} must be an integer >= 2")
        if not self.policy_temperature > 0:  # greedy would give num_candidates identical candidates
            raise ValueError(f"policy_temperature={self.policy_temperature!r} must be > 0: the policy samples "
                             f"num_candidates={self.num_candidates} different candidates per prompt")  # fmt: skip
        for name in ("policy_max_new_tokens", "policy_batch_size", "chunk_size"):
            positive_int(name, getattr(self, name))

    def tournament_for(self, pointwise: bool) -> Tournament:
        """The tournament in force for a judge that is (not) pointwise (``tournament=None``)."""
        return choose_tournament(self.tournament, pointwise=pointwise, default=DEFAULT_LABELING_TOURNAMENT)

    def fingerprint_fields(self, pointwise: bool = False) -> dict[str, Any]:
        """What a resumed run must share with the run it continues (the tournament resolved)."""
        tournament = self.tournament_for(pointwise)
        return {**asdict(self), "tournament": tournament.name if isinstance(self.tournament, (str, type(None)))
                else repr(self.tournament)}  # fmt: skip


@dataclass
class LabelingSummary:
    """What a labeling run did (on rank 0: totals over all ranks).

    Attributes:
        rows_written: preference rows in the output (resumed rows included).
        prompts_seen: prompts decided in this run (prompts skipped by ``resume`` excluded).
        prompts_resumed: prompts skipped because a previous run had completed them.
        dropped: counts per reason: ``too_few_candidates`` (a prompt with fewer than two
            scored candidates), ``unscored_candidate`` (a candidate the judge gave no valid
            result: removed, the prompt may still give a pair), ``tie`` (equal scores),
            ``low_margin`` (margin under the minimum), ``order_disagreement`` (the pair's
            orders disagree more than ``min_order_agreement`` allows), ``over_context``
            (matches that did not fit the judge's context: not judged). Pair reasons count
            candidate pairs.
        min_margin: the minimum margin applied (the default resolved).
        pairs_considered: candidate pairs that reached pair selection.
        parse_failure_rate: failed judgments / judgments (rankings for listwise); None
            when nothing was judged.
        order_disagreement_rate: share of both-order matches whose orders disagreed.
        responses_cut: responses cut to fit the judge's token budget.
        matches: pairwise matches (or listwise rankings) judged.
        matches_per_second: ``matches`` / seconds spent in the judge's tournaments.
        judge_seconds, generation_seconds, seconds: time in the judge, in sampling, in all.
        output: the output file, when one was written.
        dataset: the rows as a ``datasets.Dataset`` (rank 0; None elsewhere).
    """

    rows_written: int = 0
    prompts_seen: int = 0
    prompts_resumed: int = 0
    dropped: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DROP_REASONS, 0))
    min_margin: float = 0.0
    pairs_considered: int = 0
    parse_failure_rate: float | None = None
    order_disagreement_rate: float | None = None
    responses_cut: int = 0
    matches: int = 0
    matches_per_second: float = 0.0
    judge_seconds: float = 0.0
    generation_seconds: float = 0.0
    seconds: float = 0.0
    output: str | None = None
    dataset: Any = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Everything but the dataset, JSON-ready."""
        return {k: v for k, v in self.__dict__.items() if k != "dataset"}
