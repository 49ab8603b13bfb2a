"""Input data for ``label`` and ``eval``: reading, column mapping, validation, one error type.

    rows = load_rows("prompts.jsonl")          # .jsonl / .json / .parquet, a list, a Dataset, a hub name
    rows.rows[0], rows.at(0)                   # the row and "prompts.jsonl: line 1"

Every error is an ``InputError`` whose message names the source, the row and the field,
raised before anything is written. Rows are numbered one way per source: a ``.jsonl``
file by its line number (``line 12``: what an editor shows), anything else by its index
(``row 3``, from 0). Chat messages are checked fully: a list of dicts, each with a
``role`` from ``ROLES`` and a string ``content`` (or a list of text parts).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from .types import Text

SUFFIXES = (".jsonl", ".json", ".parquet")
ROLES = ("system", "developer", "user", "assistant", "tool")


class InputError(ValueError):
    """Bad input data; the message names the source (file or dataset), the row and the field."""


@dataclass
class Rows:
    """Rows and where each came from: ``at(i)`` is ``"<source>: line 12"`` or ``"<source>: row 3"``."""

    rows: list[Any]
    source: str
    lines: list[int] | None = None  # the file line of each row (.jsonl), else None: indices

    def at(self, i: int) -> str:
        return f"{self.source}: line {self.lines[i]}" if self.lines is not None else f"{self.source}: row {i}"

    def __len__(self) -> int:
        return len(self.rows)

    def head(self, limit: int | None) -> Rows:
        if limit is None:
            return self
        return Rows(self.rows[:limit], self.source, None if self.lines is None else self.lines[:limit])


def read_file(path: str | os.PathLike) -> Rows:
    """The rows of a ``.jsonl`` (blank lines skipped; numbered by line), ``.json`` (a list
    of rows, or a dict of equal-length columns) or ``.parquet`` file.

    Raises:
        InputError: missing or unreadable file, a malformed JSON line, a JSON file that is
            not rows, an unknown suffix. The message starts with the path.
    """
    path = Path(path)
    source = str(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError(f"{source}: unknown file type {suffix!r}; use .jsonl, .json or .parquet")
    try:
        if suffix == ".jsonl":
            rows, lines = [], []
            with path.open(encoding="utf-8") as f:
                for number, line in enumerate(f, 1):
                    if line.strip():
                        try:
                            rows.append(json.loads(line))
                        except json.JSONDecodeError as err:
                            raise InputError(f"{source}: line {number}: not valid JSON ({err.msg})") from None
                        lines.append(number)
            return Rows(rows, source, lines)
        if suffix == ".json":
            with path.open(encoding="utf-8") as f:
                loaded = json.load(f)
            if isinstance(loaded, dict) and loaded and all(isinstance(v, list) for v in loaded.values()):
                n = len(next(iter(loaded.values())))
                if any(len(v) != n for v in loaded.values()):
                    raise InputError(f"{source}: columns have different lengths")
                loaded = [{k: v[i] for k, v in loaded.items()} for i in range(n)]
            if not isinstance(loaded, list):
                raise InputError(f"{source}: expected a JSON list of rows, got {type(loaded).__name__}")
            return Rows(loaded, source)
        import pyarrow.parquet as pq

        return Rows(pq.read_table(path).to_pylist(), source)
    except InputError:
        raise
    except Exception as err:  # OSError, UnicodeDecodeError, JSONDecodeError, pyarrow's own types
        raise InputError(f"{source}: cannot read input file: {type(err).__name__}: {err}") from err


def load_rows(
    data: Any,
    *,
    split: str | None = None,
    columns: Mapping[str, str] | None = None,
    limit: int | None = None,
    seed: int = 0,
) -> Rows:
    """Rows of ``data``: a file, a list of dicts, a ``datasets.Dataset``, ``"builtin:<set>"``
    (``builtin_rows``: ``limit`` rows, seeded) or a hub dataset name (``split``).
    ``columns`` maps fields to the data's columns (``apply_columns``); ``limit`` keeps the
    first rows.

    Raises:
        InputError: unreadable or missing file, a hub dataset that does not load, no rows,
            a bad ``limit``, a missing mapped column.
    """
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise InputError(f"limit={limit!r} must be a positive integer or None")
    if isinstance(data, str) and data.startswith("builtin:"):
        rows = Rows(builtin_rows(data, limit, seed=seed), data)
    elif isinstance(data, (str, os.PathLike)) and (os.path.exists(data) or Path(data).suffix.lower() in SUFFIXES):
        if not os.path.exists(data):
            raise InputError(f"{data}: no such file")
        rows = read_file(data)
    elif isinstance(data, str):
        rows = Rows(_load_hub(data, split), f"{data}[{split or 'train'}]")
    elif isinstance(data, list):
        rows = Rows(data, "rows")
    elif hasattr(data, "column_names") and hasattr(data, "to_list"):
        rows = Rows(data.to_list(), "dataset")
    else:
        raise InputError(
            f"input must be a file, a list of rows, a datasets.Dataset, 'builtin:...' or a hub dataset name; "
            f"got {type(data).__name__}"
        )
    rows = rows.head(limit)
    if not rows.rows:
        raise InputError(f"{rows.source}: has no rows")
    return apply_columns(rows, columns or {})


# "builtin:<name>" names a toy task of the repository, not of the library: the recipes'
# package ``tasks`` (recipes/tasks, its registry), found beside this package in a checkout.
TASKS_DIR = Path(__file__).resolve().parent.parent / "recipes" / "tasks"


def builtin_tasks(name: str = "builtin:") -> ModuleType:
    """The checkout's task package (``recipes/tasks``, imported as ``tasks``): its registry
    (``get_task``, ``EVALUATION_SETS``) is what ``"builtin:<name>"`` names. The library ships
    no task: a checkout installed with ``pip install -e .`` has the folder beside
    ``trl_rrm``; a wheel does not. The package is imported when a built-in name is first
    asked for, never by the library's own imports.

    Raises:
        InputError: naming ``name``: no ``recipes/tasks`` beside the package (the library
            installed without its checkout), or another module already imported as ``tasks``.
    """
    init = TASKS_DIR / "__init__.py"
    loaded = sys.modules.get("tasks")
    if loaded is not None:
        if Path(getattr(loaded, "__file__", None) or "").resolve() == init:
            return loaded
        raise InputError(f"data={name!r}: the built-in tasks are the package 'tasks' of {TASKS_DIR.parent}, "
                         f"but another module named 'tasks' is imported ({getattr(loaded, '__file__', loaded)!r})")  # fmt: skip
    if not init.is_file():
        raise InputError(
            f"data={name!r} is a toy task of the trl-rrm repository (recipes/tasks), which the installed library "
            f"does not ship ({TASKS_DIR} is missing): install trl-rrm from a checkout (git clone, then "
            "pip install -e .), or pass a file, a list of rows or a hub dataset"
        )
    spec = importlib.util.spec_from_file_location("tasks", init, submodule_search_locations=[str(TASKS_DIR)])
    module = importlib.util.module_from_spec(spec)
    sys.modules["tasks"] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules["tasks"]
        raise
    return module


def builtin_task(name: str) -> Any:
    """The task of the evaluation set ``name`` (``"builtin:pairs"`` or ``"pairs"``), checked
    before anything loads (the CLI asks before it loads a judge).

    Raises:
        InputError: see ``builtin_tasks``, or a name that is no evaluation set (the message
            lists them).
    """
    tasks = builtin_tasks(name)
    key = name.removeprefix("builtin:")
    if key not in tasks.EVALUATION_SETS:
        sets = ["builtin:" + k for k in sorted(tasks.EVALUATION_SETS)]
        raise InputError(f"data={name!r} is not a built-in set; choose one of {sets}")
    return tasks.get_task(key)


def builtin_rows(name: str, n: int | None = None, seed: int = 0) -> list[dict[str, Any]]:
    """The rows of the set ``name`` (``"builtin:pairs"`` or ``"pairs"``): ``n`` of them (the
    set's default if None), seeded.

    Raises:
        InputError: see ``builtin_task``, or a bad ``n``.
    """
    task = builtin_task(name)
    try:
        return task.rows(n, seed=seed)
    except ValueError as err:
        raise InputError(str(err)) from None


def _load_hub(name: str, split: str | None) -> list[dict[str, Any]]:
    import datasets

    try:
        dataset = datasets.load_dataset(name, split=split or "train")
    except Exception as err:  # offline, unknown name, unknown split: all end here
        raise InputError(
            f"data={name!r} is neither a file, nor 'builtin:...', nor a loadable hub dataset "
            f"(split={split or 'train'!r}): {type(err).__name__}: {err}"
        ) from err
    return dataset.to_list()


def parse_columns(specs: Sequence[str] | None) -> dict[str, str]:
    """``["prompt=question", "candidates=response_*"]`` -> ``{"prompt": "question", ...}``.

    Raises:
        InputError: a spec without ``=`` or with an empty side.
    """
    out: dict[str, str] = {}
    for spec in specs or ():
        name, sep, column = spec.partition("=")
        if not sep or not name.strip() or not column.strip():
            raise InputError(f"--column {spec!r}: expected FIELD=COLUMN, e.g. prompt=question")
        out[name.strip()] = column.strip()
    return out


def apply_columns(rows: Rows, columns: Mapping[str, str]) -> Rows:
    """Copies each mapped column into its field; a column with ``*`` collects the matching
    columns, in numeric order, into one list (``{"candidates": "response_*"}``)."""
    if not columns:
        return rows
    out = []
    for i, row in enumerate(rows.rows):
        row = dict(check_row(row, rows.at(i)))
        for name, column in columns.items():
            if "*" in column:
                pattern = re.compile("^" + re.escape(column).replace(r"\*", "(.*)") + "$")
                found = [(m.group(1), k) for k in row if (m := pattern.match(k))]
                if not found:
                    raise InputError(f"{rows.at(i)}: no column matches {column!r} (for field {name!r})")
                found.sort(key=lambda item: (int(item[0]) if item[0].isdigit() else float("inf"), item[0]))
                row[name] = [row[k] for _, k in found]
            elif column not in row:
                raise InputError(f"{rows.at(i)}: column {column!r} (mapped to field {name!r}) is missing; columns: {sorted(row)}")
            else:
                row[name] = row[column]
        out.append(row)
    return Rows(out, rows.source, rows.lines)


def check_row(row: Any, where: str) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise InputError(f"{where}: must be an object with named fields, got {type(row).__name__}")
    return row


def check_text(value: Any, where: str, name: str, *, require: bool = True) -> Text:
    """``value`` when it is a non-empty string or a valid list of chat messages.

    A single message dict counts as a one-message list. Every message needs a role: the
    judge renders turns by role (and escapes forged ones), so a message without one would
    fail later, mid-run.

    Raises:
        InputError: naming ``where`` (source and row) and the field: missing (with
            ``require``), empty, not text, a message that is not a dict, a role outside
            ``ROLES`` or not a string, content that is not text, every message empty, a lone
            surrogate anywhere in it (``check_encodable``).
    """
    here = f"{where}: field {name!r}"
    if value is None:
        raise InputError(f"{here} is missing" if require else f"{here} is null")
    check_encodable(value, here)
    if isinstance(value, str):
        if not value.strip():
            raise InputError(f"{here} is empty")
        return value
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise InputError(f"{here} must be text or a list of chat messages, got {type(value).__name__}: {value!r:.80}")
    if not value:
        raise InputError(f"{here} is an empty message list")
    for m, message in enumerate(value):
        if not isinstance(message, dict):
            raise InputError(f"{here}: message {m} must be a dict with 'role' and 'content', got {message!r:.80}")
        role = message.get("role")
        if role is None:
            raise InputError(f"{here}: message {m} has no 'role' (expected one of {ROLES}): {message!r:.80}")
        if role not in ROLES:
            raise InputError(f"{here}: message {m} has role {role!r}; expected one of {ROLES}")
        content = message.get("content")
        calls = message.get("tool_calls")
        if calls is not None and not (isinstance(calls, list) and all(isinstance(c, dict) for c in calls)):
            raise InputError(f"{here}: message {m} tool_calls must be a list of dicts, got {calls!r:.80}")
        if not _is_text_content(content) and not (content is None and calls):
            raise InputError(f"{here}: message {m} content must be a string (or text parts), got {content!r:.80}")
    if not any(message.get("tool_calls") or _content_text(message.get("content")).strip() for message in value):
        raise InputError(f"{here}: every message is empty")
    return value


_SURROGATE = re.compile("[\ud800-\udfff]")


def check_encodable(value: Any, here: str) -> None:
    """Raises ``InputError`` naming ``here``, the place inside ``value`` (``[0]['content']``)
    and the character where a string of ``value`` (walked through lists and dicts, keys too)
    holds a lone surrogate: JSON can spell one (``"\\ud800"``) but it is not text, and the
    run would fail later, writing its output, with no file or line named."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            found = _SURROGATE.search(item)
            if found:
                raise InputError(f"{here}{' ' + path if path else ''}: character {found.start()} is a lone surrogate "
                                 f"(U+{ord(found.group()):04X}), not text: it cannot be written as UTF-8")  # fmt: skip
        elif isinstance(item, dict):  # keys, then values, in order
            inside = [(f"{path} key", key) for key in item]
            inside += [(f"{path}[{key!r}]", entry) for key, entry in item.items()]
            stack.extend(reversed(inside))
        elif isinstance(item, (list, tuple)):
            stack.extend(reversed([(f"{path}[{i}]", entry) for i, entry in enumerate(item)]))


def _is_text_content(content: Any) -> bool:
    if isinstance(content, str):
        return True
    return isinstance(content, list) and all(
        isinstance(part, dict) and isinstance(part.get("text", ""), str) for part in content
    )


def _content_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content)


def check_label(row: dict[str, Any], name: str, where: str) -> str | None:
    """An optional string label (``subset``, ``category``), or None when absent."""
    value = row.get(name)
    if value is None:
        return None
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise InputError(f"{where}: field {name!r} must be a string, got {value!r:.80}")
    check_encodable(value, f"{where}: field {name!r}")
    return str(value)
