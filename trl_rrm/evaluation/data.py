"""Evaluation rows: preference pairs, best-of-N lists and reference rankings, validated.

Rows come from ``trl_rrm.inputs.load_rows`` (files, lists, datasets, ``builtin:*`` sets,
hub datasets; ``columns`` maps fields). Each task's layout is checked before any judging;
errors are ``InputError`` naming the source, the row and the field:

- pairwise: ``prompt``, ``chosen``, ``rejected`` (text or chat messages), optional
  ``subset`` and ``category``; two benchmark layouts as well (``ppe_pair``: PPE's
  ``response_1`` / ``response_2`` / ``winner``; ``style_pairs``: RM-Bench's style lists).
- best-of-N: ``prompt``, ``candidates`` (list), ``correct`` (one bool per candidate).
- listwise: ``prompt``, ``candidates``, and ``relevance`` (one grade >= 0 per candidate,
  higher is better) or ``ranking`` (candidate indices best first); optional ``principle``.
"""

from __future__ import annotations

import logging
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..inputs import InputError, Rows, check_label, check_row, check_text, load_rows
from ..types import Text

logger = logging.getLogger(__name__)

__all__ = [
    "CandidateList",
    "EvaluationInputError",
    "PairExample",
    "best_of_n_examples",
    "listwise_examples",
    "pairwise_examples",
]

# The evaluator's name for the one input error type.
EvaluationInputError = InputError

_TIE_WINNERS = ("tie", "tie (bothbad)")
STYLE_CATEGORIES = ("easy", "normal", "hard")


@dataclass(frozen=True)
class PairExample:
    """One preference pair: ``chosen`` is the better response."""

    prompt: Text
    chosen: Text
    rejected: Text
    subset: str | None = None
    category: str | None = None
    row: int = 0


@dataclass(frozen=True)
class CandidateList:
    """A prompt with several candidates and one label each (correctness 1/0, or a grade)."""

    prompt: Text
    candidates: tuple[Text, ...]
    labels: tuple[float, ...]
    principle: str | None = None
    row: int = 0


def _rows(rows: Rows | Sequence[Any], source: str) -> Rows:
    return rows if isinstance(rows, Rows) else Rows(list(rows), source)


def ppe_pair(row: dict[str, Any], where: str) -> tuple[Text, Text] | None:
    """PPE human preference: (chosen, rejected) from ``response_1``/``response_2`` and
    ``winner`` (``model_a``/``model_b``); None for a tied winner (skipped and counted)."""
    winner = row["winner"]
    if winner in _TIE_WINNERS:
        return None
    if winner not in ("model_a", "model_b"):
        raise InputError(f"{where}: field 'winner'={winner!r}; expected 'model_a', 'model_b' or a tie {_TIE_WINNERS}")
    a, b = check_text(row.get("response_1"), where, "response_1"), check_text(row.get("response_2"), where, "response_2")
    return (a, b) if winner == "model_a" else (b, a)


def style_pairs(row: dict[str, Any], where: str) -> list[tuple[Text, Text, str]]:
    """RM-Bench: ``chosen`` and ``rejected`` as equally long lists of style variants
    (concise, detailed, detailed markdown) -> every (chosen i, rejected j) pair with
    category ``normal`` (i = j), ``hard`` (i < j: the rejected one has the richer style)
    or ``easy`` (i > j)."""
    chosen, rejected = row.get("chosen"), row.get("rejected")
    if not (_is_style_list(chosen) and _is_style_list(rejected) and len(chosen) == len(rejected)):
        raise InputError(
            f"{where}: fields 'chosen' and 'rejected' as style variants must both be lists of "
            f"strings of the same length, got {chosen!r:.60} and {rejected!r:.60}"
        )
    return [
        (check_text(good, where, f"chosen[{a}]"), check_text(bad, where, f"rejected[{b}]"), STYLE_CATEGORIES[1 + (a < b) - (a > b)])
        for a, good in enumerate(chosen)
        for b, bad in enumerate(rejected)
    ]


def pairwise_examples(rows: Rows | Sequence[Any], source: str = "rows") -> tuple[list[PairExample], int]:
    """Validated preference pairs of ``rows`` (see the module doc for the layouts).

    Returns:
        ``(pairs, skipped)``: ``skipped`` counts PPE-style rows whose winner is a tie.

    Raises:
        InputError: a missing or malformed field (named with row and value), or no pair left.
    """
    rows = _rows(rows, source)
    pairs: list[PairExample] = []
    skipped = 0
    for i, raw in enumerate(rows.rows):
        where = rows.at(i)
        row = check_row(raw, where)
        prompt = check_text(row.get("prompt"), where, "prompt")
        subset, category = check_label(row, "subset", where), check_label(row, "category", where)
        if "chosen" not in row and "winner" in row:
            pair = ppe_pair(row, where)
            if pair is None:
                skipped += 1
            else:
                pairs.append(PairExample(prompt, *pair, subset, category, i))
        elif _is_style_list(row.get("chosen")) or _is_style_list(row.get("rejected")):
            pairs.extend(PairExample(prompt, good, bad, subset, style, i) for good, bad, style in style_pairs(row, where))
        else:
            chosen, rejected = (check_text(row.get(name), where, name) for name in ("chosen", "rejected"))
            pairs.append(PairExample(prompt, chosen, rejected, subset, category, i))
    if not pairs:
        raise InputError(f"{rows.source}: no preference pair left ({skipped} rows with a tied winner skipped)")
    if skipped:
        logger.info("%s: skipped %d rows whose winner is a tie", rows.source, skipped)
    return pairs, skipped


