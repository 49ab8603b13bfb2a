"""Reasoning blocks (``<think>...</think>``): everything the library knows about them.

Two different texts carry them:

- A *judge's* output: only its final answer (after thinking) may carry the verdict
  (``final_answer_text``); a forced answer closes an open block first (``close_thinking``).
- A *policy's* completion, before it is shown to a judge: its reasoning is removed
  (``strip_think``), and nothing else. Which part is reasoning depends on the policy's
  chat template, so the caller says it (``mode``):

  - ``"leading"`` (default): a ``<think>...</think>`` block the completion *starts*
    with (after whitespace). A block that starts the completion and never closes is all
    reasoning (no answer: ""). A ``<think>`` or ``</think>`` anywhere else is ordinary
    text ("How do I close a tag like </think>?" stays as it is).
  - ``"template"``: the policy's chat template opens the block in the prompt
    (DeepSeek-R1, Qwen3 with thinking), so the completion starts inside it: everything up
    to its first ``</think>`` is reasoning; without one, the whole completion is.
  - ``"none"``: nothing is removed.
"""

from __future__ import annotations

from typing import Literal

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"

StripThink = Literal["leading", "template", "none"]
STRIP_THINK_MODES = ("leading", "template", "none")


def final_answer_text(text: str) -> str | None:
    """The part of a judge output that may carry the verdict.

    Returns the text after the last ``</think>``; the whole text when no think tags are
    present; None when a ``<think>`` block is opened and never closed.
    """
    close = text.rfind(THINK_CLOSE)
    if close >= 0:
        return text[close + len(THINK_CLOSE) :]
    if THINK_OPEN in text:
        return None
    return text


def close_thinking(text: str) -> str:
    """The text a forced answer continues from: an open block closed, then a blank line."""
    if final_answer_text(text) is None:
        return text.rstrip() + "\n" + THINK_CLOSE + "\n\n"
    return text.rstrip() + "\n\n"


def opens_thinking(prompt_text: str) -> bool:
    """Whether a chat template's generation prompt opens a block (the output starts inside it)."""
    return prompt_text.rstrip().endswith(THINK_OPEN)


def normalize_mode(mode: bool | str) -> StripThink:
    """``True``/``False`` (the historical switch) as ``"leading"``/``"none"``.

    Raises:
        ValueError: an unknown mode.
    """
    if mode is True:
        return "leading"
    if mode is False:
        return "none"
    if mode not in STRIP_THINK_MODES:
        raise ValueError(f"strip_think={mode!r} is unknown; expected one of {STRIP_THINK_MODES} (or True/False)")
    return mode  # type: ignore[return-value]


def strip_think(text: str, mode: bool | str = "leading") -> str:
    """Removes a policy completion's reasoning before it is judged (see the module doc).

    Raises:
        ValueError: an unknown ``mode``.
    """
    mode = normalize_mode(mode)
    if mode == "none":
        return text
    if mode == "template":
        close = text.find(THINK_CLOSE)
        return "" if close < 0 else text[close + len(THINK_CLOSE) :].strip()
    body = text.lstrip()
    if not body.startswith(THINK_OPEN):
        return text
    close = body.find(THINK_CLOSE)
    if close < 0:
        return ""
    rest = body[close + len(THINK_CLOSE) :]
    return strip_think(rest, "leading").strip() if rest.lstrip().startswith(THINK_OPEN) else rest.strip()
