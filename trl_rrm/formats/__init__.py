"""Judge prompt formats: how a match is shown to a judge and how its answer is read.

Each format is ONE object (``PairwiseFormat`` / ``ListwiseFormat`` / ``PointwiseFormat``) holding its prompt
text, its parser, its verdict labels and the strings around them, and the structure a
response could forge; ``FORMATS`` maps names to them. Adding a format is one entry here.

- ``rrm``: pairwise (Reward Reasoning Models); verdict ``\\boxed{Assistant 1}``.
- ``rm_r1`` / ``rm_r1_distilled``: pairwise Chain-of-Rubrics (RM-R1); verdict
  ``<answer>[[A]]</answer>``; with a system prompt, or one user message.
- ``principle``: listwise and principle-following (RewardAnything); JSON scores and order.
- ``pointwise``: one response, RRM's layout; verdict ``\\boxed{yes}`` / ``\\boxed{no}``.
- ``pointwise_score``: one response; verdict ``\\boxed{N/10}``, N from 1 to 10.

Users whose judge was trained on other wording pass their own ``system_prompt`` /
``user_template`` (``get_format``); the verdict markers stay, so parsing keeps working.
"""

from __future__ import annotations

from dataclasses import replace

from ..thinking import normalize_mode
from .base import (
    DEFAULT_PRINCIPLE,
    JudgeFormat,
    ListwiseFormat,
    PairwiseFormat,
    check_template,
    render_content,
    render_text,
)
from .pointwise import POINTWISE, POINTWISE_SCORE, PointwiseFormat
from .principle import PRINCIPLE
from .rm_r1 import RM_R1, RM_R1_DISTILLED
from .rrm import RRM

FORMATS: dict[str, JudgeFormat] = {
    f.name: f for f in (RRM, RM_R1, RM_R1_DISTILLED, PRINCIPLE, POINTWISE, POINTWISE_SCORE)
}
PAIRWISE_FORMATS = tuple(name for name, f in FORMATS.items() if isinstance(f, PairwiseFormat))
POINTWISE_FORMATS = tuple(name for name, f in FORMATS.items() if isinstance(f, PointwiseFormat))
LISTWISE_FORMATS = tuple(name for name, f in FORMATS.items() if isinstance(f, ListwiseFormat))

_UNSET = object()


def get_format(
    name: str,
    *,
    system_prompt: str | None | object = _UNSET,
    user_template: str | None = None,
    strip_think: bool | str = "leading",
) -> JudgeFormat:
    """A format by name, optionally with the user's own prompt text.

    Args:
        name: a key of ``FORMATS``.
        system_prompt: replaces the default system prompt; ``None`` sends no system message.
        user_template: replaces the default user message; must keep the placeholders
            (``{query}``, ``{response_1}``, ``{response_2}`` pairwise; ``{query}``,
            ``{response}`` pointwise; ``{query}``, ``{responses}`` listwise).
        strip_think: how a response's reasoning is removed (``trl_rrm.thinking``; True is
            ``"leading"``, False ``"none"``).

    Raises:
        ValueError: unknown ``name``, a template missing a placeholder, a bad ``strip_think``.
        TypeError: a ``system_prompt`` that is not a string or None.
    """
    if name not in FORMATS:
        raise ValueError(f"format={name!r} is unknown; expected one of {tuple(FORMATS)}")
    default = FORMATS[name]
    system = default.system_prompt if system_prompt is _UNSET else system_prompt
    if system is not None and not isinstance(system, str):
        raise TypeError(f"system_prompt must be a string or None, got {type(system).__name__}")
    if isinstance(default, PairwiseFormat):
        check_template("user_template", user_template, ("query", "response_1", "response_2"))
    elif isinstance(default, PointwiseFormat):
        check_template("user_template", user_template, ("query", "response"))
    else:
        check_template("user_template", user_template, ("query", "responses"))
        template = user_template or default.user_template
        if "{principle}" not in template and "{principle}" not in (system or ""):
            raise ValueError("the principle format needs a {principle} placeholder in user_template or system_prompt")
    return replace(
        default,
        system_prompt=system,
        user_template=user_template or default.user_template,
        strip_think=normalize_mode(strip_think),
    )


__all__ = [
    "DEFAULT_PRINCIPLE",
    "FORMATS",
    "LISTWISE_FORMATS",
    "PAIRWISE_FORMATS",
    "POINTWISE_FORMATS",
    "JudgeFormat",
    "ListwiseFormat",
    "PairwiseFormat",
    "PointwiseFormat",
    "get_format",
    "render_content",
    "render_text",
]
