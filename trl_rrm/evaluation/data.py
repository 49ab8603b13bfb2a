"""Evaluation data: load rows (built-in sets, files, hub datasets), map columns, validate.

Sources (``load_rows``): ``"builtin:pairs"`` / ``"builtin:best_of_n"`` / ``"builtin:listwise"``
(generated in code, see ``sets``), a ``.jsonl`` / ``.json`` / ``.parquet`` file, a list of
dicts, a ``datasets.Dataset``, or any other string as a hub dataset name
(``datasets.load_dataset(name, split=split)``).

``columns`` maps the evaluator's field names to the data's: ``{"subset": "domain"}``; a
source with ``*`` collects the matching columns, in numeric order, into one list
(``{"candidates": "response_*"}`` for PPE's ``response_1`` ... ``response_32``).

Row formats, checked before any judging (errors name the source, the row and the field):

- pairwise: ``prompt``, ``chosen``, ``rejected`` (text or chat messages), optional
  ``subset`` and ``category``. Two benchmark layouts are understood as well:
  ``response_1`` / ``response_2`` / ``winner`` (PPE human preference: ``model_a`` or
  ``model_b``; rows whose winner is a tie are skipped and counted), and ``chosen`` /
  ``rejected`` as equally long lists of plain strings (RM-Bench's style variants:
  concise, detailed, detailed markdown), expanded into every (chosen i, rejected j) pair
  with category ``normal`` (i = j), ``hard`` (i < j: the rejected response has the
  richer style) or ``easy`` (i > j).
- best-of-N: ``prompt``, ``candidates`` (list), ``correct`` (one bool per candidate).
- listwise: ``prompt``, ``candidates``, and ``relevance`` (one grade >= 0 per candidate,
  higher is better) or ``ranking`` (candidate indices best first); optional ``principle``.
"""

from __future__ import annotations

import logging
import numbers
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..rows import SUFFIXES, read_rows
from ..types import Text

logger = logging.getLogger(__name__)

__all__ = [
    "CandidateList",
    "EvaluationInputError",
    "PairExample",
    "best_of_n_examples",
    "listwise_examples",
    "load_rows",
    "pairwise_examples",
    "parse_columns",
]

_TIE_WINNERS = ("tie", "tie (bothbad)")
STYLE_CATEGORIES = ("easy", "normal", "hard")


class EvaluationInputError(ValueError):
    """Bad evaluation data; the message names the source, the row and the field."""


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


# ----------------------------------------------------------------------------- loading


def parse_columns(specs: Sequence[str] | None) -> dict[str, str]:
    """``["prompt=question", "candidates=response_*"]`` -> ``{"prompt": "question", ...}``.

    Raises:
        EvaluationInputError: a spec without ``=`` or with an empty side.
    """
    out: dict[str, str] = {}
    for spec in specs or ():
        field, sep, source = spec.partition("=")
        if not sep or not field.strip() or not source.strip():
            raise EvaluationInputError(f"--column {spec!r}: expected FIELD=COLUMN, e.g. prompt=question")
        out[field.strip()] = source.strip()
    return out


def _apply_columns(rows: list[Any], columns: Mapping[str, str], source: str) -> list[Any]:
    if not columns:
        return rows
    out = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise EvaluationInputError(f"{source}: row {i}: must be an object, got {type(row).__name__}")
        row = dict(row)
        for field, column in columns.items():
            if "*" in column:
                pattern = re.compile("^" + re.escape(column).replace(r"\*", "(.*)") + "$")
                found = [(m.group(1), k) for k in row if (m := pattern.match(k))]
                if not found:
                    raise EvaluationInputError(f"{source}: row {i}: no column matches {column!r} (for field {field!r})")
                found.sort(key=lambda item: (int(item[0]) if item[0].isdigit() else float("inf"), item[0]))
                row[field] = [row[k] for _, k in found]
            elif column not in row:
                raise EvaluationInputError(
                    f"{source}: row {i}: column {column!r} (mapped to field {field!r}) is missing; "
                    f"columns: {sorted(row)}"
                )
            else:
                row[field] = row[column]
        out.append(row)
    return out


