"""Pairwise judge accuracy on preference pairs, with failure, tie and order accounting.

    result = evaluate_pairwise(judge, "builtin:pairs", votes_curve=[1, 3, 5], budget_curve=[32, 64, 128])
    print(result.to_markdown())

Presentation: with ``orders="both"`` (default) every pair is judged twice, chosen shown
first and rejected shown first, in ONE ``compare`` call per chunk; with ``"random"`` once,
in a seeded order (content-hashed: reproducible). The evaluator decides what is shown
first: a judge whose config has ``order="random"`` (``HFJudge``'s default, which shows
each match in its own random order) is run with ``order="fixed"`` for the evaluation
(noted in the result). A judge with ``both_orders=True`` still judges both orders inside
every match, on top of the evaluator's orders.

Every judgment has exactly one outcome:
- ``correct``: the verdict picks ``chosen``;
- ``wrong``: it picks ``rejected``;
- ``tie``: the judge gave valid verdicts that cancel out (``Verdict.tie``);
- ``failed``: no usable verdict (``Verdict.failed``).
``accuracy`` = correct / judgments: a tie and a failure are NOT correct (never 0.5) and
each has its own line. ``both_order_accuracy`` = pairs correct in both orders / pairs;
``order_agreement`` = pairs whose two judgments pick the same response / pairs where both
are decisive. ``parse_failure_rate`` = unparseable single votes (``Verdict.votes`` entries
that are None) / all votes, ``forced_rate`` = forced answers / all votes: with voting a
match can survive a failed vote, so these differ from ``failed_rate``. ``first_pick_rate`` = decisive judgments picking the response shown first
(0.5 = no position bias). ``mean_p_chosen`` averages the judge's probability for chosen
when it reports one (``Verdict.p_first``, verdict modes ``likelihood`` / ``direct``).

Curves: ``votes_curve`` / ``budget_curve`` re-run the whole evaluation with the judge's
``num_votes`` / ``max_new_tokens`` set to each value (``common.configured``); a judge
without such settings, or one reading verdicts ``direct`` (one forward pass, no sampling,
no budget), gets no curves and a note saying why.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ..driver import JudgeStats
from ..inputs import load_rows
from ..judges import describe
from ..judges.protocol import compare_of
from ..seeds import stable_seed
from ..types import Match, Verdict
from .common import CurvesUnsupported, configured, judged_in_chunks
from .data import PairExample, pairwise_examples
from .metrics import mean, rewardbench_sections
from .report import format_judge, markdown_table

if TYPE_CHECKING:
    from ..judges.protocol import PairwiseJudge

logger = logging.getLogger(__name__)

__all__ = ["OUTCOMES", "PairwiseResult", "evaluate_pairwise", "judgment_outcome", "score_pairs"]

OUTCOMES = ("correct", "wrong", "tie", "failed")
Orders = Literal["both", "random"]


def judgment_outcome(chosen_first: bool, verdict: Verdict) -> str:
    """``correct``, ``wrong``, ``tie`` or ``failed`` for one judgment of a pair.

    Raises:
        ValueError: ``verdict.winner`` is not 0, 1 or None.
    """
    if verdict.winner not in (0, 1, None):
        raise ValueError(f"verdict.winner={verdict.winner!r}: must be 0, 1 or None")
    if verdict.winner is None:
        return "tie" if verdict.tie else "failed"
    return "correct" if (verdict.winner == 0) == chosen_first else "wrong"


def _group_metrics(judged: Sequence[Sequence[tuple[bool, Verdict]]], orders: Orders) -> dict[str, Any]:
    counts = dict.fromkeys(OUTCOMES, 0)
    both_right = agree = decisive_pairs = first_picks = decisive = 0
    stats = JudgeStats()  # the votes: parsed or not, forced or not
    p_chosen: list[float] = []
    for judgments in judged:
        stats.add_verdicts([verdict for _, verdict in judgments])
        outcomes = []
        for chosen_first, verdict in judgments:
            outcome = judgment_outcome(chosen_first, verdict)
            counts[outcome] += 1
            outcomes.append(outcome)
            if outcome in ("correct", "wrong"):
                decisive += 1
                first_picks += verdict.winner == 0
            if verdict.p_first is not None and not verdict.failed:
                p_chosen.append(verdict.p_first if chosen_first else 1.0 - verdict.p_first)
        if orders == "both":
            both_right += all(o == "correct" for o in outcomes)
            if all(o in ("correct", "wrong") for o in outcomes):
                decisive_pairs += 1
                agree += len(set(outcomes)) == 1
    n = sum(counts.values())
    out: dict[str, Any] = {"pairs": len(judged), "judgments": n}
    out["accuracy"] = counts["correct"] / n if n else None
    out.update({f"{k}_rate": (v / n if n else None) for k, v in counts.items() if k != "correct"})
    out["counts"] = counts
    out["both_order_accuracy"] = both_right / len(judged) if orders == "both" and judged else None
    out["order_agreement"] = agree / decisive_pairs if decisive_pairs else None
    out["first_pick_rate"] = first_picks / decisive if decisive else None
    out["mean_p_chosen"] = mean(p_chosen)
    out["parse_failure_rate"] = stats.metrics().get("parse_failure_rate")
    out["forced_rate"] = stats.forced / stats.judgments if stats.judgments else None
    return out


def score_pairs(
    pairs: Sequence[PairExample],
    judged: Sequence[Sequence[tuple[bool, Verdict]]],
    orders: Orders = "both",
    rewardbench: bool = False,
) -> dict[str, Any]:
    """All metrics from the judgments: overall, per subset, per category, and RewardBench
    sections when asked. ``judged[i]`` lists pair i's ``(chosen shown first, verdict)``.

    Pure: no judge. The module doc defines every metric.
    """
    if len(pairs) != len(judged):
        raise ValueError(f"{len(pairs)} pairs but {len(judged)} judgment lists")
    out = _group_metrics(judged, orders)
    for key in ("subset", "category"):
        groups: dict[str, list[int]] = {}
        for i, pair in enumerate(pairs):
            label = getattr(pair, key)
            if label is not None:
                groups.setdefault(label, []).append(i)
        out[f"by_{key}"] = {
            label: _group_metrics([judged[i] for i in members], orders) for label, members in sorted(groups.items())
        }
    out["sections"] = out["section_score"] = None
    if rewardbench:
        subset_accuracy = {k: v["accuracy"] for k, v in out["by_subset"].items() if v["accuracy"] is not None}
        sections, score, ignored = rewardbench_sections(subset_accuracy)
        if not sections:
            raise ValueError(
                f"rewardbench=True, but no subset is a RewardBench subset (subsets: {sorted(subset_accuracy)})"
            )
        out["sections"], out["section_score"] = sections, score
        if ignored:
            logger.warning("RewardBench sections ignore subsets outside every section: %s", ignored)
    return out


@dataclass
class PairwiseResult:
    """Metrics of one pairwise evaluation (see the module doc); ``to_dict`` / ``to_markdown``.

    ``metrics`` holds the overall numbers (``accuracy``, ``both_order_accuracy``,
    ``order_agreement``, ``wrong_rate``, ``tie_rate``, ``failed_rate``, ``first_pick_rate``,
    ``mean_p_chosen``, ``counts``), ``by_subset``, ``by_category``, ``sections`` and
    ``section_score``. ``curves`` maps ``num_votes`` / ``max_new_tokens`` to points
    ``{"value", "accuracy", "both_order_accuracy", "failure_rate", "tie_rate", "judge_tokens"}``.
    """

    source: str
    orders: Orders
    judge: dict[str, Any]
    metrics: dict[str, Any]
    judge_tokens: int
    seconds: float
    skipped_rows: int = 0
    curves: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    task: str = "pairwise"

    @property
    def title(self) -> str:
        return f"pairwise: {self.source} ({self.judge.get('type')})"

    @property
    def accuracy(self) -> float | None:
        return self.metrics["accuracy"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task, "source": self.source, "orders": self.orders, "judge": self.judge,
            **self.metrics, "judge_tokens": self.judge_tokens, "seconds": round(self.seconds, 3),
            "skipped_rows": self.skipped_rows, "curves": self.curves, "notes": self.notes,
        }

    def to_markdown(self) -> str:
        m = self.metrics
        c = m["counts"]
        lines = [
            f"## Pairwise evaluation: {self.source}", "", f"Judge: {format_judge(self.judge)}; orders: {self.orders}.", ""
        ]
        rows = [
            ("pairs", m["pairs"]), ("judgments", m["judgments"]),
            ("accuracy (failures and ties count as wrong)", m["accuracy"]),
            ("both-order accuracy", m["both_order_accuracy"]), ("order agreement", m["order_agreement"]),
            (f"correct ({c['correct']})", m["accuracy"]), (f"wrong ({c['wrong']})", m["wrong_rate"]),
            (f"tie ({c['tie']})", m["tie_rate"]), (f"failed: no verdict ({c['failed']})", m["failed_rate"]),
            ("first-shown picked (position bias)", m["first_pick_rate"]), ("mean p(chosen)", m["mean_p_chosen"]),
            ("parse failures (of all votes)", m["parse_failure_rate"]),
            ("forced answers (of all votes)", m["forced_rate"]),
            ("judge tokens", self.judge_tokens), ("seconds", round(self.seconds, 1)),
        ]
        if self.skipped_rows:
            rows.append(("rows skipped (tied winner)", self.skipped_rows))
        lines.append(markdown_table(["metric", "value"], rows))
        for key in ("subset", "category"):
            groups = m[f"by_{key}"]
            if groups:
                lines += ["", f"### By {key}", ""]
                lines.append(markdown_table(
                    [key, "pairs", "accuracy", "both-order", "wrong", "tie", "failed"],
                    [(k, g["pairs"], g["accuracy"], g["both_order_accuracy"], g["wrong_rate"], g["tie_rate"],
                      g["failed_rate"]) for k, g in groups.items()],
                ))
        if m["sections"]:
            lines += ["", "### RewardBench sections (leaderboard subset weights)", ""]
            rows = [*m["sections"].items(), ("**score**", m["section_score"])]
            lines.append(markdown_table(["section", "score"], rows))
        for name, points in self.curves.items():
            if points:
                lines += ["", f"### Curve: accuracy vs {name}", ""]
                lines.append(markdown_table(
                    [name, "accuracy", "both-order", "failed", "tie", "judge tokens"],
                    [(p["value"], p["accuracy"], p["both_order_accuracy"], p["failure_rate"], p["tie_rate"],
                      p["judge_tokens"]) for p in points],
                ))
        if self.notes:
            lines += ["", *[f"- {note}" for note in self.notes]]
        return "\n".join(lines)


def _plan(pairs: Sequence[PairExample], orders: Orders, seed: int) -> list[tuple[int, bool]]:
    """(pair index, chosen shown first) for every judgment."""
    if orders == "both":
        return [(i, chosen_first) for i in range(len(pairs)) for chosen_first in (True, False)]
    return [
        (i, bool(stable_seed("trl_rrm:eval", seed, p.prompt, p.chosen, p.rejected) & 1)) for i, p in enumerate(pairs)
    ]


def _run(
    judge: PairwiseJudge, pairs: Sequence[PairExample], plan: list[tuple[int, bool]], chunk_size: int, progress: bool, desc: str
) -> tuple[list[list[tuple[bool, Verdict]]], int, float]:
    matches = []
    for i, chosen_first in plan:
        pair = pairs[i]
        shown = (pair.chosen, pair.rejected) if chosen_first else (pair.rejected, pair.chosen)
        matches.append(Match(pair.prompt, shown))
    start = time.perf_counter()
    verdicts = judged_in_chunks(compare_of(judge), matches, chunk_size, progress=progress, desc=desc)
    seconds = time.perf_counter() - start
    judged: list[list[tuple[bool, Verdict]]] = [[] for _ in pairs]
    for (i, chosen_first), verdict in zip(plan, verdicts):
        judged[i].append((chosen_first, verdict))
    return judged, sum(v.tokens for v in verdicts), seconds


def _point(value: int, metrics: dict[str, Any], tokens: int) -> dict[str, Any]:
    return {
        "value": value, "accuracy": metrics["accuracy"], "both_order_accuracy": metrics["both_order_accuracy"],
        "failure_rate": metrics["failed_rate"], "tie_rate": metrics["tie_rate"],
        "parse_failure_rate": metrics["parse_failure_rate"], "judge_tokens": tokens,
    }


def _check_curve(name: str, values: Sequence[int] | None) -> list[int]:
    if values is None:
        return []
    values = list(values)
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name}={values!r}: every value must be a positive integer, got {v!r}")
    if len(set(values)) != len(values):
        raise ValueError(f"{name}={values!r} repeats a value")
    return sorted(values)


def evaluate_pairwise(
    judge: PairwiseJudge,
    data: Any,
    *,
    orders: Orders = "both",
    rewardbench: bool = False,
    votes_curve: Sequence[int] | None = None,
    budget_curve: Sequence[int] | None = None,
    seed: int = 0,
    chunk_size: int = 64,
    progress: bool = False,
    split: str | None = None,
    columns: dict[str, str] | None = None,
    limit: int | None = None,
) -> PairwiseResult:
    """Judge accuracy on preference pairs (metrics in the module doc).

    Args:
        judge: any pairwise judge (``compare(matches) -> list[Verdict]``), or a pointwise
            one (``grade``: a pair is right when the chosen response is graded higher).
        data: ``"builtin:pairs"``, a jsonl/json/parquet file, a hub dataset name, a list of
            rows, a ``datasets.Dataset`` (see ``data``), or a list of ``PairExample``.
        orders: ``"both"`` judges each pair in both presentation orders, ``"random"`` once.
        rewardbench: also report RewardBench's section scores (subsets named as there).
        votes_curve: ``num_votes`` values to re-run with (voting@K).
        budget_curve: ``max_new_tokens`` values to re-run with (thinking budget).
        seed: seeds the built-in set and the ``"random"`` presentation order.
        chunk_size: judgments per ``compare`` call (the progress bar advances per call).
        progress: show a tqdm progress bar.
        split, columns, limit: see ``trl_rrm.inputs.load_rows``.

    Raises:
        EvaluationInputError: bad data (names the source, row, field and value).
        ValueError: bad options, a curve value the judge rejects, or a verdict outside 0/1/None.
    """
    if orders not in ("both", "random"):
        raise ValueError(f"orders={orders!r} must be 'both' or 'random'")
    votes, budgets = _check_curve("votes_curve", votes_curve), _check_curve("budget_curve", budget_curve)
    if isinstance(data, list) and data and all(isinstance(p, PairExample) for p in data):
        pairs, skipped, source = list(data)[:limit] if limit else list(data), 0, "pairs"
    else:
        rows = load_rows(data, split=split, columns=columns, limit=limit, seed=seed)
        pairs, skipped = pairwise_examples(rows)
        source = rows.source
    config = getattr(judge, "config", None)
    args = (pairs, source, skipped, orders, rewardbench, votes, budgets, seed, chunk_size, progress)
    if getattr(config, "order", "fixed") != "fixed" and not getattr(config, "both_orders", True):
        # The evaluator decides what is shown first; a judge re-shuffling one order per
        # match would show both "orders" of a pair identically half of the time.
        with configured(judge, order="fixed") as fixed:
            result = _evaluate(fixed, *args)
        result.notes.insert(
            0, "the judge's order='random' was set to 'fixed' for the evaluation: the evaluator chooses the order"
        )
        return result
    return _evaluate(judge, *args)


def _evaluate(
    judge: PairwiseJudge,
    pairs: list[PairExample],
    source: str,
    skipped: int,
    orders: Orders,
    rewardbench: bool,
    votes: list[int],
    budgets: list[int],
    seed: int,
    chunk_size: int,
    progress: bool,
) -> PairwiseResult:
    plan = _plan(pairs, orders, seed)
    judged, tokens, seconds = _run(judge, pairs, plan, chunk_size, progress, "pairwise")
    metrics = score_pairs(pairs, judged, orders, rewardbench)
    result = PairwiseResult(source, orders, describe.summary(judge), metrics, tokens, seconds, skipped)
    logger.info("pairwise accuracy %.3f on %d pairs", metrics["accuracy"] or 0.0, len(pairs))

    curves = [("num_votes", votes), ("max_new_tokens", budgets)]
    if any(values for _, values in curves):
        verdict_mode = getattr(getattr(judge, "config", None), "verdict", None)
        if verdict_mode == "direct":
            result.notes.append(
                "curves skipped: verdict='direct' reads one forward pass per match (no sampling, no thinking "
                "budget), so num_votes and max_new_tokens do not change it"
            )
            return result
        for name, values in curves:
            points = []
            for value in values:
                current = getattr(getattr(judge, "config", None), name, None)
                if value == current:  # the main run already is this point
                    points.append(_point(value, metrics, tokens))
                    continue
                try:
                    with configured(judge, **{name: value}) as variant:
                        run = _run(variant, pairs, plan, chunk_size, progress, f"{name}={value}")
                except CurvesUnsupported as err:
                    result.notes.append(f"curves skipped: {err}")
                    return result
                except ValueError as err:
                    raise ValueError(f"{name} curve, value {value}: {err}") from err
                points.append(_point(value, score_pairs(pairs, run[0], orders), run[1]))
            if points:
                result.curves[name] = points
    return result
