"""Small evaluation sets generated in code: verifiable tasks, so ``trl-rrm eval`` runs offline.

Every set is a list of plain dict rows in the input format of the evaluators, built
from a seeded RNG (the same ``(n, seed)`` gives the same rows on every machine):

- ``arithmetic_set``: ``prompt``, ``chosen`` (the right result), ``rejected`` (a near miss,
  same wording): the pairs of ``trl-rrm demo``.
- ``pairwise_set``: ``prompt``, ``chosen`` (right), ``rejected`` (a near miss), ``subset``
  (the task) and ``category``: arithmetic and sorting are ``numbers``, reversing a word
  and counting a letter are ``text``.
- ``best_of_n_set``: ``prompt``, ``candidates`` (n answers in varied wording, shuffled) and
  ``correct`` (one bool per candidate); every prompt has at least one right and one
  wrong candidate, so a random pick and the oracle differ.
- ``listwise_set``: ``prompt``, ``principle``, ``candidates`` whose stated results miss the
  true one by graded amounts (0, 1, 10, 100, ...) and ``relevance`` (higher is better:
  the reference ranking, by absolute error).

``trl_rrm.inputs.builtin_rows("builtin:pairs")`` (also ``builtin:arithmetic``,
``builtin:constraints``, ``builtin:best_of_n`` and ``builtin:listwise``) gives them by
name, as the CLI's ``--input builtin:<set>`` does, through the registry (``registry.TASKS``).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from trl_rrm.seeds import seeded_rng

from .arithmetic import arithmetic_pairs, arithmetic_question

_WORDS = (
    "planet", "garden", "window", "bridge", "rocket", "silver", "mirror", "forest", "candle", "violin",
    "pepper", "marble", "castle", "harbor", "jungle", "lantern", "meadow", "orchard", "pebble", "quartz",
    "ribbon", "saddle", "thunder", "velvet", "walnut", "yellow", "zephyr", "blossom", "compass", "dolphin",
    "strawberry", "banana", "committee", "mississippi", "bookkeeper", "parallel", "balloon", "coffee",
)

# Wordings of an arithmetic answer (best-of-N candidates differ in more than the number).
_ANSWER_WORDINGS = (
    "{a} {op} {b} = {x}",
    "The answer is {x}.",
    "{x}",
    "Computing {a} {op} {b} gives {x}.",
    "Result: {x}",
    "Let me work it out: {a} {op} {b} equals {x}.",
)

PAIRWISE_SUBSETS = {"arithmetic": "numbers", "sorting": "numbers", "reverse": "text", "counting": "text"}
LISTWISE_PRINCIPLE = "Prefer the response whose stated result is closest to the exact result of the computation."


def _check_n(name: str, value: int, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name}={value!r} must be an integer >= {minimum}")


def _near_miss(rng: random.Random, word: str) -> str:
    """``word`` with two neighbouring, different letters swapped."""
    spots = [i for i in range(len(word) - 1) if word[i] != word[i + 1]]
    i = rng.choice(spots)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def _sorting(rng: random.Random) -> tuple[str, str, str]:
    values = rng.sample(range(1, 100), rng.randint(4, 6))
    ordered = sorted(values)
    wrong = list(ordered)
    i = rng.randrange(len(wrong) - 1)
    wrong[i], wrong[i + 1] = wrong[i + 1], wrong[i]
    prompt = f"Sort these numbers in ascending order: {', '.join(map(str, values))}."
    return prompt, ", ".join(map(str, ordered)), ", ".join(map(str, wrong))


def _reverse(rng: random.Random) -> tuple[str, str, str]:
    word = rng.choice(_WORDS)
    right = word[::-1]
    return f"Write the word '{word}' backwards.", right, _near_miss(rng, right)


def _counting(rng: random.Random) -> tuple[str, str, str]:
    word = rng.choice(_WORDS)
    letter = rng.choice(sorted(set(word)))
    right = word.count(letter)
    wrong = right + rng.choice([-1, 1]) if right > 1 else right + 1
    prompt = f"How many times does the letter '{letter}' appear in the word '{word}'?"
    def say(count: int) -> str:
        return f"The letter '{letter}' appears {count} time{'' if count == 1 else 's'}."

    return prompt, say(right), say(wrong)


_GENERATORS: dict[str, Callable[[random.Random], tuple[str, str, str]]] = {
    "sorting": _sorting,
    "reverse": _reverse,
    "counting": _counting,
}


def pairwise_set(n: int = 64, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` preference pairs, the four tasks in turn (arithmetic, sorting, reverse, counting).

    Chosen and rejected use the same wording, so only correctness separates them.

    Raises:
        ValueError: ``n`` is not an integer >= 1.
    """
    _check_n("n", n, 1)
    rng = seeded_rng("trl_rrm", "eval", "pairs", seed)
    arithmetic = iter(arithmetic_pairs((n + 3) // 4, seed=seed))
    rows = []
    for i in range(n):
        subset = list(PAIRWISE_SUBSETS)[i % 4]
        if subset == "arithmetic":
            pair = next(arithmetic)
            prompt, chosen, rejected = pair.prompt, pair.chosen, pair.rejected
        else:
            prompt, chosen, rejected = _GENERATORS[subset](rng)
        rows.append(_pair_row(prompt, chosen, rejected, subset))
    return rows


def _pair_row(prompt: str, chosen: str, rejected: str, subset: str) -> dict[str, Any]:
    return {"prompt": prompt, "chosen": chosen, "rejected": rejected, "subset": subset, "category": PAIRWISE_SUBSETS[subset]}


def arithmetic_set(n: int = 32, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` arithmetic preference pairs (``arithmetic.arithmetic_pairs(n, seed)``, as rows):
    the right result vs a near miss in the same wording.

    Raises:
        ValueError: ``n`` is not an integer >= 1.
    """
    _check_n("n", n, 1)
    return [_pair_row(p.prompt, p.chosen, p.rejected, "arithmetic") for p in arithmetic_pairs(n, seed=seed)]


def best_of_n_set(n: int = 16, candidates: int = 4, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` arithmetic prompts with ``candidates`` answers each and their correctness.

    Between 1 and ``candidates - 1`` answers are right (the number drawn per prompt); the
    wrong ones miss by 1, 2 or 10. Wordings vary, so equal numbers are rarely equal texts.

    Raises:
        ValueError: ``n`` < 1 or ``candidates`` < 2.
    """
    _check_n("n", n, 1)
    _check_n("candidates", candidates, 2)
    rng = seeded_rng("trl_rrm", "eval", "best_of_n", seed)
    rows = []
    for _ in range(n):
        a, op, b, right, prompt = arithmetic_question(rng)
        n_right = rng.randint(1, candidates - 1)
        answers = [(right, True)] * n_right
        for _ in range(candidates - n_right):
            answers.append((right + rng.choice([d for d in (-10, -2, -1, 1, 2, 10) if right + d >= 0]), False))
        rng.shuffle(answers)
        texts = [rng.choice(_ANSWER_WORDINGS).format(a=a, op=op, b=b, x=x) for x, _ in answers]
        rows.append({"prompt": prompt, "candidates": texts, "correct": [ok for _, ok in answers]})
    return rows


def listwise_set(n: int = 16, candidates: int = 4, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` arithmetic prompts with ``candidates`` answers off by 0, 1, 10, 100, ... (graded).

    ``relevance`` is ``candidates - 1`` for the exact answer down to 0 for the largest
    miss; the candidates are shuffled. At most 5 candidates (errors up to 1000).

    Raises:
        ValueError: ``n`` < 1, or ``candidates`` outside 2..5.
    """
    _check_n("n", n, 1)
    _check_n("candidates", candidates, 2)
    if candidates > 5:
        raise ValueError(f"candidates={candidates!r} must be <= 5 (graded errors 0, 1, 10, 100, 1000)")
    rng = seeded_rng("trl_rrm", "eval", "listwise", seed)
    rows = []
    for _ in range(n):
        a, op, b, right, prompt = arithmetic_question(rng)
        graded = []
        for level, error in enumerate((0, 1, 10, 100, 1000)[:candidates]):
            sign = -1 if error and right - error >= 0 and rng.random() < 0.5 else 1
            graded.append((right + sign * error, candidates - 1 - level))
        rng.shuffle(graded)
        rows.append(
            {
                "prompt": prompt,
                "principle": LISTWISE_PRINCIPLE,
                "candidates": [f"{a} {op} {b} = {x}" for x, _ in graded],
                "relevance": [rel for _, rel in graded],
            }
        )
    return rows


def constraint_set(n: int = 384, seed: int = 0) -> list[dict[str, Any]]:
    """Held-out constraint prompts (unseen topics), a satisfying response and a near miss
    written by code (``constraints.templated_pairs``); ``subset`` is the type."""
    from .constraints import evaluation_prompts, templated_pairs

    _check_n("n", n, 1)
    rows = []
    for pair in templated_pairs(evaluation_prompts("test")[:n], seed=seed):
        rows.append({"prompt": pair.problem.prompt, "chosen": pair.chosen, "rejected": pair.rejected,
                     "subset": "+".join(c.name for c in pair.problem.constraints)})  # fmt: skip
    return rows
