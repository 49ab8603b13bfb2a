"""Pure verdict and ranking parsers: a string goes in, a verdict (or None) comes out.

The parsers never raise on judge output, whatever it looks like; they raise only for a
bad *argument* (an unknown format name, k < 2), which is a caller's bug. Each format's
own parser lives with its format (``trl_rrm.formats``); these are the by-name entry points.

Rules shared by every format:
- Only the text after the last ``</think>`` counts. An opened ``<think>`` that never
  closes (a generation cut inside its thinking) has no final answer: None.
- The last verdict marker wins; a final answer that names both responses is None
  (a judge must not hedge its way to a reward).
"""

from __future__ import annotations

from .formats import FORMATS, PAIRWISE_FORMATS
from .formats.principle import parse_ranking
from .thinking import final_answer_text, strip_think


def parse_verdict(text: str, fmt: str) -> int | None:
    """Reads a pairwise verdict from a judge output.

    Args:
        text: the judge's generated text (thinking included, if any).
        fmt: a pairwise format name: ``"rrm"`` (``\\boxed{Assistant 1}``), ``"rm_r1"`` or
            ``"rm_r1_distilled"`` (``<answer>[[A]]</answer>``).

    Returns:
        0 when the first-shown response wins, 1 for the second, None when the output has
        no verdict or an ambiguous one. Never raises for any ``text``.

    Raises:
        ValueError: ``fmt`` is not a pairwise format.
    """
    if fmt not in PAIRWISE_FORMATS:
        raise ValueError(f"fmt={fmt!r} is not a pairwise format; expected one of {PAIRWISE_FORMATS}")
    return FORMATS[fmt].parse(text)


__all__ = ["PAIRWISE_FORMATS", "final_answer_text", "parse_ranking", "parse_verdict", "strip_think"]
