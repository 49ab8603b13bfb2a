"""Turning single judgments into one result: majority votes, both orders, soft verdicts,
listwise rankings. Pure Python, no model.

A match's judgments come in one list per presentation order, each vote already in match
orientation (0 = ``responses[0]`` won). Each order's majority is its result; two decisive
orders that disagree make a tie, as does an even split of votes. With probabilities
(``likelihood`` / ``direct`` verdicts) the mean p(first better) decides instead.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from ..formats import ListwiseFormat, PairwiseFormat
from ..types import Ranking, Verdict
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
