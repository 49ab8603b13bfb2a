"""The noise floor: the smallest margin that counts as a judge's preference. Pure Python.

Declared once here and read by the reward (``RRMReward(min_margin=...)``) and the labeler
(``LabelingConfig.min_margin``): same name, same default, same meaning.

A *margin* is a difference in points, each side's points in [0, 1] (a win 1, a tie 0.5,
a loss 0, a soft verdict ``p_first`` / ``1 - p_first``):

- a match: points of the winner minus points of the loser, ``|2 p_first - 1|`` for a soft
  verdict (``p_first`` within ``min_margin / 2`` of 0.5 is below the floor), 1 for a hard
  win, 0 for a tie;
- a group of completions (``RRMReward``): the largest difference between two members'
  mean points per match (their round-robin win rates);
- a pair of candidates (the labeler): chosen score minus rejected score.

A margin under ``min_margin`` (or within ``TIE_TOLERANCE`` of 0) is noise: such a match
is an exact tie, such a group gets identical rewards, such a pair is dropped.

Default (``min_margin=None``): ``SOFT_MIN_MARGIN`` (0.1) when the judge gave soft
verdicts (``likelihood`` / ``direct``: probabilities carry noise of every size; an
untrained judge whose two orders cancel gives ``p_first = 0.5 +- 0.003``), 0 with hard
verdicts, whose noise floor is the tie itself (two orders that disagree, an even vote).

Where each applies: ``RRMReward`` hands the tournament driver one ``NoiseFloor``
(``run_tournament(floor=...)``), which applies it once, where verdicts become scores:
every match as it is recorded (before any tournament turns it into points, so knockout
and swiss pair on the same draw) and every group once the tournament is done; the
counts land in ``JudgeStats`` (``below_floor_rate``, ``flat_group_rate``). The labeler
floors the pairs it writes, on the tournament's scores as before (it floors no single
match, so the scores in its rows are unchanged). A soft verdict judged in both orders has
``p_first`` = the mean of the two, which cancels a constant position bias: its margin
decides, whether or not the two orders pointed the same way.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass, replace

from .tournaments.base import Pairing, valid_results, win_rates
from .types import Verdict

# The default minimum margin with soft verdicts: a preference the judge barely expresses
# is noise, for GRPO's per-group normalisation as much as for DPO pairs.
SOFT_MIN_MARGIN = 0.1
# Margins this close to 0 are exact ties whatever the floor (float sums of equal points).
TIE_TOLERANCE = 1e-12
# A flat group's reward is rounded to this grid: any float32 sum of up to 2**14 such
# equal values is exact, so TRL's group mean equals it to the bit (advantage exactly 0).
FLAT_GRID = 1024
# The option's one-line help, for every config that exposes ``min_margin``.
MIN_MARGIN_HELP = (
    f"noise floor: a score margin below this is no preference (RRMReward: a tie, and a group within it gets "
    f"identical rewards; labeler: the pair is dropped). None: {SOFT_MIN_MARGIN} with soft verdicts, 0 with hard ones"
)


def validate_min_margin(min_margin: float | None) -> None:
    """Checks ``min_margin``: None (the default) or a number >= 0.

    Raises:
        TypeError: not a number (a string such as ``"0.1"``, a bool), naming the option.
        ValueError: a negative number or NaN.
    """
    if min_margin is None:
        return
    if isinstance(min_margin, bool) or not isinstance(min_margin, numbers.Real):
        raise TypeError(f"min_margin={min_margin!r:.60} ({type(min_margin).__name__}) must be a number >= 0 "
                        "(or None: the default)")  # fmt: skip
    if not min_margin >= 0:
        raise ValueError(f"min_margin={min_margin!r} must be >= 0 (or None: the default)")


def resolve_min_margin(min_margin: float | None, soft: bool) -> float:
    """The floor in force: ``min_margin`` when given, else ``SOFT_MIN_MARGIN`` with soft
    verdicts and 0 with hard ones."""
    if min_margin is not None:
        return float(min_margin)
    return SOFT_MIN_MARGIN if soft else 0.0


def separated(margin: float, min_margin: float) -> bool:
    """Whether ``margin`` is a preference: above ``TIE_TOLERANCE`` and at least ``min_margin``
    (to within ``TIE_TOLERANCE``, so that p_first = 0.45 and 0.55 fall on the same side)."""
    return margin > TIE_TOLERANCE and margin >= min_margin - TIE_TOLERANCE


def uses_probabilities(results: Sequence[tuple[Pairing, Verdict]]) -> bool:
    """Whether the judge gave soft verdicts (``p_first``) in these results."""
    return any(verdict.p_first is not None for _, verdict in results)


def floor_verdict(verdict: Verdict, min_margin: float) -> Verdict:
    """``verdict``, or an exact tie when it is a soft verdict whose margin
    ``|2 p_first - 1|`` is below ``min_margin``.

    The whole verdict becomes the tie (``winner=None, tie=True, p_first=0.5``), not only
    its points: tournaments that go by ``winner`` (knockout, swiss pairings) and those
    that read ``p_first`` then see the same draw. The judge's evidence (votes, rationale,
    ``order_agreement``, ``position_bias``) is kept. Hard verdicts and failures are
    returned unchanged: their margin is 1 or 0 already.
    """
    p = verdict.p_first
    if p is None or verdict.failed or verdict.tie or separated(abs(2.0 * p - 1.0), min_margin):
        return verdict
    return replace(verdict, winner=None, tie=True, share=None, p_first=0.5)


def mean_points(
    results: Sequence[tuple[Pairing, Verdict]], sizes: Sequence[int], soft: bool = True
) -> list[list[float | None]]:
    """Each member's mean points per valid match, per group of ``sizes[g]`` members:
    ``win_rates`` of the ``valid_results``. None without a valid match."""
    return [win_rates(n, group) for n, group in zip(sizes, valid_results(results, len(sizes), soft))]


def group_margin(points: Sequence[float | None]) -> float | None:
    """Largest difference between two members' points; None with fewer than two."""
    valid = [p for p in points if p is not None]
    return max(valid) - min(valid) if len(valid) >= 2 else None


