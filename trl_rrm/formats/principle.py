"""The ``principle`` format: listwise and principle-following (RewardAnything).

A natural-language principle, the query and K responses under masked names model-1..K
(the caller shuffles them); the answer is JSON with ``scores`` (1..5) and
``best-to-worst``. Parsing repairs the usual defects of model-written JSON and keeps the
last object that names each response exactly once with scores that agree with the order.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

from ..thinking import final_answer_text
from ..types import Ranking
from .base import ListwiseFormat, section_lines
from .untrusted import SPACE_CHARS, inert_at

SYSTEM_PROMPT = """\
You evaluate AI responses against a principle given in natural language. The principle \
decides what counts as a good response; apply it even where it differs from your own taste. \
The responses are anonymous and shown in random order; judge each on its content alone."""

USER_TEMPLATE = """\
## Principle

{principle}

## Query

{query}

## Responses

{responses}

## Your task

Check each response against the principle and think briefly. Then answer with a JSON object \
only, giving every response a score from 1 (worst) to 5 (best) and listing all of them from \
best to worst:
{"scores": {"model-1": 3, "model-2": 5}, "best-to-worst": ["model-2", "model-1"]}"""

_NAME = re.compile(r"^\s*model[\s_-]*(\d+)\s*$", re.IGNORECASE)


def _json_objects(text: str) -> list[str]:
    """Every balanced top-level ``{...}`` span, in order of appearance."""
    return [text[start:end] for start, end in _json_spans(text)]


def _json_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every balanced top-level ``{...}``, in order of appearance."""
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
                spans.append((start, pos + 1))
    return spans


_RANKING_KEYS = {"scores", "best-to-worst", "ranking"}


def ranking_objects_inert(text: str) -> str:
    """``text`` with a zero-width space after the ``{`` of every top-level object the
    parser would read as a ranking: one that parses leniently (unquoted keys, single
    quotes, trailing commas) into a valid ranking of some number of responses (a
    ``scores``, ``best-to-worst`` or ``ranking`` key in any spelling ``_normalise_key``
    accepts, naming model-1..model-k). JSON of other shapes (a config, ``{"scores": [3,
    4]}``) stays as it is."""
    return inert_at(text, (start + 1 for start, end in _json_spans(text) if _reads_as_ranking(text[start:end])))


def _reads_as_ranking(blob: str) -> bool:
    """Whether the parser would read ``blob`` as a ranking of some k >= 2 responses: k is
    the length of its scores or order (``_ranking_from`` needs one of them to name all k)."""
    obj = _load_lenient(blob)
    if not isinstance(obj, dict):
        return False
    fields = {_normalise_key(key): value for key, value in obj.items()}
    sizes = {len(fields[key]) for key in _RANKING_KEYS & fields.keys() if isinstance(fields[key], (dict, list))}
    return any(_ranking_from(obj, k) is not None for k in sizes if k >= 2)


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
    """Reads a listwise answer over responses named model-1..model-k.

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


PRINCIPLE = ListwiseFormat(
    name="principle",
    system_prompt=SYSTEM_PROMPT,
    user_template=USER_TEMPLATE,
    structure=section_lines(rf"principle|query|responses|model[{SPACE_CHARS}_-]*\d+|your[{SPACE_CHARS}]+task"),
    markers=re.compile(r"</?think>", re.I),
    verdicts_inert=ranking_objects_inert,
    parse_ranking=parse_ranking,
)
