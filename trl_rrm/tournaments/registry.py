"""Tournaments by name, for configs and flags (``tournament="elo"``)."""

from __future__ import annotations

import dataclasses
from typing import Any

from .adaptive import AdaptiveTournament
from .anchor import AnchorTournament
from .base import Tournament
from .bradley_terry import BradleyTerryTournament
from .circular import CircularTournament
from .elo import EloTournament
from .knockout import KnockoutTournament
from .listwise import ListwiseTournament
from .pointwise import PointwiseTournament
from .round_robin import RoundRobinTournament
from .swiss import SwissTournament

TOURNAMENTS: dict[str, type[Tournament]] = {
    cls.name: cls
    for cls in (
        KnockoutTournament,
        EloTournament,
        RoundRobinTournament,
        BradleyTerryTournament,
        SwissTournament,
        CircularTournament,
        AdaptiveTournament,
        AnchorTournament,
        ListwiseTournament,
        PointwiseTournament,
    )
}


# The reward's tournament when none is named (RRMReward, grpo_rrm): every member ranked in
# one round at about 2n matches. The labeler keeps round robin (offline, every pair). A
# pointwise judge's default is "pointwise" everywhere: each completion judged once.
DEFAULT_TOURNAMENT = "circular"
DEFAULT_LABELING_TOURNAMENT = "round_robin"
# The tournaments a best-of-N evaluation compares when none are named (evaluate_best_of_n,
# trl-rrm eval --task best-of-n): the cheapest exact pick beside the most thorough one.
DEFAULT_EVALUATION_TOURNAMENTS = ("knockout", "round_robin")
POINTWISE_TOURNAMENT = "pointwise"


def choose_tournament(tournament: str | Tournament | None, *, pointwise: bool, default: str) -> Tournament:
    """``tournament`` as an object; None (not named) is ``POINTWISE_TOURNAMENT`` for a
    pointwise judge and ``default`` for any other.

    Raises:
        ValueError: an unknown name. TypeError: neither a name, a Tournament nor None.
    """
    if tournament is None:
        tournament = POINTWISE_TOURNAMENT if pointwise else default
    if isinstance(tournament, Tournament):
        return tournament
    if not isinstance(tournament, str):
        raise TypeError(f"tournament={tournament!r:.60} must be a name, a Tournament or None")
    return get_tournament(tournament)


def get_tournament(name: str, **kwargs: Any) -> Tournament:
    """The tournament registered as ``name``, built with ``kwargs`` (e.g. ``opponents=4``, ``k=3``).

    Raises:
        ValueError: an unknown name, an option the tournament does not have, or an
            invalid option value (the message names the field and the value).
    """
    cls = TOURNAMENTS.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ValueError(f"unknown tournament {name!r}; choose one of {sorted(TOURNAMENTS)}")
    allowed = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        raise ValueError(
            f"tournament {name!r} has no option(s) {unknown}; its options: {sorted(allowed) or 'none'}"
        )
    return cls(**kwargs)
