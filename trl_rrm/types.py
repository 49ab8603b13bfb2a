"""Value types shared by formats, judges and tournaments.

Plain dataclasses, no torch: a judge of any kind (a local model, an HTTP endpoint, a rule)
speaks in these types, and everything above the judge only sees them.

Orientation: ``Match.responses`` is the order the *caller* gave. A judge may show the
responses in another order (to cancel position bias); it maps its answer back, so
``Verdict.winner == 0`` always means ``match.responses[0]`` won.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# A prompt or response as TRL hands it over: plain text, or a list of chat messages
# ({"role": ..., "content": ...}), possibly a multi-turn history.
Message = dict[str, Any]
Text = str | list[Message]


def text_key(value: Text) -> str:
    """One string per distinct prompt or response (a message list as canonical JSON):
    equal keys, equal texts."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


@dataclass(frozen=True)
class Match:
    """One judging task: a prompt and the responses to compare.

    Pairwise judges take exactly two responses; listwise judges take two or more;
    pointwise judges (``grade``) exactly one.
    ``principle`` is an optional natural-language criterion (used by the ``principle``
    format; pairwise formats ignore it unless the user's template asks for it).
    """

    prompt: Text
    responses: tuple[Text, ...]
    principle: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.responses, (str, dict)) or not isinstance(self.responses, Sequence):
            raise TypeError(
                f"Match.responses must be a sequence of responses, got {type(self.responses).__name__}"
            )
        object.__setattr__(self, "responses", tuple(self.responses))
        if not self.responses:
            raise ValueError("Match.responses needs at least 1 response, got none")


@dataclass(frozen=True)
class Verdict:
    """The outcome of one pairwise match.

    Attributes:
        winner: 0 when ``match.responses[0]`` is better, 1 for ``responses[1]``, None when
            there is no usable result (no parseable verdict, a split vote, or a tie).
        votes: every single judgment's winner in match orientation (None = unparseable),
            in the order they were made (all samples of the first presentation order, then
            those of the swapped order when both orders are judged).
        rationale: the text of the judgment that decided (the first one agreeing with
            ``winner``), or of the first judgment when there is no winner.
        raw: the raw text of every judgment, aligned with ``votes``.
        tokens: judge tokens generated for this match, forced answers included.
        tie: True when the judge gave valid verdicts that cancel out (the two presentation
            orders disagree, or the votes split evenly). A tie is a real result (tournaments
            count it as half a win each); ``winner is None and not tie`` is a failure.
        share: fraction of the valid votes that went to ``winner`` (None without winner).
        order_agreement: with both orders judged, whether the two orders agreed; None when
            only one order was judged or one order gave no valid verdict.
        forced: how many of the judgments needed a forced answer (see ``forced_answer``).
        p_first: the judge's probability that ``responses[0]`` is better, read from its
            verdict-token probabilities (``verdict="likelihood"`` or ``"direct"``); with
            both orders, ``(p_ab + (1 - p_ba)) / 2``, which cancels a constant position
            bias. None when the judge gave no probability.
        position_bias: with both orders scored, how much the judge favours whichever
            response is shown first: the mean probability given to the first-shown
            response over the two orders, minus 0.5 (0 = no bias, 0.5 = always first).
        cut: how many responses were cut to fit the judge's token budget (the prompt says
            so where it cut).
        over_context: the judge prompt did not fit the judge's context even after cutting:
            the match was not judged (a failure, never a guess).
    """

    winner: int | None
    votes: tuple[int | None, ...] = ()
    rationale: str | None = None
    raw: tuple[str, ...] = ()
    tokens: int = 0
    tie: bool = False
    share: float | None = None
    order_agreement: bool | None = None
    forced: int = 0
    p_first: float | None = None
    position_bias: float | None = None
    cut: int = 0
    over_context: bool = False

    @property
    def failed(self) -> bool:
        """No usable result: the match is missing, not a tie and not a loss."""
        return self.winner is None and not self.tie

    @property
    def score(self) -> float | None:
        """Points of ``responses[0]``: ``p_first`` when the judge gave a probability,
        else 1 win, 0.5 tie, 0 loss; None when failed."""
        if self.p_first is not None:
            return self.p_first
        if self.winner is not None:
            return 1.0 - self.winner
        return 0.5 if self.tie else None


@dataclass(frozen=True)
class Grade:
    """The outcome of judging ONE response on its own (a pointwise judge's ``grade``).

    Attributes:
        value: the judge's verdict normalised to [0, 1] (``PointwiseFormat.normalize``):
            1 for yes or the top score, 0 for no or the lowest; with label probabilities
            (``verdict="likelihood"`` / ``"direct"``) P(yes) or the expected score,
            rescaled. The mean over valid votes; None when there is no usable result.
        votes: each judgment's normalised value (None = unparseable), in order.
        rationale: the text of the first valid judgment (or of the first one).
        raw: the raw text of every judgment, aligned with ``votes``.
        tokens: judge tokens generated, forced answers included.
        forced: how many judgments needed a forced answer.
        soft: ``value`` comes from label probabilities, not from parsed verdicts.
        cut: 1 when the response was cut to fit the judge's budget.
        over_context: the prompt did not fit the judge's context: not judged (a failure).
    """

    value: float | None
    votes: tuple[float | None, ...] = ()
    rationale: str | None = None
    raw: tuple[str, ...] = ()
    tokens: int = 0
    forced: int = 0
    soft: bool = False
    cut: int = 0
    over_context: bool = False

    @property
    def failed(self) -> bool:
        """No usable result: the response is missing a score, never given a fake one."""
        return self.value is None


@dataclass(frozen=True)
class Ranking:
    """A listwise judgment of K responses, in match orientation.

    Attributes:
        order: indices into ``match.responses``, best first; a permutation of range(K).
        scores: the judge's score per response (aligned with ``match.responses``), or None
            when the judge gave an order without scores.
        rationale: the judge's analysis text.
        raw: the raw text of every judgment that went into this ranking.
        tokens: judge tokens generated.
        votes: how many valid judgments were averaged.
    """

    order: tuple[int, ...]
    scores: tuple[float, ...] | None = None
    rationale: str | None = None
    raw: tuple[str, ...] = ()
    tokens: int = 0
    votes: int = 1
