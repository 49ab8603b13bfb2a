"""Pure verdict and ranking parsers.

No torch, no model: a string goes in, a verdict (or None) comes out. The parsers never
raise on judge output, whatever it looks like; they raise only for a bad *argument*
(an unknown format name, k < 2), which is a caller's bug.

Rules shared by every format:
- Only the text after the last ``</think>`` counts. An opened ``<think>`` that never
  closes (a generation cut inside its thinking) has no final answer: None.
- The last verdict marker wins; a final answer that names both responses is None
  (a judge must not hedge its way to a reward).
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

from .types import Ranking

PAIRWISE_FORMATS = ("rrm", "rm_r1", "rm_r1_distilled")

_THINK_OPEN = "<think>"
_THINK_CLOSE = "</think>"


def final_answer_text(text: str) -> str | None:
    """The part of a judge output that may carry the verdict.

    Returns the text after the last ``</think>``; the whole text when no think tags are
    present; None when a ``<think>`` block is opened and never closed.
    """
    close = text.rfind(_THINK_CLOSE)
    if close >= 0:
        return text[close + len(_THINK_CLOSE) :]
    if _THINK_OPEN in text:
        return None
    return text


def strip_think(text: str) -> str:
    """Removes reasoning from a *policy* completion before it is judged.

    Everything up to the last ``</think>`` goes (this also covers chat templates that
    open the block in the prompt, so the completion only has the closing tag). A block
    opened and never closed is removed to the end: the policy gave no answer.
    """
    close = text.rfind(_THINK_CLOSE)
    if close >= 0:
        return text[close + len(_THINK_CLOSE) :].strip()
    opened = text.find(_THINK_OPEN)
    if opened >= 0:
        return text[:opened].strip()
    return text


# --------------------------------------------------------------------------- rrm


def _boxed_contents(text: str) -> list[str]:
    """Contents of every complete ``\\boxed{...}``, braces balanced (LaTeX nests them).

    One pass pairs every ``{`` with its ``}``, so a degenerate output that opens thousands
    of boxes and never closes them stays linear.
    """
    closing: dict[int, int] = {}
    stack: list[int] = []
    for match in re.finditer(r"[{}]", text):
        if match.group() == "{":
            stack.append(match.start())
        elif stack:
            closing[stack.pop()] = match.start()
    contents = []
    for match in re.finditer(r"\\boxed\s*\{", text):
        end = closing.get(match.end() - 1)
        if end is not None:  # an unclosed box is a truncated generation: not a verdict
            contents.append(text[match.end() : end])
    return contents


_LATEX_WRAPPERS = re.compile(r"\\(?:text|textbf|textit|mathrm|mathbf|mbox|emph)\s*")


def _rrm_label(content: str) -> int | None | bool:
    """0/1 for a box naming one assistant, None for an ambiguous verdict box, False
    for a box that is not a verdict at all (a math answer in the analysis)."""
    norm = _LATEX_WRAPPERS.sub("", content)
    norm = norm.replace("\\ ", " ").replace("~", " ").replace("{", "").replace("}", "")
    norm = norm.replace("*", "").lower()
    if "assistant" not in norm:
        return False
    # Every number in a verdict box counts: "Assistant 1 or 2", "Assistant 1/2" name both.
    numbers = set(re.findall(r"[0-9]+", norm))
    if numbers == {"1"}:
        return 0
    if numbers == {"2"}:
        return 1
    return None


def _parse_rrm(final: str) -> int | None:
    for content in reversed(_boxed_contents(final)):
        label = _rrm_label(content)
        if label is not False:
            return label
    return None


# ------------------------------------------------------------------------- rm_r1

_RMR1_MARKER = re.compile(r"\[\[\s*(?:chatbot\s+)?([AB])\s*\]\]", re.IGNORECASE)
_RMR1_ANSWER_OPEN = re.compile(r"<answer>", re.IGNORECASE)
_RMR1_ANSWER_CLOSE = re.compile(r"</answer>", re.IGNORECASE)
_RMR1_BARE = re.compile(r"^\W*(?:chatbot\s+)?([AB])\W*$", re.IGNORECASE)


def _ab(labels: set[str]) -> int | None:
    labels = {label.upper() for label in labels}
    if labels == {"A"}:
        return 0
    if labels == {"B"}:
        return 1
    return None


def _parse_rm_r1(final: str) -> int | None:
    opens = list(_RMR1_ANSWER_OPEN.finditer(final))
    if opens:
        # The last <answer> decides, closed or cut off at the end of a truncated output
        # (an earlier block left unclosed must not swallow it).
        content = final[opens[-1].end() :]
        close = _RMR1_ANSWER_CLOSE.search(content)
        if close:
            content = content[: close.start()]
        labels = set(_RMR1_MARKER.findall(content))
        if labels:
            return _ab(labels)
        bare = _RMR1_BARE.match(content.strip())
        return _ab({bare.group(1)}) if bare else None
    # No answer tag: the last line that carries a marker is the final answer.
    for line in reversed(final.splitlines()):
        labels = set(_RMR1_MARKER.findall(line))
        if labels:
            return _ab(labels)
    return None


_PAIRWISE_PARSERS = {"rrm": _parse_rrm, "rm_r1": _parse_rm_r1, "rm_r1_distilled": _parse_rm_r1}


def parse_verdict(text: str, fmt: str) -> int | None:
    """Reads a pairwise verdict from a judge output.

    Args:
        text: the judge's generated text (thinking included, if any).
        fmt: ``"rrm"`` (``\\boxed{Assistant 1}``), ``"rm_r1"`` or ``"rm_r1_distilled"``
            (``<answer>[[A]]</answer>``).

    Returns:
        0 when the first-shown response wins, 1 for the second, None when the output has
        no verdict or an ambiguous one. Never raises for any ``text``.

    Raises:
        ValueError: ``fmt`` is not a pairwise format.
    """
    try:
        parser = _PAIRWISE_PARSERS[fmt]
    except KeyError:
        raise ValueError(f"fmt={fmt!r} is not a pairwise format; expected one of {PAIRWISE_FORMATS}") from None
    if not isinstance(text, str):
        return None
    final = final_answer_text(text)
    if final is None:
        return None
    return parser(final)


# ---------------------------------------------------------------------- principle

_NAME = re.compile(r"^\s*model[\s_-]*(\d+)\s*$", re.IGNORECASE)


def _json_objects(text: str) -> list[str]:
    """Every balanced top-level ``{...}`` span, in order of appearance."""
    spans, depth, start, quote = [], 0, -1, None
    for pos, char in enumerate(text):
        if quote:  # skip braces inside string literals
            if char == "\\":
                continue
            if char == quote and text[pos - 1] != "\\":
                quote = None
            continue
        if char == '"' and depth:
            quote = char
        elif char == "{":
            if depth == 0:
                start = pos
            depth += 1
        elif char == "}" and depth:
            depth -= 1
            if depth == 0:
                spans.append(text[start : pos + 1])
    return spans


def _load_lenient(blob: str) -> Any:
    """json.loads after repairing the usual defects of model-written JSON."""
    no_trailing = re.sub(r",\s*([}\]])", r"\1", blob)
    quoted_keys = re.sub(r"([{,]\s*)([A-Za-z_][\w\- ]*?)\s*:", r'\1"\2":', no_trailing)
    single = re.sub(r"(?<=[{\[,:])\s*'|'\s*(?=[:,}\]])", '"', no_trailing)
    for candidate in (blob, no_trailing, quoted_keys, single):
        try:
            return json.loads(candidate)
        except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
            pass
    try:  # Python literals: single quotes, True/None, trailing commas
        return ast.literal_eval(blob)
    # TypeError: an unhashable key such as {[1]: 2}
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None


def _index(name: Any, k: int) -> int | None:
    match = _NAME.match(str(name))
    if not match:
        return None
    index = int(match.group(1)) - 1
    return index if 0 <= index < k else None


def _normalise_key(key: Any) -> str:
    return re.sub(r"[\s_]+", "-", str(key).strip().lower())


def _ranking_from(obj: Any, k: int) -> tuple[tuple[int, ...], tuple[float, ...] | None] | None:
    if not isinstance(obj, dict):
        return None
    fields = {_normalise_key(key): value for key, value in obj.items()}
    raw_scores = fields.get("scores")
    raw_order = fields.get("best-to-worst", fields.get("ranking"))
    scores: tuple[float, ...] | None = None
    if raw_scores is not None:
        if not isinstance(raw_scores, dict) or len(raw_scores) != k:
            return None
        values: dict[int, float] = {}
        for name, value in raw_scores.items():
            index = _index(name, k)
            if index is None or index in values or isinstance(value, bool):
                return None
            try:
                value = float(value)
            except (TypeError, ValueError, OverflowError):  # OverflowError: a 400-digit int
                return None
            if not 1.0 <= value <= 5.0:
                return None
            values[index] = value
        scores = tuple(values[i] for i in range(k))
    order: tuple[int, ...] | None = None
    if raw_order is not None:
        if not isinstance(raw_order, list):
            return None
        indices = [_index(name, k) for name in raw_order]
        if None in indices or sorted(indices) != list(range(k)):
            return None
        order = tuple(indices)
    if order is None and scores is None:
        return None
    if order is None:
        order = tuple(sorted(range(k), key=lambda i: -scores[i]))
    elif scores is not None and any(scores[a] < scores[b] for a, b in zip(order, order[1:])):
        return None  # the order contradicts the scores: neither can be trusted
    return order, scores


def parse_ranking(text: str, k: int) -> Ranking | None:
    """Reads a listwise ``principle`` answer over responses named model-1..model-k.

    Expects JSON like ``{"scores": {"model-1": 4, ...}, "best-to-worst": ["model-2", ...]}``
    after any thinking. Repairs code fences, a prose preamble, single quotes, trailing
    commas and unquoted keys; the last object that parses into a valid ranking wins.

    Returns:
        A Ranking whose indices are 0-based positions as *shown* to the judge (model-i is
        i-1), or None when no object names each of the k responses exactly once, a score
        is outside 1..5, or the order contradicts the scores. Never raises for any ``text``.

    Raises:
        ValueError: ``k`` is smaller than 2.
    """
    if k < 2:
        raise ValueError(f"k={k!r}: a ranking needs at least 2 responses")
    if not isinstance(text, str):
        return None
    final = final_answer_text(text)
    if final is None:
        return None
    unfenced = re.sub(r"```[a-zA-Z]*", "", final)
    for blob in reversed(_json_objects(unfenced)):
        parsed = _ranking_from(_load_lenient(blob), k)
        if parsed is not None:
            order, scores = parsed
            thinking = text[: len(text) - len(final)]
            rationale = (thinking + unfenced[: unfenced.rfind(blob)]).strip() or None
            return Ranking(order=order, scores=scores, rationale=rationale, raw=(text,))
    return None
