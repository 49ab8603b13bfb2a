"""The judge protocol: what tournaments, the reward, the labeler and the evaluator call.

A *pairwise judge* is any object with ``compare(matches) -> list[Verdict]``; a *listwise
judge* has ``rank(matches) -> list[Ranking | None]``; a *pointwise judge* has
``grade(matches) -> list[Grade]`` (one response per match, a value in [0, 1] or None). So
a user can plug in a rule, an API client or a model::

    class ShorterIsBetter:                  # a PairwiseJudge
        def compare(self, matches):
            return [Verdict(winner=int(len(m.responses[1]) < len(m.responses[0]))) for m in matches]

``Verdict.winner`` is 0 when ``match.responses[0]`` won, 1 for the second, None otherwise;
``tie=True`` marks a real tie, so ``winner is None and not tie`` is a failure, counted and
never turned into a score.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from ..types import Grade, Match, Ranking, Verdict, text_key


@runtime_checkable
class PairwiseJudge(Protocol):
    def compare(self, matches: Sequence[Match]) -> list[Verdict]: ...


@runtime_checkable
class ListwiseJudge(Protocol):
    def rank(self, matches: Sequence[Match]) -> list[Ranking | None]: ...


@runtime_checkable
class PointwiseJudge(Protocol):
    def grade(self, matches: Sequence[Match]) -> list[Grade]: ...


Judge = PairwiseJudge | ListwiseJudge | PointwiseJudge


def is_pointwise(judge: object) -> bool:
    """Whether ``judge`` judges one response at a time: it has ``grade``, and a format
    (a ``GenerativeJudge``) that is pointwise or no format at all (a judge of your own)."""
    from ..formats import PointwiseFormat

    if not isinstance(judge, PointwiseJudge):
        return False
    fmt = getattr(judge, "format", None)
    return fmt is None or isinstance(fmt, PointwiseFormat)


def check_judge(judge: object, *, listwise: bool = False, pointwise: bool = False) -> None:
    """Raises a TypeError naming the judge when it lacks the method the caller needs.

    Raises:
        TypeError: ``judge`` has no ``rank`` (``listwise``), is not pointwise
            (``pointwise``), or has none of ``compare``, ``rank``, ``grade``.
    """
    if listwise and not isinstance(judge, ListwiseJudge):
        raise TypeError(f"judge={judge!r:.80} has no rank(): a listwise tournament needs a ListwiseJudge")
    if pointwise and not is_pointwise(judge):
        raise TypeError(f"judge={judge!r:.80} is not pointwise: the pointwise tournament needs grade() "
                        "(format='pointwise' or 'pointwise_score')")  # fmt: skip
    if not isinstance(judge, (PairwiseJudge, ListwiseJudge, PointwiseJudge)):
        raise TypeError(f"judge={judge!r:.80} has none of compare(), rank(), grade()")


def compare_of(judge: Judge) -> Callable[[Sequence[Match]], list[Verdict]]:
    """What a pairwise tournament or evaluation calls: ``judge.compare``, or for a pointwise
    judge of your own that has only ``grade``, ``compare_by_grades`` with its ``grade``."""
    if isinstance(judge, PairwiseJudge):
        return judge.compare
    return lambda matches: compare_by_grades(judge.grade, matches)


def compare_by_grades(grade: Callable[[Sequence[Match]], list[Grade]], matches: Sequence[Match]) -> list[Verdict]:
    """Pairwise verdicts from a pointwise judge: every distinct response of the matches
    graded in one ``grade`` call, then compared (the higher wins, equal grades tie, a
    failed grade fails the match: ``votes.graded_verdict``). A grade read again in a later
    slot counts no tokens there (as the engine's cache counts a repeated request), so a
    response's tokens are counted once however many matches it is in."""
    from dataclasses import replace

    from .votes import graded_verdict

    index: dict[tuple[str, str, str | None], int] = {}
    shown: list[Match] = []
    where: list[list[int]] = []
    for match in matches:
        slots = []
        for response in match.responses:
            key = (text_key(match.prompt), text_key(response), match.principle)
            if key not in index:
                index[key] = len(shown)
                shown.append(Match(match.prompt, (response,), match.principle))
            slots.append(index[key])
        where.append(slots)
    grades = grade(shown)
    used: set[int] = set()

    def read(slot: int) -> Grade:
        again = slot in used
        used.add(slot)
        return replace(grades[slot], tokens=0, forced=0) if again else grades[slot]

    return [graded_verdict(read(first), read(second)) for first, second in where]