def load_rows(
    data: Any,
    *,
    split: str | None = None,
    columns: Mapping[str, str] | None = None,
    limit: int | None = None,
    seed: int = 0,
) -> tuple[list[dict[str, Any]], str]:
    """Rows of ``data`` (see the module doc), columns mapped, at most ``limit``.

    A built-in set is generated with ``limit`` rows (its default size when None) and
    ``seed``; other sources keep their first ``limit`` rows.

    Returns:
        ``(rows, source name for messages)``.

    Raises:
        EvaluationInputError: unreadable or missing file, a hub dataset that does not
            load, no rows, a bad ``limit``, a missing mapped column.
    """
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise EvaluationInputError(f"limit={limit!r} must be a positive integer or None")
    if isinstance(data, str) and data.startswith("builtin:"):
        from ..tasks.eval_sets import builtin_rows

        try:
            rows, source = builtin_rows(data, limit, seed=seed), data
        except ValueError as err:
            raise EvaluationInputError(str(err)) from None
    elif isinstance(data, (str, os.PathLike)) and (
        os.path.exists(data) or Path(data).suffix.lower() in SUFFIXES
    ):
        path = Path(data)
        if not path.exists():
            raise EvaluationInputError(f"{path}: no such file")
        rows, source = read_rows(path, EvaluationInputError), str(path)
    elif isinstance(data, str):
        rows, source = _load_hub(data, split), f"{data}[{split or 'train'}]"
    elif isinstance(data, list):
        rows, source = data, "rows"
    elif hasattr(data, "column_names") and hasattr(data, "to_list"):
        rows, source = data.to_list(), "dataset"
    else:
        raise EvaluationInputError(
            f"data must be 'builtin:...', a file, a hub dataset name, a list of rows or a datasets.Dataset; "
            f"got {type(data).__name__}"
        )
    if limit is not None:
        rows = rows[:limit]
    if not rows:
        raise EvaluationInputError(f"{source}: has no rows")
    return _apply_columns(list(rows), columns or {}, source), source


def _load_hub(name: str, split: str | None) -> list[dict[str, Any]]:
    import datasets

    try:
        dataset = datasets.load_dataset(name, split=split or "train")
    except Exception as err:  # offline, unknown name, unknown split: all end here
        raise EvaluationInputError(
            f"data={name!r} is neither a file, nor 'builtin:...', nor a loadable hub dataset "
            f"(split={split or 'train'!r}): {type(err).__name__}: {err}"
        ) from err
    return dataset.to_list()


# -------------------------------------------------------------------------- validation


def _text(row: dict[str, Any], field: str, source: str, i: int, value: Any = None) -> Text:
    value = row.get(field) if value is None else value
    where = f"{source}: row {i}: field {field!r}"
    if field not in row and value is None:
        raise EvaluationInputError(f"{where} is missing (columns: {sorted(row)}); map one with columns / --column")
    if isinstance(value, str):
        if not value.strip():
            raise EvaluationInputError(f"{where} is empty")
        return value
    if isinstance(value, list) and value and all(isinstance(m, dict) for m in value):
        for m, message in enumerate(value):
            if not isinstance(message.get("content"), str):
                raise EvaluationInputError(f"{where}: message {m} needs a string 'content', got {message!r:.80}")
        return value
    raise EvaluationInputError(f"{where} must be text or a list of chat messages, got {value!r:.80}")


def _label(row: dict[str, Any], field: str, source: str, i: int) -> str | None:
    value = row.get(field)
    if value is None:
        return None
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise EvaluationInputError(f"{source}: row {i}: field {field!r} must be a string, got {value!r:.80}")
    return str(value)


def _row(row: Any, source: str, i: int) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise EvaluationInputError(f"{source}: row {i}: must be an object, got {type(row).__name__}")
    return row


def pairwise_examples(rows: Sequence[Any], source: str = "rows") -> tuple[list[PairExample], int]:
    """Validated preference pairs of ``rows`` (see the module doc for the layouts).

    Returns:
        ``(pairs, skipped)``: ``skipped`` counts PPE-style rows whose winner is a tie.

    Raises:
        EvaluationInputError: a missing or malformed field (named with row and value), or
            no pair left.
    """
    pairs: list[PairExample] = []
    skipped = 0
    for i, raw in enumerate(rows):
        row = _row(raw, source, i)
        prompt = _text(row, "prompt", source, i)
        subset, category = _label(row, "subset", source, i), _label(row, "category", source, i)
        if "chosen" not in row and "winner" in row:
            winner = row["winner"]
            if winner in _TIE_WINNERS:
                skipped += 1
                continue
            if winner not in ("model_a", "model_b"):
                raise EvaluationInputError(
                    f"{source}: row {i}: field 'winner'={winner!r}; "
                    f"expected 'model_a', 'model_b' or a tie {_TIE_WINNERS}"
                )
            a, b = _text(row, "response_1", source, i), _text(row, "response_2", source, i)
            chosen, rejected = (a, b) if winner == "model_a" else (b, a)
            pairs.append(PairExample(prompt, chosen, rejected, subset, category, i))
            continue
        chosen, rejected = row.get("chosen"), row.get("rejected")
        if _is_style_list(chosen) or _is_style_list(rejected):
            if not (_is_style_list(chosen) and _is_style_list(rejected) and len(chosen) == len(rejected)):
                raise EvaluationInputError(
                    f"{source}: row {i}: fields 'chosen' and 'rejected' as style variants must both be lists of "
                    f"strings of the same length, got {chosen!r:.60} and {rejected!r:.60}"
                )
            for a, good in enumerate(chosen):
                for b, bad in enumerate(rejected):
                    style = STYLE_CATEGORIES[1 + (a < b) - (a > b)]
                    pairs.append(
                        PairExample(
                            prompt,
                            _text(row, f"chosen[{a}]", source, i, good),
                            _text(row, f"rejected[{b}]", source, i, bad),
                            subset,
                            style,
                            i,
                        )
                    )
            continue
        pairs.append(
            PairExample(prompt, _text(row, "chosen", source, i), _text(row, "rejected", source, i), subset, category, i)
        )
    if not pairs:
        raise EvaluationInputError(f"{source}: no preference pair left ({skipped} rows with a tied winner skipped)")
    if skipped:
        logger.info("%s: skipped %d rows whose winner is a tie", source, skipped)
    return pairs, skipped


