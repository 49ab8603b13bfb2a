"""Listwise / principle rankings against reference rankings: Kendall tau, NDCG, top-1.

    result = evaluate_listwise(judge, "builtin:listwise")                     # judge.rank (format="principle")
    result = evaluate_listwise(judge, "builtin:listwise", method="round_robin")  # a pairwise judge

The predicted ranking of a list comes from ``judge.rank`` (``method="listwise"``: the
judge's order, a principle from the row when given) or from the scores of a pairwise
tournament (highest first; equal scores and unscored candidates, which go last, are
ordered by a seeded draw). Metrics (``metrics`` module) against the row's ``relevance``:

- ``kendall_tau``: mean tau-b over the lists with a ranking (lists whose reference
  grades are all equal have no tau and are left out of the mean);
- ``ndcg``: mean NDCG over the lists with a ranking;
- ``top1_accuracy``: lists whose first-ranked candidate has the best grade / ALL lists
  (a failed ranking counts as wrong); ``random_top1``: the expected top-1 accuracy of a
  random order (mean of best candidates / candidates);
- ``failed``: lists without a ranking (``judge.rank`` gave None, or no candidate got a
  tournament score), on their own line; ``partial``: tournament rankings in which some
  candidate had no score.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..judges import describe
from ..seeds import seeded_rng
from ..tournaments import get_tournament
from .common import play_tournaments
from .data import candidate_lists, listwise_examples
from .metrics import kendall_tau, mean, ndcg, top1_correct
from .report import format_judge, markdown_table

if TYPE_CHECKING:
    from ..judges.protocol import Judge

logger = logging.getLogger(__name__)

__all__ = ["ListwiseResult", "evaluate_listwise", "order_from_scores"]


def order_from_scores(scores: Sequence[float | None], rng: random.Random) -> tuple[int, ...] | None:
    """Candidates by score, highest first; ``rng`` orders equal scores and the unscored
    (placed last). None when no candidate has a score."""
    if all(s is None for s in scores):
        return None
    keys = {c: rng.random() for c in range(len(scores))}
    scored = sorted((c for c, s in enumerate(scores) if s is not None), key=lambda c: (-scores[c], keys[c]))
    unscored = sorted((c for c, s in enumerate(scores) if s is None), key=lambda c: keys[c])
    return tuple(scored + unscored)


@dataclass
class ListwiseResult:
    """Ranking quality against the reference (see the module doc)."""

    source: str
    method: str
    judge: dict[str, Any]
    lists: int
    kendall_tau: float | None
    ndcg: float | None
    top1_accuracy: float
    random_top1: float
    failed: int
    partial: int
    matches: int
    judge_tokens: int
    seconds: float
    parse_failure_rate: float | None = None
    curves: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    task: str = "listwise"

    @property
    def title(self) -> str:
        return f"listwise: {self.source} ({self.method})"

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in vars(self).items() if k != "curves"}
        out["seconds"] = round(self.seconds, 3)
        out["failure_rate"] = self.failed / self.lists
        return out

    def to_markdown(self) -> str:
        rows = [
            ("lists", self.lists), ("Kendall tau (mean, ranked lists)", self.kendall_tau),
            ("NDCG (mean, ranked lists)", self.ndcg), ("top-1 accuracy (failures count as wrong)", self.top1_accuracy),
            ("top-1 of a random order (expected)", self.random_top1),
            (f"failed: no ranking ({self.failed})", self.failed / self.lists),
            ("partial rankings (some candidate unscored)", self.partial),
            ("judge matches / rankings", self.matches), ("parse failure rate", self.parse_failure_rate),
            ("judge tokens", self.judge_tokens), ("seconds", round(self.seconds, 1)),
        ]
        return "\n".join([
            f"## Listwise evaluation: {self.source}", "",
            f"Judge: {format_judge(self.judge)}; ranking by: {self.method}.", "",
            markdown_table(["metric", "value"], rows),
        ])


def evaluate_listwise(
    judge: Judge,
    data: Any,
    *,
    method: str = "listwise",
    seed: int = 0,
    chunk_size: int = 16,
    progress: bool = False,
    split: str | None = None,
    columns: dict[str, str] | None = None,
    limit: int | None = None,
) -> ListwiseResult:
    """Kendall tau, NDCG and top-1 accuracy of the judge's rankings (see the module doc).

    Args:
        judge: a listwise judge (``rank``) for ``method="listwise"``, else a pairwise judge.
        data: rows with ``prompt``, ``candidates``, ``relevance`` or ``ranking`` (see
            ``data.listwise_examples``), or a list of ``CandidateList``.
        method: ``"listwise"`` or a pairwise tournament name (``round_robin``, ``elo``, ...).
        seed: seeds the built-in set, the tournaments and the tie-breaking draws.
        chunk_size: lists per judge run.
        progress: show a tqdm progress bar.
        split, columns, limit: see ``trl_rrm.inputs.load_rows``.

    Raises:
        EvaluationInputError: bad data. ValueError: an unknown method.
        TypeError: ``method="listwise"`` with a judge that cannot rank.
    """
    tournament = get_tournament(method)
    examples, source = candidate_lists(data, listwise_examples, split=split, columns=columns, limit=limit, seed=seed)
    results, stats = play_tournaments(judge, examples, tournament, seed=seed, chunk_size=chunk_size,
                                      progress=progress, desc=f"listwise {method}")
    orders: list[tuple[int, ...] | None] = []
    partial = 0
    for x, (scores, ranking) in zip(examples, results):
        if tournament.is_listwise:
            orders.append(None if ranking is None else tuple(ranking.order))
        else:
            orders.append(order_from_scores(scores, seeded_rng("trl_rrm:eval:order", seed, x.row)))
            partial += None in scores and orders[-1] is not None
    taus, ndcgs, top1 = [], [], 0
    for x, order in zip(examples, orders):
        if order is None:
            continue
        tau = kendall_tau(order, x.labels)
        if tau is not None:
            taus.append(tau)
        value = ndcg(order, x.labels)
        if value is not None:
            ndcgs.append(value)
        top1 += top1_correct(order, x.labels)
    metrics = stats.metrics()
    return ListwiseResult(
        source=source,
        method=method,
        judge=describe.summary(judge),
        lists=len(examples),
        kendall_tau=mean(taus),
        ndcg=mean(ndcgs),
        top1_accuracy=top1 / len(examples),
        random_top1=mean([sum(1 for g in x.labels if g == max(x.labels)) / len(x.labels) for x in examples]),
        failed=sum(order is None for order in orders),
        partial=partial,
        matches=stats.judged,
        judge_tokens=stats.tokens,
        seconds=stats.seconds,
        parse_failure_rate=metrics.get("parse_failure_rate"),
    )