def _is_style_list(value: Any) -> bool:
    return isinstance(value, list) and len(value) >= 2 and all(isinstance(v, str) for v in value)


def _candidates(row: dict[str, Any], where: str) -> tuple[Text, ...]:
    value = row.get("candidates")
    if not isinstance(value, list) or len(value) < 2:
        raise InputError(f"{where}: field 'candidates' must be a list of at least 2 responses, got {value!r:.80}")
    return tuple(check_text(v, where, f"candidates[{c}]") for c, v in enumerate(value))


def candidate_lists(
    data: Any,
    examples: Callable[[Rows], list[CandidateList]],
    *,
    split: str | None = None,
    columns: Mapping[str, str] | None = None,
    limit: int | None = None,
    seed: int = 0,
) -> tuple[list[CandidateList], str]:
    """``data`` as candidate lists: a list of ``CandidateList`` as given (first ``limit``),
    else rows from ``load_rows`` turned into lists by ``examples`` (``best_of_n_examples``
    or ``listwise_examples``). Returns ``(lists, source name for messages)``."""
    if isinstance(data, list) and data and all(isinstance(x, CandidateList) for x in data):
        return (data[:limit] if limit else list(data)), "candidate lists"
    rows = load_rows(data, split=split, columns=columns, limit=limit, seed=seed)
    return examples(rows), rows.source


def _candidate_rows(rows: Rows):
    """Each row checked for a ``prompt`` and its ``candidates``: (index, where, row, prompt, candidates)."""
    for i, raw in enumerate(rows.rows):
        where = rows.at(i)
        row = check_row(raw, where)
        yield i, where, row, check_text(row.get("prompt"), where, "prompt"), _candidates(row, where)


def best_of_n_examples(rows: Rows | Sequence[Any], source: str = "rows") -> list[CandidateList]:
    """Validated best-of-N rows: ``prompt``, ``candidates``, ``correct`` (bools, aligned).

    Raises:
        InputError: a missing field, fewer than 2 candidates, or ``correct`` that is not
            one bool (or 0/1) per candidate.
    """
    rows = _rows(rows, source)
    out = []
    for i, where, row, prompt, candidates in _candidate_rows(rows):
        correct = row.get("correct")
        if (
            not isinstance(correct, list)
            or len(correct) != len(candidates)
            or any(not isinstance(c, (bool, int)) or c not in (0, 1) for c in correct)
        ):
            raise InputError(
                f"{where}: field 'correct' must be a list of {len(candidates)} booleans (one per candidate), "
                f"got {correct!r:.80}"
            )
        out.append(CandidateList(prompt, candidates, tuple(float(bool(c)) for c in correct), row.get("principle"), i))
    if not out:
        raise InputError(f"{rows.source}: has no rows")
    return out


def listwise_examples(rows: Rows | Sequence[Any], source: str = "rows") -> list[CandidateList]:
    """Validated listwise rows: ``prompt``, ``candidates``, ``relevance`` or ``ranking``.

    A ``ranking`` (indices best first) becomes relevance ``k - 1 - place``.

    Raises:
        InputError: a missing field, a relevance that is not one number >= 0 per
            candidate, a ranking that is not a permutation, a non-string principle.
    """
    rows = _rows(rows, source)
    out = []
    for i, where, row, prompt, candidates in _candidate_rows(rows):
        k = len(candidates)
        if row.get("relevance") is not None:
            relevance = row["relevance"]
            if (
                not isinstance(relevance, list)
                or len(relevance) != k
                or any(isinstance(r, bool) or not isinstance(r, numbers.Real) or not 0 <= r < math.inf for r in relevance)
            ):
                raise InputError(
                    f"{where}: field 'relevance' must be {k} finite numbers >= 0 (one per candidate), got {relevance!r:.80}"
                )
            labels = tuple(float(r) for r in relevance)
        elif row.get("ranking") is not None:
            ranking = row["ranking"]
            if not isinstance(ranking, list) or sorted(ranking) != list(range(k)):
                raise InputError(
                    f"{where}: field 'ranking' must list the candidate indices 0..{k - 1} best first, got {ranking!r:.80}"
                )
            grades = [0.0] * k
            for place, c in enumerate(ranking):
                grades[c] = float(k - 1 - place)
            labels = tuple(grades)
        else:
            raise InputError(f"{where}: needs field 'relevance' or 'ranking' (columns: {sorted(row)})")
        principle = row.get("principle")
        if principle is not None and not isinstance(principle, str):
            raise InputError(f"{where}: field 'principle' must be a string, got {principle!r:.80}")
        out.append(CandidateList(prompt, candidates, labels, principle, i))
    if not out:
        raise InputError(f"{rows.source}: has no rows")
    return out
