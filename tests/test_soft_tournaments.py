"""Tournaments take soft verdicts (``Verdict.p_first``) as fractional results."""

from __future__ import annotations

import math

import pytest

from trl_rrm.tournaments import get_tournament, play
from trl_rrm.types import Verdict

# p(first better) for each unordered pair of a 3-player group, keyed (low, high) index
P = {(0, 1): 0.8, (0, 2): 0.3, (1, 2): 0.6}


def soft(p: float) -> Verdict:
    return Verdict(winner=None if p == 0.5 else int(p < 0.5), tie=p == 0.5, p_first=p)


def compare(pairings):
    out = []
    for pairing in pairings:
        a, b = pairing.first, pairing.second
        p = P[(a, b)] if a < b else 1 - P[(b, a)]
        out.append(soft(p))
    return out


def test_round_robin_expected_wins():
    scores = play(get_tournament("round_robin"), [3], compare, seed=1).scores()[0]
    # 0: 0.8 + 0.3 = 1.1 of 2; 1: 0.2 + 0.6 = 0.8; 2: 0.7 + 0.4 = 1.1
    assert scores == pytest.approx([0.55, 0.4, 0.55])


def test_elo_fractional_update():
    schedule = play(get_tournament("elo", passes=1), [2], lambda ps: [soft(0.75 if p.first == 0 else 0.25) for p in ps])
    # one match, player 0 scores 0.75: delta = 4 * (0.75 - 0.5) = 1 -> 1001 / 999
    assert schedule.scores()[0] == pytest.approx([0.505, 0.495])


def test_bradley_terry_fractional_wins():
    scores = play(
        get_tournament("bradley_terry"), [2], lambda ps: [soft(0.75 if p.first == 0 else 0.25) for p in ps]
    ).scores()[0]
    # 2 players + reference of strength 1, each with one virtual tie against it.
    # wins: s0 gets 0.75 + 0.5, s1 gets 0.25 + 0.5; by symmetry s1 = 1 / s0, and the ML
    # equation for s0: 1.25 = s0/(s0 + s1) + s0/(s0 + 1)
    s0 = _solve(lambda s: s / (s + 1 / s) + s / (s + 1) - 1.25)
    expected = s0 / (s0 + 1 / s0)
    assert scores == pytest.approx([expected, 1 - expected], abs=1e-6)
    assert scores[0] > 0.5


def test_knockout_advances_the_more_probable():
    schedule = play(get_tournament("knockout"), [2], lambda ps: [soft(0.7) for _ in ps])
    (pairing, verdict), = schedule.results()
    scores = schedule.scores()[0]
    assert scores[pairing.first] == 1.0 and scores[pairing.second] == 0.0
    tie = play(get_tournament("knockout"), [2], lambda ps: [soft(0.5) for _ in ps]).scores()[0]
    assert tie == [0.5, 0.5]


def test_failed_soft_judge_is_still_missing():
    scores = play(get_tournament("round_robin"), [3], lambda ps: [Verdict(winner=None) for _ in ps]).scores()[0]
    assert scores == [None, None, None]


def _solve(f, lo=1e-6, hi=1e6):
    for _ in range(200):
        mid = math.sqrt(lo * hi)
        if f(mid) > 0:
            hi = mid
        else:
            lo = mid
    return math.sqrt(lo * hi)
