"""The judge protocol: what tournaments, the reward, the labeler and the evaluator call.

A *pairwise judge* is any object with ``compare(matches) -> list[Verdict]``; a *listwise
judge* also has ``rank(matches) -> list[Ranking | None]``. So a user can plug in a rule,
an API client or a model::

    class ShorterIsBetter:                  # a PairwiseJudge
        def compare(self, matches):
            return [Verdict(winner=int(len(m.responses[1]) < len(m.responses[0]))) for m in matches]

``Verdict.winner`` is 0 when ``match.responses[0]`` won, 1 for the second, None otherwise;
``tie=True`` marks a real tie, so ``winner is None and not tie`` is a failure, counted and
never turned into a score.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from ..types import Match, Ranking, Verdict


@runtime_checkable
class PairwiseJudge(Protocol):
    def compare(self, matches: Sequence[Match]) -> list[Verdict]: ...


@runtime_checkable
class ListwiseJudge(Protocol):
    def rank(self, matches: Sequence[Match]) -> list[Ranking | None]: ...


Judge = PairwiseJudge | ListwiseJudge


def check_judge(judge: object, *, listwise: bool = False) -> None:
    """Raises a TypeError naming the judge when it lacks the method the caller needs.

    Raises:
        TypeError: ``judge`` has no ``rank`` (``listwise``) or neither ``compare`` nor ``rank``.
    """
    if listwise and not isinstance(judge, ListwiseJudge):
        raise TypeError(f"judge={judge!r:.80} has no rank(): a listwise tournament needs a ListwiseJudge")
    if not isinstance(judge, (PairwiseJudge, ListwiseJudge)):
        raise TypeError(f"judge={judge!r:.80} has neither compare() nor rank()")
