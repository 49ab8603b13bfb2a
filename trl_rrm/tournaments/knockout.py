"""Single-elimination (knockout) tournament: n - 1 matches, ceil(log2 n) rounds."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from ..types import Verdict
from .base import GroupwiseSchedule, Pairing, Schedule, Tournament, group_rng
from .validation import validate_seed, validate_sizes


def knockout_rounds(n: int) -> int:
    """Rounds a knockout of ``n`` players needs: ceil(log2 n) (0 for n < 2)."""
    return math.ceil(math.log2(n)) if n >= 2 else 0


class _Bracket:
    """One group's bracket: who is still in, and what each player has earned."""

    def __init__(self, n: int, rng: random.Random) -> None:
        self.rng = rng
        self.rounds = knockout_rounds(n)
        self.alive = list(range(n))
        rng.shuffle(self.alive)  # the seeded random bracket
        self.advanced = [0] * n  # rounds won or passed with a bye
        self.tied = [False] * n  # eliminated by a tie: half a round more
        self.valid = [False] * n  # has at least one win, loss or tie
        self.byes = [0] * n
        # The current round in bracket order: ("bye", player) or ("match", first, second).
        self.slots: list[tuple] = []

    def plan(self) -> list[tuple[int, int]]:
        """Byes and matches of the next round; [] once one player (or none) is left."""
        self.slots = []
        if len(self.alive) < 2:
            return []
        players = list(self.alive)
        if len(players) % 2:
            # One random bye; among those who had the fewest byes so far, so nobody gets
            # a second free round while another player has not had one.
            fewest = min(self.byes[p] for p in players)
            bye = self.rng.choice([p for p in players if self.byes[p] == fewest])
            self.byes[bye] += 1
            self.advanced[bye] += 1
        else:
            bye = None
        rest = [p for p in players if p != bye]
        # Bracket neighbours meet; each match keeps the bracket position of its upper
        # player, so winners meet the winners next to them in the next round.
        matches = {a: (a, b) for a, b in zip(rest[0::2], rest[1::2])}
        for player in players:
            if player == bye:
                self.slots.append(("bye", player))
            elif player in matches:
                a, b = matches[player]
                # Random presentation order: the upper bracket half would otherwise be
                # shown first in every one of its matches (bad with a position bias).
                self.slots.append(("match", a, b) if self.rng.random() < 0.5 else ("match", b, a))
        return [slot[1:] for slot in self.slots if slot[0] == "match"]

    def apply(self, verdicts: Sequence[Verdict]) -> None:
        """Advances winners (and byes) in bracket order; ties and failures drop both."""
        outcomes = iter(verdicts)
        alive = []
        for slot in self.slots:
            if slot[0] == "bye":
                alive.append(slot[1])
                continue
            _, first, second = slot
            verdict = next(outcomes)
            if verdict.winner is not None:
                winner = first if verdict.winner == 0 else second
                self.advanced[winner] += 1
                self.valid[first] = self.valid[second] = True
                alive.append(winner)
            elif verdict.tie:
                # A real draw, but a knockout needs one winner: both go out, each with
                # half of this round.
                self.tied[first] = self.tied[second] = True
                self.valid[first] = self.valid[second] = True
            # A failed match: both go out with what they had; nothing is invented.
        self.alive = alive
        self.slots = []

    def scores(self) -> list[float | None]:
        return [
            (self.advanced[p] + 0.5 * self.tied[p]) / self.rounds if self.valid[p] else None
            for p in range(len(self.valid))
        ]


class KnockoutSchedule(GroupwiseSchedule):
    """The rounds of a knockout over all groups; groups that finish early drop out."""

    def __init__(self, sizes: Sequence[int], seed: int) -> None:
        super().__init__(sizes, seed)
        self.groups = [_Bracket(n, group_rng(self.seed, g, "knockout")) for g, n in enumerate(self.sizes)]

    def _apply_group(self, group: int, pairings: list[Pairing], verdicts: list[Verdict]) -> None:
        self.groups[group].apply(verdicts)

    def _score(self) -> list[list[float | None]]:
        return [bracket.scores() for bracket in self.groups]


@dataclass(frozen=True)
class KnockoutTournament(Tournament):
    """Single elimination in a seeded random bracket (one bracket per group).

    Each ``next_round`` is one round of every group still playing. A round with an odd
    number of players gives one random player a bye (it advances without a match); the
    winners meet their bracket neighbours next. Without failures or ties a group of n
    plays exactly n - 1 matches over ceil(log2 n) rounds: the cheapest pairwise strategy.

    Reward: rounds advanced (wins and byes) / ceil(log2 n), so the champion gets 1.0, the
    loser of the final ``(R - 1) / R`` and first-round losers 0.0 (R = ceil(log2 n)).
    A tie eliminates both players, each credited half of that round:
    ``(advanced + 0.5) / R``. A failed match eliminates both, each keeping the rounds
    already advanced; a player without any valid result (only byes and failed matches)
    scores None, and so does a player whose opponents all failed before it ever played
    (nothing is invented: a lone survivor is not credited with unplayed rounds).
    Groups of 0 or 1 completions: nothing to compare, None. A group of 2: one match.
    Soft verdicts go by ``winner`` too: the response with the higher ``p_first`` advances
    and exactly 0.5 is a tie; the probability itself does not change the reward.
    """

    name: ClassVar[str] = "knockout"

    def schedule(self, sizes: Sequence[int], seed: int = 0) -> Schedule:
        return KnockoutSchedule(validate_sizes(sizes), validate_seed(seed))
