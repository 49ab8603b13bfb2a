"""Reading rows from a file: one reader for the labeler, the evaluator and the recipes.

    from trl_rrm.rows import read_rows
    rows = read_rows("prompts.jsonl")    # .jsonl, .json (a list of rows, or columns), .parquet

Errors name the file and, for JSON lines, the line number. Callers pass their own error
type (``LabelingInputError``, ``EvaluationInputError``) so users catch what they expect.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

SUFFIXES = (".jsonl", ".json", ".parquet")


def read_rows(path: str | os.PathLike, error: type[Exception] = ValueError) -> list[Any]:
    """The rows of a ``.jsonl``, ``.json`` or ``.parquet`` file.

    A ``.json`` file holds a list of rows or a dict of equal-length columns. Rows are not
    validated here; each caller checks the fields it needs.

    Raises:
        error: missing or unreadable file, a malformed JSON line, a JSON file that is not a
            list of rows, an unknown suffix. The message starts with the path.
    """
    path = Path(path)
    source = str(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise error(f"{source}: unknown file type {suffix!r}; use .jsonl, .json or .parquet")
    try:
        if suffix == ".jsonl":
            rows = []
            with path.open(encoding="utf-8") as f:
                for number, line in enumerate(f, 1):
                    if line.strip():
                        try:
                            rows.append(json.loads(line))
                        except json.JSONDecodeError as err:
                            raise error(f"{source}: line {number}: not valid JSON ({err.msg})") from None
            return rows
        if suffix == ".json":
            with path.open(encoding="utf-8") as f:
                loaded = json.load(f)
            if isinstance(loaded, dict) and loaded and all(isinstance(v, list) for v in loaded.values()):
                n = len(next(iter(loaded.values())))
                if any(len(v) != n for v in loaded.values()):
                    raise error(f"{source}: columns have different lengths")
                loaded = [{k: v[i] for k, v in loaded.items()} for i in range(n)]
            if not isinstance(loaded, list):
                raise error(f"{source}: expected a JSON list of rows, got {type(loaded).__name__}")
            return loaded
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    except error:
        raise
    except Exception as err:  # OSError, UnicodeDecodeError, JSONDecodeError, pyarrow's own types
        raise error(f"{source}: cannot read input file: {type(err).__name__}: {err}") from err
