"""Held-out preference pairs kept beside a judge adapter: one jsonl row per pair
(``split``, ``prompt``, ``chosen``, ``rejected``, ``subset``), so a later run measures a
judge, or a second training stage, on exactly the pairs its first stage never saw.

    save_held_out(out / HELD_OUT_FILE, {"test": pairs, "test_types": other})
    adapter_held_out("recipes/adapters/my-judge", limit=5)  # first 5 pairs of every subset
"""

from __future__ import annotations

import json
from pathlib import Path

from .data import PairExample

HELD_OUT_FILE = "held_out_pairs.jsonl"


def save_held_out(path: Path, held_out: dict[str, list[PairExample]]) -> None:
    """One row per held-out pair: ``split``, ``prompt``, ``chosen``, ``rejected``, ``subset``."""
    with open(path, "w") as f:
        for split, pairs in held_out.items():
            for p in pairs:
                row = {"split": split, "prompt": p.prompt, "chosen": p.chosen, "rejected": p.rejected,
                       "subset": p.subset}  # fmt: skip
                f.write(json.dumps(row) + "\n")


def load_held_out(path: Path) -> dict[str, list[PairExample]]:
    """What ``save_held_out`` wrote, by split."""
    held_out: dict[str, list[PairExample]] = {}
    for line in Path(path).read_text().splitlines():
        row = json.loads(line)
        held_out.setdefault(row.pop("split"), []).append(PairExample(**row))
    return held_out


def adapter_held_out(adapter: str | None, limit: int) -> dict[str, list[PairExample]] | None:
    """The first ``limit`` pairs of each subset in ``adapter``'s held-out file, by split
    (None: no adapter, or no such file)."""
    saved = Path(adapter or "-") / HELD_OUT_FILE
    if not adapter or not saved.is_file():
        return None
    return {split: first_per_subset(pairs, limit) for split, pairs in load_held_out(saved).items()}


def first_per_subset(pairs: list[PairExample], limit: int) -> list[PairExample]:
    """The first ``limit`` pairs of every subset (constraint type), in file order."""
    seen: dict[str | None, int] = {}
    kept = []
    for pair in pairs:
        seen[pair.subset] = seen.get(pair.subset, 0) + 1
        if seen[pair.subset] <= limit:
            kept.append(pair)
    return kept
