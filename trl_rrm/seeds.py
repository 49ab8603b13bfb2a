"""Seeds from content: identical across processes, ranks and runs. Pure Python.

Python's ``hash()`` is salted per process, so nothing here uses it. Two helpers, one for
each way a seed is consumed:

    stable_seed(0, "q", "a", "b")               # a 64-bit int (SHA-256 of the parts): torch generators
    seeded_rng("trl_rrm", "eval", seed, row)    # a random.Random seeded with the parts joined by ":"

A message list among ``stable_seed``'s parts counts by its rendered text.
"""

from __future__ import annotations

import hashlib
import random

from .formats import render_text


def stable_seed(*parts: object) -> int:
    """A 64-bit seed from content, identical across processes and runs (unlike hash())."""
    digest = hashlib.sha256("\x1f".join(_render_part(p) for p in parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "little")


def seeded_rng(*parts: object) -> random.Random:
    """A ``random.Random`` seeded with ``parts`` joined by ``":"`` (a string seed, which
    ``random.Random`` hashes with SHA-512): different parts give independent streams."""
    return random.Random(":".join(str(p) for p in parts))


def _render_part(part: object) -> str:
    if isinstance(part, (str, int, float)) or part is None:
        return str(part)
    return render_text(part)  # a message list


__all__ = ["seeded_rng", "stable_seed"]
