"""Tournaments: which completions of a group are judged against which, and the rewards.

A tournament never calls a judge. ``tournament.schedule(sizes, seed)`` gives a
``Schedule``; the caller asks it for each round's pairings of ALL groups, judges them in
one batched call, and records the verdicts (``play`` does this loop for a ``compare``
callable). ``schedule.scores()`` then holds one reward per completion, None for a
completion without any valid result (failed verdicts are missing matches, never losses).

Soft verdicts: a Verdict with ``p_first`` (the judge's probability that ``first`` is
better) counts as ``p_first`` points for ``first`` and ``1 - p_first`` for ``second``
(``outcome``, as ``Verdict.score``) in round-robin, ELO, Bradley-Terry, Swiss, circular,
adaptive and anchor; their option ``soft=False`` ignores ``p_first`` (a win is 1, a tie 0.5).
Knockout advances the more probable response (``winner``), and exactly 0.5 is a tie.

Strategies (``get_tournament(name, **options)``), with the cost for a group of n:
matches per group, and sequential rounds (= batched judge calls per step).

| name          | matches per group              | rounds       | reward ranks       |
|---------------|--------------------------------|--------------|--------------------|
| knockout      | n - 1                          | ceil(log2 n) | winners only       |
| swiss         | ceil(log2 n) * (n // 2)        | ceil(log2 n) | everyone (BT fit)  |
| circular      | min(k n, n(n-1)/2); k = 2      | 1            | everyone (BT fit)  |
| adaptive      | <= min(2n, n(n-1)/2)           | <= 4         | everyone (BT fit)  |
| anchor        | n - 1 (m with a reference)     | 1            | everyone, coarsely |
| elo           | n(n-1)/2; <= k n (opponents=k) | 1            | everyone           |
| round_robin   | n(n-1)/2                       | 1            | everyone           |
| bradley_terry | n(n-1)/2; <= k n (opponents=k) | 1            | everyone (BT fit)  |
| listwise      | 1 rank call reading n          | 1            | everyone           |
| pointwise     | n grade judgments, one each    | 1            | everyone           |

- ``knockout``: reward = rounds advanced / rounds.
- ``elo``: one round (round robin or ``opponents=k``); reward = (elo - 1000) / 200 + 0.5,
  the update's actual score S = p_first for soft verdicts (``soft=True``).
- ``round_robin``: all pairs, one round; reward = (wins + ties / 2) / valid matches, with
  soft verdicts the expected wins sum(p_first) / valid matches (``soft=True``).
- ``bradley_terry``: one round; reward = expected win rate against the group's others,
  fitted with fractional wins p_first / 1 - p_first for soft verdicts (``soft=True``).
- ``swiss``: each round pairs similar standings that have not met (odd n: one bye per
  round); reward = the Bradley-Terry expected win rate fitted to all its results.
- ``circular`` (``k``): a seeded random ring, each member against its k next neighbours,
  each shown first k times; reward = the Bradley-Terry expected win rate.
- ``adaptive`` (``budget_factor=2``, ``rounds=4``, ``top_weight``): a seeded ring (n matches),
  then rounds on the unmet pairs of highest p(1 - p) under a Bradley-Terry fit of the
  verdicts so far, leaning toward the likely best; reward = the Bradley-Terry expected win rate.
- ``anchor`` (``anchor="random" | "first" | "reference"``): every member against one
  anchor; reward = points against it (the anchor member 0.5). With ``"reference"`` the
  anchor is an extra response the caller appends as the LAST member of each group
  (``needs_reference``); ``scores()`` leaves its slot out.
- ``listwise``: a marker (``is_listwise``); score ``judge.rank`` output with ``listwise_scores``.
- ``pointwise``: a marker (``is_pointwise``); each completion's reward is its ``judge.grade`` value.

GRPO normalises rewards over the whole group, so a reward should rank every member:
swiss (about n/2 log2 n matches: 12 at n = 8, 32 at n = 16) and circular (k n) do that
on a near-linear budget, where knockout orders only the winners and round robin costs
n(n-1)/2. docs/tournaments.md compares them all, measured.
"""

from .adaptive import AdaptiveTournament, adaptive_budget
from .anchor import AnchorTournament, anchor_pairs, anchor_points
from .base import Pairing, Result, Schedule, Tournament, outcome, play, win_rates
from .bradley_terry import (
    BradleyTerryTournament,
    bradley_terry_rewards,
    bradley_terry_strengths,
    expected_win_rates,
)
from .circular import CircularTournament, circular_matches, circular_pairs
from .elo import EloTournament, elo_ratings, elo_reward
from .knockout import KnockoutTournament, knockout_rounds
from .listwise import ListwiseTournament, listwise_scores
from .pointwise import PointwiseTournament
from .registry import TOURNAMENTS, get_tournament
from .round_robin import RoundRobinTournament
from .swiss import SwissTournament, swiss_rounds

__all__ = [
    "TOURNAMENTS",
    "AdaptiveTournament",
    "AnchorTournament",
    "BradleyTerryTournament",
    "CircularTournament",
    "EloTournament",
    "KnockoutTournament",
    "ListwiseTournament",
    "Pairing",
    "PointwiseTournament",
    "Result",
    "RoundRobinTournament",
    "Schedule",
    "SwissTournament",
    "Tournament",
    "adaptive_budget",
    "anchor_pairs",
    "anchor_points",
    "bradley_terry_rewards",
    "bradley_terry_strengths",
    "circular_matches",
    "circular_pairs",
    "elo_ratings",
    "elo_reward",
    "expected_win_rates",
    "get_tournament",
    "knockout_rounds",
    "listwise_scores",
    "outcome",
    "play",
    "swiss_rounds",
    "win_rates",
]
