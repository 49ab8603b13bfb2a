"""Turning single judgments into one result: majority votes, both orders, soft verdicts,
pointwise grades, listwise rankings. Pure Python, no model.

A match's judgments come in one list per presentation order, each vote already in match
orientation (0 = ``responses[0]`` won). Each order's majority is its result; two decisive
orders that disagree make a tie, as does an even split of votes. With probabilities
(``likelihood`` / ``direct`` verdicts) the mean p(first better) decides instead.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from ..formats import ListwiseFormat, PairwiseFormat
from ..types import Grade, Ranking, Verdict
from .requests import Generation

_TIE = "tie"


def _majority(votes: Sequence[int | None]) -> int | str | None:
    counts = Counter(v for v in votes if v is not None)
    if not counts:
        return None
    if counts[0] == counts[1]:
        return _TIE
    return 0 if counts[0] > counts[1] else 1


def combine_votes(
    votes_by_order: Sequence[Sequence[int | None]],
    raws_by_order: Sequence[Sequence[str]],
    tokens: int,
    forced: int,
    probabilities: Sequence[tuple[bool, float]] | None = None,
    cut: int = 0,
) -> Verdict:
    """Turns the judgments of one match into a Verdict (``cut``: responses cut to fit).

    ``votes_by_order`` holds one list per presentation order, each vote already in match
    orientation. Each order's majority is its result; two decisive orders that disagree
    make a tie, as does an even split of votes.

    ``probabilities`` (soft verdicts): one ``(swapped, p)`` per order, ``p`` the mean
    probability that ``responses[0]`` is better in that order. Then ``p_first`` is their
    mean, ``(p_ab + (1 - p_ba)) / 2`` with both orders, and decides the winner
    (exactly 0.5 is a tie); the parsed votes stay in ``votes`` for the record.
    """
    if probabilities:
        return _soft_verdict(votes_by_order, raws_by_order, tokens, forced, probabilities, cut)
    results = [_majority(votes) for votes in votes_by_order]
    valid = [r for r in results if r is not None]
    votes = tuple(v for order in votes_by_order for v in order)
    raw = tuple(t for order in raws_by_order for t in order)
    winner: int | None = None
    tie = False
    if valid:
        if _TIE in valid or len(set(valid)) > 1:
            tie = True
        else:
            winner = valid[0]
    order_agreement = None
    if len(results) == 2 and all(r in (0, 1) for r in results):
        order_agreement = results[0] == results[1]
    counted = [v for v in votes if v is not None]
    share = counted.count(winner) / len(counted) if winner is not None else None
    decisive = next((t for v, t in zip(votes, raw) if winner is not None and v == winner), raw[0] if raw else None)
    return Verdict(
        winner=winner,
        votes=votes,
        rationale=decisive,
        raw=raw,
        tokens=tokens,
        tie=tie,
        share=share,
        order_agreement=order_agreement,
        forced=forced,
        cut=cut,
    )


def _soft_verdict(
    votes_by_order: Sequence[Sequence[int | None]],
    raws_by_order: Sequence[Sequence[str]],
    tokens: int,
    forced: int,
    probabilities: Sequence[tuple[bool, float]],
    cut: int,
) -> Verdict:
    p_first = sum(p for _, p in probabilities) / len(probabilities)
    winner = None if p_first == 0.5 else int(p_first < 0.5)
    order_agreement = position_bias = None
    if len(probabilities) == 2 and probabilities[0][0] != probabilities[1][0]:
        sides = [None if p == 0.5 else p > 0.5 for _, p in probabilities]
        order_agreement = None if None in sides else sides[0] == sides[1]
        # probability given to whichever response was shown first, averaged over orders
        shown_first = [1 - p if swapped else p for swapped, p in probabilities]
        position_bias = sum(shown_first) / 2 - 0.5
    raw = tuple(t for order in raws_by_order for t in order)
    return Verdict(
        winner=winner,
        votes=tuple(v for order in votes_by_order for v in order),
        rationale=raw[0] if raw else None,
        raw=raw,
        tokens=tokens,
        tie=winner is None,
        share=None if winner is None else max(p_first, 1 - p_first),
        order_agreement=order_agreement,
        forced=forced,
        p_first=p_first,
        position_bias=position_bias,
        cut=cut,
    )


def unanimous(fmt: PairwiseFormat, generations: Sequence[Generation]) -> bool:
    votes = {fmt.parse(g.text) for g in generations}
    return len(votes) == 1 and None not in votes


def merge_rankings(fmt: ListwiseFormat, perm: list[int], gens: list[Generation]) -> Ranking | None:
    k = len(perm)
    parsed = [(g, fmt.parse(g.text, k)) for g in gens]
    valid = [(g, r) for g, r in parsed if r is not None]
    tokens = sum(g.tokens for g in gens)
    if not valid:
        return None
    # shown position j holds response perm[j]
    positions = [[0.0] * k for _ in valid]
    for v, (_, ranking) in enumerate(valid):
        for place, shown in enumerate(ranking.order):
            positions[v][perm[shown]] = place
    mean_pos = [sum(p[i] for p in positions) / len(valid) for i in range(k)]
    scores = None
    if all(r.scores is not None for _, r in valid):
        scores = tuple(sum(r.scores[perm.index(i)] for _, r in valid) / len(valid) for i in range(k))
    key = (lambda i: (-scores[i], mean_pos[i])) if scores else (lambda i: mean_pos[i])
    return Ranking(
        order=tuple(sorted(range(k), key=key)),
        scores=scores,
        rationale=valid[0][1].rationale,
        raw=tuple(g.text for g in gens),
        tokens=tokens,
        votes=len(valid),
    )


def softmax(logps: Sequence[float]) -> list[float]:
    """Probabilities from log-probabilities (the labels' share of the mass they hold)."""
    top = max(logps)
    weights = [math.exp(value - top) for value in logps]
    total = sum(weights)
    return [w / total for w in weights]


def merge_grade(
    votes: Sequence[float | None],
    raw: Sequence[str],
    tokens: int,
    forced: int,
    cut: int = 0,
    expected: Sequence[float] | None = None,
) -> Grade:
    """One response's judgments as a Grade: ``votes`` are the normalised parsed values
    (None = unparseable); ``expected`` (soft verdicts) the per-sample expected values,
    which decide when given. The value is the mean of the valid ones; None without any."""
    source = list(expected) if expected is not None else [v for v in votes if v is not None]
    rationale = next((t for v, t in zip(votes, raw) if v is not None), raw[0] if raw else None)
    return Grade(
        value=sum(source) / len(source) if source else None,
        votes=tuple(votes),
        rationale=rationale or None,
        raw=tuple(raw),
        tokens=tokens,
        forced=forced,
        soft=expected is not None,
        cut=cut,
    )


def graded_verdict(first: Grade, second: Grade) -> Verdict:
    """A pairwise verdict from two pointwise grades: the higher value wins, equal values
    tie, a failed grade fails the match. With soft grades ``p_first = 0.5 + (v1 - v2) / 2``,
    so the match's margin ``|2 p_first - 1|`` is the difference of the two values (the
    noise floor means the same for both kinds)."""
    raw = first.raw + second.raw
    common = {"raw": raw, "tokens": first.tokens + second.tokens, "forced": first.forced + second.forced,
              "cut": first.cut + second.cut}
    if first.failed or second.failed:
        return Verdict(winner=None, votes=(None,), rationale=raw[0] if raw else None,
                       over_context=first.over_context or second.over_context, **common)  # fmt: skip
    diff = first.value - second.value
    winner = None if diff == 0 else int(diff < 0)
    rationale = f"[first response]\n{first.rationale or ''}\n\n[second response]\n{second.rationale or ''}"
    return Verdict(
        winner=winner,
        votes=() if winner is None else (winner,),
        rationale=rationale,
        tie=winner is None,
        share=None if winner is None else 1.0,
        p_first=0.5 + diff / 2 if first.soft or second.soft else None,
        **common,
    )
