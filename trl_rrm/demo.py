"""The main job on the embedded default: judge real pairs with a real judge, report.

``trl-rrm demo`` loads a judge (by default SmolLM2-135M-Instruct, obtained offline from
PyPI by ``trl_rrm.embedded``), takes verifiable arithmetic preference pairs (the set
``builtin:arithmetic``: a toy task of the checkout, ``trl_rrm.inputs.builtin_rows``),
judges them in each pairwise format and verdict mode (``forced``: write an analysis,
force a verdict where none came; ``direct``: read p(first better) from the verdict
tokens, no analysis) with both presentation orders in ONE ``compare`` call each, and
prints parse rate, accuracy, order agreement, position bias and throughput as JSON.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from .inputs import builtin_rows
from .judges.hf import HFJudge
from .types import Match, Verdict

logger = logging.getLogger(__name__)


def summarize(verdicts: Sequence[Verdict], seconds: float) -> dict[str, Any]:
    """Judge quality and speed over matches whose first response is the right one.

    A failed match counts as wrong for accuracy and is reported on its own.
    """
    judgments = [v for verdict in verdicts for v in verdict.votes]
    agreements = [v.order_agreement for v in verdicts if v.order_agreement is not None]
    soft = [v.p_first for v in verdicts if v.p_first is not None]
    biases = [v.position_bias for v in verdicts if v.position_bias is not None]
    tokens = sum(v.tokens for v in verdicts)
    n = len(verdicts)
    return {
        "matches": n,
        "judgments": len(judgments),
        "parse_rate": sum(j is not None for j in judgments) / len(judgments) if judgments else None,
        "accuracy": sum(v.winner == 0 for v in verdicts) / n if n else None,
        "ties": sum(v.tie for v in verdicts),
        "failures": sum(v.failed for v in verdicts),
        "order_agreement": sum(agreements) / len(agreements) if agreements else None,
        "forced_answers": sum(v.forced for v in verdicts),
        "mean_p_right": round(sum(soft) / len(soft), 4) if soft else None,
        "position_bias": round(sum(biases) / len(biases), 4) if biases else None,
        "judge_tokens": tokens,
        "seconds": round(seconds, 3),
        "matches_per_second": round(n / seconds, 3) if seconds else None,
        "tokens_per_second": round(tokens / seconds, 1) if seconds else None,
    }


def run_demo(
    model: str | None = None,
    *,
    adapter: str | None = None,
    formats: Sequence[str] = ("rrm", "rm_r1", "rm_r1_distilled"),
    verdicts: Sequence[str] = ("forced", "direct"),
    pairs: int = 32,
    max_new_tokens: int = 96,
    batch_size: int = 32,
    seed: int = 0,
) -> dict[str, Any]:
    """Judges ``pairs`` arithmetic pairs in every format; returns the summary per format.

    Args:
        model: judge model id or path; None uses the embedded SmolLM2-135M-Instruct.
        adapter: optional LoRA adapter for the judge.
        formats: pairwise formats to run.
        verdicts: verdict modes to run (``generate``, ``forced``, ``likelihood``, ``direct``).
        pairs: number of preference pairs.
        max_new_tokens: thinking budget per judgment.
        batch_size: sequences generated together.
        seed: seeds the pairs and the judge's sampling.

    Raises:
        InputError: the library is installed without its checkout (no built-in sets), or
            ``pairs`` < 1; raised before any model loads.
    """
    data = builtin_rows("builtin:arithmetic", pairs, seed=seed)
    matches = [Match(row["prompt"], (row["chosen"], row["rejected"])) for row in data]
    if model is None:
        from .embedded import smollm2_path

        model = str(smollm2_path())
    loaded = HFJudge(model, adapter=adapter, batch_size=batch_size).load()
    report: dict[str, Any] = {"model": model, "adapter": adapter, "pairs": pairs, "max_new_tokens": max_new_tokens}
    report["results"] = []
    for fmt in formats:
        for mode in verdicts:
            judge = HFJudge.from_model(
                loaded.model,
                loaded.tokenizer,
                format=fmt,
                verdict=mode,
                both_orders=True,
                max_new_tokens=max_new_tokens,
                batch_size=batch_size,
                seed=seed,
            )
            start = time.perf_counter()
            results = judge.compare(matches)
            row = {"format": fmt, "verdict": mode, **summarize(results, time.perf_counter() - start)}
            row["example_rationale"] = (results[0].rationale or "")[:400]
            report["results"].append(row)
            logger.info("%s/%s: %s", fmt, mode, row)
    return report
