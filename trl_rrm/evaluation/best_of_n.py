"""Best-of-N: does a tournament of judge matches pick a correct candidate?

    result = evaluate_best_of_n(judge, "builtin:best_of_n")  # knockout and round robin (the default)

For each tournament, every prompt's candidates are played through the same driver as
``RRMReward`` (``run_tournament``: one judge call per round for a chunk of prompts) and
the candidate with the highest score is the top pick. Reported per tournament:

- ``accuracy``: prompts whose top pick is correct / prompts. A prompt where no candidate
  got a score (every match failed) has no pick: it counts as wrong and is counted in
  ``failed_picks``. Equal top scores are broken by a seeded draw, counted in ``top_ties``.
- ``matches``: judge matches played (rankings, for ``listwise``), ``matches_per_prompt``,
  ``judgments``, ``parse_failure_rate``, ``judge_tokens``, ``seconds``.

Beside them, two baselines that need no judge: ``random_accuracy``, the expected
accuracy of a uniformly random pick (mean over prompts of correct / candidates), and
``oracle_accuracy``, prompts with at least one correct candidate / prompts.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..judges import describe
from ..seeds import seeded_rng
from ..tournaments import Tournament, get_tournament
from ..tournaments.registry import DEFAULT_EVALUATION_TOURNAMENTS
from .common import play_tournaments
from .data import CandidateList, best_of_n_examples, candidate_lists
from .metrics import mean
from .report import format_judge, markdown_table

if TYPE_CHECKING:
    from ..judges.protocol import Judge

logger = logging.getLogger(__name__)

__all__ = ["BestOfNResult", "evaluate_best_of_n", "top_pick"]


def top_pick(scores: Sequence[float | None], rng: random.Random) -> tuple[int | None, bool]:
    """The index of the best score (``rng`` breaks exact ties), and whether there was a tie.

    ``(None, False)`` when no candidate has a score.
    """
    scored = [(s, c) for c, s in enumerate(scores) if s is not None]
    if not scored:
        return None, False
    best = max(s for s, _ in scored)
    tied = [c for s, c in scored if math.isclose(s, best, rel_tol=0.0, abs_tol=1e-12)]
    return (tied[0] if len(tied) == 1 else rng.choice(tied)), len(tied) > 1


@dataclass
class BestOfNResult:
    """Top-pick accuracy per tournament beside the random and oracle baselines."""

    source: str
    judge: dict[str, Any]
    prompts: int
    candidates: int
    random_accuracy: float
    oracle_accuracy: float
    tournaments: list[dict[str, Any]] = field(default_factory=list)
    curves: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    task: str = "best-of-n"

    @property
    def title(self) -> str:
        return f"best-of-N: {self.source} ({self.judge.get('type')})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task, "source": self.source, "judge": self.judge, "prompts": self.prompts,
            "candidates": self.candidates, "random_accuracy": self.random_accuracy,
            "oracle_accuracy": self.oracle_accuracy, "tournaments": self.tournaments,
        }

    def to_markdown(self) -> str:
        rows = [
            (t["tournament"], t["accuracy"], t["failed_picks"], t["top_ties"], t["matches"], t["matches_per_prompt"],
             t["parse_failure_rate"], t["judge_tokens"], round(t["seconds"], 1))
            for t in self.tournaments
        ]
        rows += [("random pick (expected)", self.random_accuracy, None, None, 0, 0, None, 0, 0),
                 ("oracle", self.oracle_accuracy, None, None, 0, 0, None, 0, 0)]
        return "\n".join([
            f"## Best-of-N evaluation: {self.source}", "",
            f"Judge: {format_judge(self.judge)}; {self.prompts} prompts, {self.candidates} candidates in all.", "",
            markdown_table(
                ["tournament", "top-pick accuracy", "no pick (failed)", "top ties", "matches", "matches/prompt",
                 "parse failures", "judge tokens", "seconds"],
                rows,
            ),
        ])


def _tournament(spec: str | Tournament) -> tuple[str, Tournament]:
    if isinstance(spec, Tournament):
        return spec.name, spec
    return spec, get_tournament(spec)


def evaluate_best_of_n(
    judge: Judge,
    data: Any,
    *,
    tournaments: Sequence[str | Tournament] = DEFAULT_EVALUATION_TOURNAMENTS,
    seed: int = 0,
    chunk_size: int = 16,
    progress: bool = False,
    split: str | None = None,
    columns: dict[str, str] | None = None,
    limit: int | None = None,
) -> BestOfNResult:
    """Top-pick accuracy of each tournament (metrics in the module doc).

    Args:
        judge: a pairwise judge (and ``rank`` for the ``listwise`` tournament).
        data: rows with ``prompt``, ``candidates``, ``correct`` (``"builtin:best_of_n"``, a
            file, a hub dataset, ...; see ``trl_rrm.inputs.load_rows``), or a list of ``CandidateList``.
        tournaments: names for ``get_tournament`` or ``Tournament`` objects
            (``DEFAULT_EVALUATION_TOURNAMENTS``: knockout and round robin).
        seed: seeds the built-in set, the tournaments and the tie-breaking draws.
        chunk_size: prompts per tournament run (each round of a run is one judge call).
        progress: show a tqdm progress bar.
        split, columns, limit: see ``trl_rrm.inputs.load_rows``.

    Raises:
        EvaluationInputError: bad data. ValueError: an unknown tournament or bad options.
        TypeError: ``listwise`` with a judge that cannot rank.
    """
    specs = [_tournament(t) for t in tournaments]
    if not specs:
        raise ValueError("tournaments=[]: name at least one tournament")
    examples, source = candidate_lists(data, best_of_n_examples, split=split, columns=columns, limit=limit, seed=seed)
    result = BestOfNResult(
        source=source,
        judge=describe.summary(judge),
        prompts=len(examples),
        candidates=sum(len(x.candidates) for x in examples),
        random_accuracy=mean([sum(x.labels) / len(x.labels) for x in examples]),
        oracle_accuracy=mean([float(any(x.labels)) for x in examples]),
    )
    for name, tournament in specs:
        result.tournaments.append(_play(judge, examples, name, tournament, seed, chunk_size, progress))
        logger.info("best-of-N %s: %s", name, result.tournaments[-1])
    return result


def _play(
    judge: Judge, examples: list[CandidateList], name: str, tournament: Tournament, seed: int, chunk_size: int,
    progress: bool,
) -> dict[str, Any]:
    results, stats = play_tournaments(judge, examples, tournament, seed=seed, chunk_size=chunk_size,
                                      progress=progress, desc=f"best-of-N {name}")
    scores = [group_scores for group_scores, _ in results]
    correct = failed = ties = 0
    for x, group_scores in zip(examples, scores):
        pick, tie = top_pick(group_scores, seeded_rng("trl_rrm:eval:pick", seed, x.row))
        failed += pick is None
        ties += tie
        correct += pick is not None and x.labels[pick] == 1.0
    metrics = stats.metrics()
    matches = stats.judged
    return {
        "tournament": name,
        "accuracy": correct / len(examples),
        "failed_picks": failed,
        "top_ties": ties,
        "matches": matches,
        "matches_per_prompt": matches / len(examples),
        "judgments": stats.judgments if not tournament.is_listwise else stats.rankings,
        "parse_failure_rate": metrics.get("parse_failure_rate"),
        "judge_tokens": stats.tokens,
        "seconds": stats.seconds,
    }
