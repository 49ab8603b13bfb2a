"""What the evaluators share: judging in chunks under a progress bar, tournaments over
candidate lists, judge variants for the scaling curves, and a short description of the
judge for reports."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from ..judges.protocol import Judge

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


class CurvesUnsupported(Exception):
    """The judge cannot be re-run with another ``num_votes`` / ``max_new_tokens``."""


@contextmanager
def configured(judge: Judge, **changes: Any) -> Iterator[Any]:
    """The judge with some judging settings changed, for the duration of the block.

    A judge that has ``with_config(**changes)`` (the hook for your own judges) gets it
    called and the returned judge is used. Otherwise a dataclass ``judge.config`` holding
    the fields (``GenerativeJudge`` / ``HFJudge``) is swapped for
    ``dataclasses.replace(config, **changes)`` (so it is validated) and put back on exit.

    Raises:
        CurvesUnsupported: the judge has neither.
        ValueError: the new settings are invalid (e.g. ``num_votes > 1`` with greedy decoding).
    """
    hook = getattr(judge, "with_config", None)
    if callable(hook):
        yield hook(**changes)
        return
    config = getattr(judge, "config", None)
    if config is None or not dataclasses.is_dataclass(config) or not all(hasattr(config, k) for k in changes):
        raise CurvesUnsupported(
            f"{type(judge).__name__} has no dataclass 'config' with {sorted(changes)} and no with_config(**changes) "
            "method, so the curves cannot vary them"
        )
    judge.config = dataclasses.replace(config, **changes)
    try:
        yield judge
    finally:
        judge.config = config


def judged_in_chunks(
    call: Callable[[list[T]], Sequence[R]],
    items: Sequence[T],
    chunk_size: int,
    *,
    progress: bool,
    desc: str,
    unit: str = "match",
) -> list[R]:
    """``call`` on ``items`` in chunks of ``chunk_size`` (one judge call each), results in order.

    Raises:
        ValueError: a bad ``chunk_size``, or a call returning the wrong number of results.
    """
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"chunk_size={chunk_size!r} must be a positive integer")
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(items), desc=desc, unit=unit)
    out: list[R] = []
    try:
        for start in range(0, len(items), chunk_size):
            chunk = list(items[start : start + chunk_size])
            results = list(call(chunk))
            if len(results) != len(chunk):
                raise ValueError(f"the judge returned {len(results)} results for {len(chunk)} inputs ({desc})")
            out.extend(results)
            if bar is not None:
                bar.update(len(chunk))
    finally:
        if bar is not None:
            bar.close()
    return out


def play_tournaments(
    judge: Judge,
    examples: Sequence[Any],
    tournament: Any,
    *,
    seed: int,
    chunk_size: int,
    progress: bool,
    desc: str,
) -> tuple[list[tuple[list[float | None], Any]], Any]:
    """``tournament`` on every candidate list (``prompt``, ``candidates``, ``principle``),
    ``chunk_size`` lists per run (each round of a run is one judge call), seeded per chunk.

    Returns:
        ``(per list: (scores, ranking or None), JudgeStats over all runs)``.
    """
    from ..driver import Group, JudgeStats, run_tournament

    stats = JudgeStats()

    def run_chunk(starts: list[int]) -> list[list[tuple[list[float | None], Any]]]:
        out = []
        for start in starts:
            chunk = examples[start : start + chunk_size]
            outcome = run_tournament([Group(x.prompt, x.candidates, x.principle) for x in chunk], judge, tournament,
                                     seed=seed + start)
            stats.merge(outcome.stats)
            out.append(list(zip(outcome.scores, outcome.rankings or [None] * len(chunk))))
        return out

    starts = list(range(0, len(examples), chunk_size))
    per_chunk = judged_in_chunks(run_chunk, starts, 1, progress=progress, desc=desc, unit="chunk")
    return [result for chunk in per_chunk for result in chunk], stats
