"""Tournaments: which completions of a group are judged against which, and the rewards.

A tournament never calls a judge. ``tournament.schedule(sizes, seed)`` gives a
``Schedule``; the caller asks it for each round's pairings of ALL groups, judges them in
one batched call, and records the verdicts (``play`` does this loop for a ``compare``
callable). ``schedule.scores()`` then holds one reward per completion, None for a
completion without any valid result (failed verdicts are missing matches, never losses).

Soft verdicts: a Verdict with ``p_first`` (the judge's probability that ``first`` is
better) counts as ``p_first`` points for ``first`` and ``1 - p_first`` for ``second``
(``outcome``, as ``Verdict.score``) in round-robin, ELO and Bradley-Terry; their option
``soft=False`` ignores ``p_first`` (a win is 1, a tie 0.5). Knockout advances the more
probable response (``winner``), and exactly 0.5 is a tie.

Strategies (``get_tournament(name, **options)``):
- ``knockout``: n - 1 matches, ceil(log2 n) rounds; reward = rounds advanced / rounds.
- ``elo``: one round (round robin or ``opponents=k``); reward = (elo - 1000) / 200 + 0.5,
  the update's actual score S = p_first for soft verdicts (``soft=True``).
- ``round_robin``: all pairs, one round; reward = (wins + ties / 2) / valid matches, with
  soft verdicts the expected wins sum(p_first) / valid matches (``soft=True``).
- ``bradley_terry``: one round; reward = expected win rate against the group's others,
  fitted with fractional wins p_first / 1 - p_first for soft verdicts (``soft=True``).
- ``listwise``: a marker (``is_listwise``); score ``judge.rank`` output with ``listwise_scores``.
"""

from .base import Pairing, Result, Schedule, Tournament, outcome, play
from .bradley_terry import BradleyTerryTournament, bradley_terry_strengths, expected_win_rates
from .elo import EloTournament, elo_ratings, elo_reward
from .knockout import KnockoutTournament, knockout_rounds
from .listwise import ListwiseTournament, listwise_scores
from .registry import TOURNAMENTS, get_tournament
from .round_robin import RoundRobinTournament, win_rates

__all__ = [
    "TOURNAMENTS",
    "BradleyTerryTournament",
    "EloTournament",
    "KnockoutTournament",
    "ListwiseTournament",
    "Pairing",
    "Result",
    "RoundRobinTournament",
    "Schedule",
    "Tournament",
    "bradley_terry_strengths",
    "elo_ratings",
    "elo_reward",
    "expected_win_rates",
    "get_tournament",
    "knockout_rounds",
    "listwise_scores",
    "outcome",
    "play",
    "win_rates",
]
