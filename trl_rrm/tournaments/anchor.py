"""Anchor: every completion against one reference response; reward = points against it."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

from .base import OneRoundTournament, Pairing, Result, group_rng
from .validation import validate_choice, validate_flag

ANCHORS = ("random", "first", "reference")


def anchor_pairs(n: int, anchor: int, rng: random.Random) -> list[tuple[int, int]]:
    """``(first, second)`` pairs of every other player of ``range(n)`` with ``anchor``.

    The others come in a seeded random order and the anchor's side alternates along it
    (which side it starts on is seeded too): the anchor is shown first in half the
    matches (to within one), and which players face it from which side is random, so a
    position bias of the judge favours no player systematically.
    """
    others = [i for i in range(n) if i != anchor]
    rng.shuffle(others)
    start = rng.random() < 0.5
    return [(anchor, i) if (j % 2 == 0) == start else (i, anchor) for j, i in enumerate(others)]


def anchor_points(n: int, anchor: int, results: Sequence[Result]) -> list[float | None]:
    """Mean points of each player against ``anchor`` (1 win, 0.5 tie, 0 loss, or p).

    The anchor itself gets 0.5 when it has any valid result; a player without a valid
    result against the anchor gets None.
    """
    points, played = [0.0] * n, [0] * n
    for first, second, score in results:
        if anchor not in (first, second):
            continue
        player, score = (second, 1.0 - score) if first == anchor else (first, score)
        points[player] += score
        played[player] += 1
        played[anchor] += 1
    out: list[float | None] = [points[i] / played[i] if played[i] else None for i in range(n)]
    if n and played[anchor]:
        out[anchor] = 0.5
    return out


@dataclass(frozen=True)
class AnchorTournament(OneRoundTournament):
    """Every completion against one anchor response; one round, n - 1 matches.

    ``anchor`` picks the anchor of each group:

    - ``"random"`` (default): a seeded random member of the group;
    - ``"first"``: member 0 (e.g. a greedy or reference-policy sample put first);
    - ``"reference"``: NOT a member but one extra response the caller supplies (a dataset
      column such as a reference answer). Contract: the schedule is built on sizes that
      COUNT the reference, as the LAST member of each group (a group of m completions
      plus its reference has size m + 1, and pairings name the reference as index m);
      ``scores()`` returns the m members' rewards only, the reference's slot removed.
      Every group must then have size >= 1. ``needs_reference`` is True, and the driver
      (``run_tournament``) appends ``Group.reference`` for it.

    So a group of n plays n - 1 matches with a member anchor, and m matches for m
    members with a reference. The anchor is shown first in half of its matches, the
    members in a seeded random order (``anchor_pairs``).

    Reward: points against the anchor, 1 for a win, 0.5 for a tie, 0 for a loss; with
    ``soft`` (default) a verdict with ``p_first`` gives ``p_first`` points to ``first``
    (so p(member better than the anchor)); ``soft=False`` counts only ``winner``/``tie``.
    A member anchor gets 0.5 (it ties itself) when any of its matches is valid. A failed
    match is missing: that member scores None. Rewards are coarse (win, tie or loss
    against one response) and only as informative as the anchor is close to the members;
    the cheapest way to give every member a reward.

    Raises:
        ValueError: ``anchor`` not one of "random", "first", "reference"; ``soft`` not a
            bool; with "reference", a group size of 0 (no slot for the reference).
    """

    name: ClassVar[str] = "anchor"

    anchor: Literal["random", "first", "reference"] = "random"
    soft: bool = True

    def __post_init__(self) -> None:
        validate_choice("anchor", self.anchor, ANCHORS)
        validate_flag("soft", self.soft)

    @property
    def needs_reference(self) -> bool:  # type: ignore[override]
        """True for ``anchor="reference"``: each group's last member is the caller's reference."""
        return self.anchor == "reference"

    def pairings(self, sizes: list[int], seed: int) -> list[Pairing]:
        anchors = [self._anchor(seed, g, n) for g, n in enumerate(sizes)]  # all checked before any pairing
        return [
            Pairing(g, first, second)
            for g, n in enumerate(sizes)
            for first, second in anchor_pairs(n, anchors[g], group_rng(seed, g, "anchor-slots"))
        ]

    def score_group(self, seed: int, group: int, size: int, results: list[Result]) -> list[float | None]:
        scores = anchor_points(size, self._anchor(seed, group, size), results)
        return scores[:-1] if self.anchor == "reference" else scores

    def _anchor(self, seed: int, group: int, size: int) -> int:
        """The anchor of group ``group``: its last member (the reference), a seeded random
        member, or member 0."""
        if self.anchor == "reference":
            if size < 1:
                raise ValueError(
                    f"sizes[{group}]={size}: anchor='reference' needs the reference as the last member of "
                    "each group (size = completions + 1 >= 1)"
                )
            return size - 1
        return group_rng(seed, group, "anchor").randrange(size) if self.anchor == "random" and size else 0