def flat_reward(rewards: Sequence[float | None]) -> float | None:
    """The one reward of a flat group: the mean of its rewards, rounded to 1 / ``FLAT_GRID``."""
    valid = [r for r in rewards if r is not None]
    return round(sum(valid) / len(valid) * FLAT_GRID) / FLAT_GRID if valid else None


def flatten(rewards: Sequence[float | None]) -> list[float | None]:
    """Every rewarded member gets ``flat_reward``; None stays None (a failure stays missing)."""
    value = flat_reward(rewards)
    return [None if r is None else value for r in rewards]


@dataclass(frozen=True)
class NoiseFloor:
    """The noise floor of one reward, applied by the tournament driver (``run_tournament``).

    ``min_margin``: the option (None: ``SOFT_MIN_MARGIN`` with soft verdicts, 0 with hard
    ones). ``ties`` applies it to a round's verdicts, ``flat`` to the groups' points once
    the tournament is done; a flat group's rewards become ``flatten``'s.

    Raises:
        TypeError, ValueError: as ``validate_min_margin``.
    """

    min_margin: float | None = None

    def __post_init__(self) -> None:
        validate_min_margin(self.min_margin)

    def margin(self, soft: bool) -> float:
        """The floor in force (``resolve_min_margin``)."""
        return resolve_min_margin(self.min_margin, soft)

    def ties(self, verdicts: Sequence[Verdict]) -> list[Verdict]:
        """``verdicts`` with each soft one under the floor made an exact tie (``floor_verdict``);
        unchanged (the same objects) where the floor is 0."""
        margin = self.margin(soft=True)  # only a soft verdict can change
        return [floor_verdict(verdict, margin) for verdict in verdicts] if margin > 0 else list(verdicts)

    def flat(self, points: Sequence[Sequence[float | None]], soft: bool) -> list[bool | None]:
        """Per group whether its members' points all lie within the floor; None for a
        group with fewer than two members with points."""
        margin = self.margin(soft)
        margins = [group_margin(group) for group in points]
        return [None if m is None else not separated(m, margin) for m in margins]
