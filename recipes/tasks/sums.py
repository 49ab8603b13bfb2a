"""A verifiable task for end-to-end proofs: small sums whose answers code can check.

The recipes (``train_judge.py``, ``grpo_rrm.py``, ``dpo_rrm.py``, ``proof.py``) use it to show, on a model that runs on a laptop, the claim of
reasoning reward models: a judge trained on preference pairs lets a policy be
post-trained on prompts that carry no answer. The answers only serve to *measure*
(policy accuracy, judge accuracy) and to build the ground-truth baseline.

SmolLM2-135M-Instruct answers about half of these questions right when decoding
greedily, so there is room both ways.

    acc = policy_accuracy(model, tokenizer, all_sums("test"))  # {"accuracy": ..., ...}
    problems = small_sums(256, seed=0)                           # training draws
    samples = generate_completions(model, tokenizer, [p.prompt for p in problems], num_samples=4,
                                   temperature=1.0, max_new_tokens=32, seed=0)  # the policy's answers
    pairs = judge_pairs(problems, samples, seed=0)               # one right vs one wrong answer
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from trl_rrm.formats import PairwiseFormat
from trl_rrm.sampling import generate_completions
from trl_rrm.seeds import seeded_rng
from trl_rrm.types import Text

from .common import ShownPair, check_pairwise

_NUMBER = re.compile(r"-?\d+")


@dataclass(frozen=True)
class Problem:
    """A question and its integer answer (``expression`` restates it, e.g. ``"7 + 5"``)."""

    prompt: str
    answer: int
    expression: str


def _held_out(expression: str) -> bool:
    """A fixed quarter of all questions is reserved for evaluation (a stable hash split)."""
    return int(hashlib.sha256(expression.encode()).hexdigest(), 16) % 4 == 0


def small_sums(n: int, seed: int = 0, split: Literal["train", "test"] = "train") -> list[Problem]:
    """``n`` single-digit additions and small subtractions (``a - b`` with ``a <= 18``).

    There are only 171 distinct questions, so ``split`` partitions the questions
    themselves: ``"test"`` draws from a fixed quarter of them (a stable hash of the
    expression) and ``"train"`` from the rest, so held-out questions are never trained on.
    ``seed`` picks the draw (repeats are allowed).

    Raises:
        ValueError: ``n`` is negative or ``split`` is unknown.
    """
    if not isinstance(n, int) or n < 0:
        raise ValueError(f"n={n!r} must be an integer >= 0")
    pool = all_sums(split)
    rng = seeded_rng("small_sums", split, seed)
    return [rng.choice(pool) for _ in range(n)]


def all_sums(split: Literal["train", "test"]) -> list[Problem]:
    """Every question of a split once (133 train, 38 test): the policy evaluation set."""
    if split not in ("train", "test"):
        raise ValueError(f"split={split!r}; expected 'train' or 'test'")
    pool = [(f"{a} + {b}", a + b) for a in range(1, 10) for b in range(1, 10)]
    pool += [(f"{a} - {b}", a - b) for b in range(1, 10) for a in range(b, b + 10) if a <= 18]
    return [
        Problem(prompt=f"What is {e}?", answer=v, expression=e) for e, v in pool if _held_out(e) == (split == "test")
    ]


def completion_text(completion: Text) -> str:
    """The text of a completion, plain or conversational (the last message's content)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion and isinstance(completion[-1], dict):
        return str(completion[-1].get("content", ""))
    raise TypeError(f"completion={completion!r:.80} is neither a string nor a list of messages")


def final_number(text: str) -> int | None:
    """The last integer in ``text``: the answer a response commits to, or None."""
    numbers = _NUMBER.findall(text)
    return int(numbers[-1]) if numbers else None


def is_correct(completion: Text, answer: int) -> bool:
    """True when the completion's last integer equals ``answer``."""
    return final_number(completion_text(completion)) == answer


def correctness_reward(completions: Sequence[Text], answer: Sequence[int], **_: Any) -> list[float]:
    """The ground-truth reward (1.0 right, 0.0 wrong): the baseline that needs answer labels.

    A TRL reward function: the dataset's ``answer`` column arrives as a keyword argument.
    """
    if len(completions) != len(answer):
        raise ValueError(f"len(completions)={len(completions)} != len(answer)={len(answer)}")
    return [1.0 if is_correct(c, int(a)) else 0.0 for c, a in zip(completions, answer)]


correctness_reward.__name__ = "correctness"


def policy_accuracy(
    model: Any, tokenizer: Any, problems: Sequence[Problem], *, max_new_tokens: int = 32, batch_size: int = 64
) -> dict[str, Any]:
    """Greedy accuracy of a policy on ``problems``: ``accuracy``, ``correct``, ``n``, ``examples``."""
    texts = generate_completions(
        model, tokenizer, [p.prompt for p in problems], max_new_tokens=max_new_tokens, batch_size=batch_size
    )
    correct = [is_correct(t[0], p.answer) for t, p in zip(texts, problems)]
    return {
        "accuracy": sum(correct) / max(1, len(problems)),
        "correct": sum(correct),
        "n": len(problems),
        "examples": [{"prompt": p.prompt, "completion": t[0], "correct": c} for p, t, c in list(zip(problems, texts, correct))[:4]],
    }


@dataclass(frozen=True)
class JudgePair(ShownPair):
    """A right and a wrong completion of one problem, in a fixed shown order.

    ``label`` is 0 when the right completion is shown first (``first``), 1 otherwise.
    """

    problem: Problem
    first: str
    second: str
    label: int


def judge_pairs(
    problems: Sequence[Problem], samples: Sequence[Sequence[str]], *, seed: int = 0, per_problem: int = 1
) -> list[JudgePair]:
    """Preference pairs from sampled completions: a right one vs a wrong one.

    Problems whose samples are all right or all wrong give no pair. Completions with
    the same final number count once. The shown order is drawn from a seeded RNG, so
    about half of the pairs have the right answer second.
    """
    if len(problems) != len(samples):
        raise ValueError(f"len(problems)={len(problems)} != len(samples)={len(samples)}")
    rng = seeded_rng("judge_pairs", seed)
    pairs = []
    for problem, texts in zip(problems, samples):
        right, wrong, seen = [], [], set()
        for text in texts:
            number = final_number(text)
            if not text or number in seen:
                continue
            seen.add(number)
            (right if number == problem.answer else wrong).append(text)
        for k in range(min(per_problem, len(right), len(wrong))):
            good, bad = right[k], wrong[k]
            label = rng.randint(0, 1)
            first, second = (good, bad) if label == 0 else (bad, good)
            pairs.append(JudgePair(problem=problem, first=first, second=second, label=label))
    return pairs


def _says(text: str) -> str:
    number = final_number(text)
    return "gives no number" if number is None else f"answers {number}"


def judge_trace(pair: JudgePair, fmt: PairwiseFormat) -> str:
    """A short worked judgment of ``pair`` in ``fmt`` (``trl_rrm.formats.get_format``):
    compute the answer, check each response, verdict.

    The warm-start (SFT) targets of ``recipes/train_judge.py``, written by code that knows
    the answer: the distillation stage of RM-R1 with a program as the teacher.

    Raises:
        TypeError: ``fmt`` is not a pairwise format.
    """
    check_pairwise(fmt)
    p = pair.problem
    checks = []
    for name, text in zip(fmt.names, (pair.first, pair.second)):
        checks.append(f"{name} {_says(text)}, which is {'right' if final_number(text) == p.answer else 'wrong'}.")
    return fmt.written_judgment(f"{p.expression} = {p.answer}.", checks, pair.label, kind="reasoning")


_WORDINGS = ("{e} = {n}", "The answer is {n}.", "{e} is {n}.", "{n}")


def templated_samples(problems: Sequence[Problem], *, seed: int = 0) -> list[list[str]]:
    """A right and a near-miss answer per problem, in varied wording (no model needed).

    For quick runs and tests; the proof judges the policy's own samples instead
    (``trl_rrm.sampling.generate_completions``).
    """
    rng = seeded_rng("templated", seed)
    out = []
    for p in problems:
        wrong = p.answer + rng.choice([d for d in (-2, -1, 1, 2) if p.answer + d >= 0])
        out.append([rng.choice(_WORDINGS).format(e=p.expression, n=n) for n in (p.answer, wrong)])
    return out
