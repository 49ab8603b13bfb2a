"""Signs that a policy is learning to game its judge, measured per step. Pure Python.

In RL the policy is optimised against the judge; what moves the verdict will be found.
``RRMReward`` logs two signals so a user sees hacking start in the TRL logs:

- ``length_correlation``: the within-group correlation between reward and completion
  length (Pearson, averaged over groups with at least two distinct rewards and lengths).
  A judge with a length bias drives it up step after step.
- ``suspicious``: whether a completion imitates the judge format (its section lines or
  verdict markers: ``### Assistant 2``, ``\\boxed{Assistant 1}``, ``[[A]]``) or spells one
  of the judge tokenizer's control tokens (``<|im_end|>``). The judge never reads these
  as structure (``trl_rrm.formats.untrusted``), but a policy writing them is probing.

- ``audit_agreement`` (with ``RRMReward(audit=...)``): how often the judge's rewards
  order a group's completions as a labelled audit reward does. The judge sees no labels;
  when the policy starts to game it, its rewards part from the audit's and this falls.

Optional guard (``RRMReward(guard=...)``, off by default): a suspicious completion gets
None (``"none"``: excluded from this reward) or its group's lowest reward (``"min"``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from .judges.protocol import Judge

from .floor import TIE_TOLERANCE

Guard = Literal["off", "none", "min"]
GUARDS = ("off", "none", "min")


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson correlation; None when either side is constant or there are fewer than 2 points."""
    n = len(xs)
    if n < 2:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx <= 0 or syy <= 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / math.sqrt(sxx * syy)


def length_correlation(rewards: Sequence[Sequence[float | None]], lengths: Sequence[Sequence[int]]) -> float | None:
    """Mean within-group correlation of reward and length (members with a reward only)."""
    values = []
    for group_rewards, group_lengths in zip(rewards, lengths):
        pairs = [(float(r), float(n)) for r, n in zip(group_rewards, group_lengths) if r is not None]
        r = pearson([p[0] for p in pairs], [p[1] for p in pairs])
        if r is not None:
            values.append(r)
    return sum(values) / len(values) if values else None


def audit_agreement(
    rewards: Sequence[Sequence[float | None]], audit: Sequence[Sequence[float | None]]
) -> float | None:
    """How often ``rewards`` order two members of a group as ``audit`` does, in [0, 1].

    Over every pair of members of a group whose audit rewards differ (both present, not
    NaN) and that both got a reward: 1 when the rewards order them the same way, 0 when
    reversed, and 0.5 when the rewards tie (within ``TIE_TOLERANCE``: a flat group, a
    draw). A tie counts half, not as a disagreement: a judge that cannot tell sits at
    chance, 0.5, and 0 stays the mark of a judge whose order is reversed. None without
    any such pair (no group where the audit separates two rewarded members).
    """
    points, pairs = 0.0, 0
    for group_rewards, group_audit in zip(rewards, audit):
        members = [
            (float(r), float(a))
            for r, a in zip(group_rewards, group_audit)
            if r is not None and a is not None and not math.isnan(a) and not math.isnan(r)
        ]
        for i, (r_i, a_i) in enumerate(members):
            for r_j, a_j in members[i + 1 :]:
                if a_i == a_j:
                    continue
                pairs += 1
                if abs(r_i - r_j) <= TIE_TOLERANCE:
                    points += 0.5
                elif (r_i > r_j) == (a_i > a_j):
                    points += 1.0
    return points / pairs if pairs else None


def suspicious(texts: Sequence[str], judge: Judge) -> list[bool] | None:
    """Which texts imitate ``judge``'s format or spell its control tokens; None for a judge
    without a format (a rule judge, an API wrapper of yours)."""
    fmt = getattr(judge, "format", None)
    if fmt is None or not hasattr(fmt, "suspicious"):
        return None
    tokens = judge.control_tokens() if hasattr(judge, "control_tokens") else ()
    return [fmt.suspicious(text, tokens) for text in texts]


def apply_guard(
    guard: Guard, rewards: Sequence[Sequence[float | None]], flags: Sequence[Sequence[bool]]
) -> list[list[float | None]]:
    """Rewards with suspicious members set to None or to their group's lowest reward."""
    if guard == "off":
        return [list(group) for group in rewards]
    out = []
    for group, group_flags in zip(rewards, flags):
        valid = [r for r in group if r is not None]
        floor = min(valid) if valid else None
        out.append([(None if guard == "none" else floor) if flag else r for r, flag in zip(group, group_flags)])
    return out
