"""Judge data for constraint prompts: preference pairs and short code-written judge traces.

``JudgePair`` has the shape of ``trl_rrm.tasks.sums.JudgePair`` (``problem``, ``first``,
``second``, ``label``, ``chosen``, ``rejected``; ``problem.prompt`` is the text the judge
sees), so ``sums.judge_accuracy`` and the judge-training code read either.

    samples = sample_completions(model, tokenizer, prompts, num_samples=4)
    pairs = judge_pairs(prompts, samples, seed=0)        # the policy's own answers
    pairs += templated_pairs(prompts, seed=0)            # written by code, for rare types
    judge_trace(pairs[0], "rrm")                         # SFT target: check each, then verdict
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..common import ShownPair
from . import text as T
from .prompts import ConstraintPrompt
from .templated import respond


@dataclass(frozen=True)
class JudgePair(ShownPair):
    """A response that satisfies all constraints and one that does not, in a fixed shown
    order: ``label`` is 0 when the satisfying one is shown first, 1 otherwise."""

    problem: ConstraintPrompt
    first: str
    second: str
    label: int

    def to_dict(self) -> dict[str, Any]:
        return {"problem": self.problem.to_dict(), "first": self.first, "second": self.second, "label": self.label}

    @classmethod
    def from_dict(cls, row: Mapping[str, Any]) -> JudgePair:
        return cls(ConstraintPrompt.from_dict(row["problem"]), row["first"], row["second"], int(row["label"]))


def _ordered(rng: random.Random, prompt: ConstraintPrompt, good: str, bad: str) -> JudgePair:
    label = rng.randint(0, 1)
    first, second = (good, bad) if label == 0 else (bad, good)
    return JudgePair(problem=prompt, first=first, second=second, label=label)


def judge_pairs(
    prompts: Sequence[ConstraintPrompt], samples: Sequence[Sequence[str]], *, seed: int = 0, per_prompt: int = 1
) -> list[JudgePair]:
    """Preference pairs from sampled completions: one satisfying all constraints vs one not.

    Prompts whose samples all pass or all fail give no pair; empty completions and
    repeats of an earlier text (ignoring surrounding whitespace) are skipped. The shown
    order comes from a seeded RNG, so about half the pairs have the satisfying one second.

    Raises:
        ValueError: ``prompts`` and ``samples`` differ in length, or ``per_prompt`` < 1.
    """
    if len(prompts) != len(samples):
        raise ValueError(f"len(prompts)={len(prompts)} != len(samples)={len(samples)}")
    if per_prompt < 1:
        raise ValueError(f"per_prompt={per_prompt!r} must be >= 1")
    rng = random.Random(f"constraint_judge_pairs:{seed}")
    pairs = []
    for prompt, texts in zip(prompts, samples):
        good, bad, seen = [], [], set()
        for text in texts:
            key = T.clean(text)
            if not key or key in seen:
                continue
            seen.add(key)
            (good if prompt.check(text) else bad).append(text)
        pairs += [_ordered(rng, prompt, g, b) for g, b in list(zip(good, bad))[:per_prompt]]
    return pairs


def templated_pairs(prompts: Sequence[ConstraintPrompt], *, seed: int = 0) -> list[JudgePair]:
    """One pair per prompt written by code (no model): a satisfying response and a near
    miss that breaks exactly one constraint (``templated.respond``), in a seeded shown
    order. Prompts for which no verified pair is found are skipped (rare: custom words
    without a carrier phrase)."""
    rng = random.Random(f"constraint_templated_pairs:{seed}")
    pairs = []
    for i, prompt in enumerate(prompts):
        found = respond(prompt, random.Random(f"{seed}:{i}:{prompt.prompt}"))
        if found is not None:
            pairs.append(_ordered(rng, prompt, *found))
    return pairs


_NAMES = {
    "rrm": ("Assistant 1", "Assistant 2"),
    "rm_r1": ("Chatbot A", "Chatbot B"),
    "rm_r1_distilled": ("Chatbot A", "Chatbot B"),
}


def judge_trace(pair: JudgePair, fmt_name: str = "rrm") -> str:
    """A short worked judgment of ``pair``: state the constraint(s), check each response
    with ``describe`` (what was checked, yes/no, the evidence), then the verdict.

    The warm-start (SFT) targets of a judge, written by code that knows the rules:

        Constraint: Include the word 'purple'.
        Assistant 1 uses the word 'purple': no.
        Assistant 2 uses the word 'purple': yes.
        \\boxed{Assistant 2}

    ``rm_r1`` formats name Chatbot A / B inside ``<rubric>``/``<eval>`` and answer
    ``<answer>[[A]]</answer>``. The verdict follows ``pair.label``.

    Raises:
        ValueError: ``fmt_name`` is not a pairwise format.
    """
    if fmt_name not in _NAMES:
        raise ValueError(f"fmt_name={fmt_name!r} has no trace; expected rrm, rm_r1 or rm_r1_distilled")
    constraints = pair.problem.constraints
    rule = f"Constraint{'s' * (len(constraints) > 1)}: " + " ".join(c.instruction() for c in constraints)
    names = _NAMES[fmt_name]
    checks = [
        f"{name} " + "; ".join(c.describe(text) for c in constraints) + "."
        for name, text in zip(names, (pair.first, pair.second))
    ]
    if fmt_name == "rrm":
        return "\n".join([rule, *checks, f"\\boxed{{{names[pair.label]}}}"])
    verdict = f"<answer>[[{'AB'[pair.label]}]]</answer>"
    return "\n".join(["<type>Chat</type>", f"<rubric>{rule}</rubric>", "<eval>", *checks, "</eval>", verdict])