def _is_style_list(value: Any) -> bool:
    return isinstance(value, list) and len(value) >= 2 and all(isinstance(v, str) for v in value)


def _candidates(row: dict[str, Any], source: str, i: int) -> tuple[Text, ...]:
    value = row.get("candidates")
    if not isinstance(value, list) or len(value) < 2:
        raise EvaluationInputError(
            f"{source}: row {i}: field 'candidates' must be a list of at least 2 responses, got {value!r:.80}"
        )
    return tuple(_text(row, f"candidates[{c}]", source, i, v) for c, v in enumerate(value))


def candidate_lists(
    data: Any,
    examples: Callable[[Sequence[Any], str], list[CandidateList]],
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
    rows, source = load_rows(data, split=split, columns=columns, limit=limit, seed=seed)
    return examples(rows, source), source


def best_of_n_examples(rows: Sequence[Any], source: str = "rows") -> list[CandidateList]:
    """Validated best-of-N rows: ``prompt``, ``candidates``, ``correct`` (bools, aligned).

    Raises:
        EvaluationInputError: a missing field, fewer than 2 candidates, or ``correct``
            that is not one bool (or 0/1) per candidate.
    """
    out = []
    for i, raw in enumerate(rows):
        row = _row(raw, source, i)
        prompt = _text(row, "prompt", source, i)
        candidates = _candidates(row, source, i)
        correct = row.get("correct")
        if (
            not isinstance(correct, list)
            or len(correct) != len(candidates)
            or any(not isinstance(c, (bool, int)) or c not in (0, 1) for c in correct)
        ):
            raise EvaluationInputError(
                f"{source}: row {i}: field 'correct' must be a list of {len(candidates)} booleans "
                f"(one per candidate), got {correct!r:.80}"
            )
        out.append(CandidateList(prompt, candidates, tuple(float(bool(c)) for c in correct), row.get("principle"), i))
    if not out:
        raise EvaluationInputError(f"{source}: has no rows")
    return out


def listwise_examples(rows: Sequence[Any], source: str = "rows") -> list[CandidateList]:
    """Validated listwise rows: ``prompt``, ``candidates``, ``relevance`` or ``ranking``.

    A ``ranking`` (indices best first) becomes relevance ``k - 1 - place``.

    Raises:
        EvaluationInputError: a missing field, a relevance that is not one number >= 0
            per candidate, a ranking that is not a permutation, a non-string principle.
    """
    out = []
    for i, raw in enumerate(rows):
        row = _row(raw, source, i)
        prompt = _text(row, "prompt", source, i)
        candidates = _candidates(row, source, i)
        k = len(candidates)
        if row.get("relevance") is not None:
            relevance = row["relevance"]
            if (
                not isinstance(relevance, list)
                or len(relevance) != k
                or any(isinstance(r, bool) or not isinstance(r, numbers.Real) or not r >= 0 for r in relevance)
            ):
                raise EvaluationInputError(
                    f"{source}: row {i}: field 'relevance' must be {k} numbers >= 0 (one per candidate), "
                    f"got {relevance!r:.80}"
                )
            labels = tuple(float(r) for r in relevance)
        elif row.get("ranking") is not None:
            ranking = row["ranking"]
            if not isinstance(ranking, list) or sorted(ranking) != list(range(k)):
                raise EvaluationInputError(
                    f"{source}: row {i}: field 'ranking' must list the candidate indices 0..{k - 1} best first, "
                    f"got {ranking!r:.80}"
                )
            grades = [0.0] * k
            for place, c in enumerate(ranking):
                grades[c] = float(k - 1 - place)
            labels = tuple(grades)
        else:
            raise EvaluationInputError(
                f"{source}: row {i}: needs field 'relevance' or 'ranking' (columns: {sorted(row)})"
            )
        principle = row.get("principle")
        if principle is not None and not isinstance(principle, str):
            raise EvaluationInputError(f"{source}: row {i}: field 'principle' must be a string, got {principle!r:.80}")
        out.append(CandidateList(prompt, candidates, labels, principle, i))
    if not out:
        raise EvaluationInputError(f"{source}: has no rows")
    return out
