"""Verifiable tasks generated in code: preference pairs whose right answer is known.

Nothing is downloaded: the prompts, a correct response and a wrong one are produced
from a seeded RNG, so demos, tests and evaluations run offline and reproducibly.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class PreferencePair:
    """A prompt with a better (``chosen``) and a worse (``rejected``) response."""

    prompt: str
    chosen: str
    rejected: str
    answer: str
    category: str


def _wrong_number(rng: random.Random, right: int) -> int:
    offsets = [d for d in (-10, -2, -1, 1, 2, 10) if right + d >= 0]
    return right + rng.choice(offsets)


def arithmetic_question(rng: random.Random) -> tuple[int, str, int, int, str]:
    """A two-digit addition, subtraction (never negative) or multiplication (by 2-9) drawn
    from ``rng``: ``(a, operator as shown, b, right result, prompt)``."""
    op = rng.choice("+-*")
    a, b = rng.randint(10, 99), rng.randint(10, 99)
    if op == "-" and b > a:
        a, b = b, a
    if op == "*":
        b = rng.randint(2, 9)
    right = a + b if op == "+" else a - b if op == "-" else a * b
    shown = {"+": "+", "-": "-", "*": "×"}[op]
    return a, shown, b, right, f"What is {a} {shown} {b}? Answer with the result."


def arithmetic_pairs(n: int, seed: int = 0) -> list[PreferencePair]:
    """``n`` two-digit addition, subtraction and multiplication questions.

    The chosen response states the right result, the rejected one a near miss (off by
    1, 2 or 10: the mistakes a small model makes), both in the same wording, so only
    correctness separates them.

    Raises:
        ValueError: ``n`` is negative.
    """
    if n < 0:
        raise ValueError(f"n={n!r} must be >= 0")
    rng = random.Random(seed)
    pairs = []
    for _ in range(n):
        a, shown, b, right, prompt = arithmetic_question(rng)
        wrong = _wrong_number(rng, right)
        pairs.append(
            PreferencePair(
                prompt=prompt,
                chosen=f"{a} {shown} {b} = {right}",
                rejected=f"{a} {shown} {b} = {wrong}",
                answer=str(right),
                category="arithmetic",
            )
        )
    return pairs
