"""The built-in tasks of the recipes and the proof, behind one small interface.

A task gives a policy its training prompts (with the label column only for the
ground-truth baseline), the ground-truth reward, and the held-out score a proof reports:

- ``constraints`` (the proof's task): short requests with one constraint of the types a
  base policy sometimes meets (``POLICY_TYPES``); the score is held-out satisfaction on
  prompts about unseen topics.
- ``small_sums`` (the hard case: a small judge cannot verify a sum it cannot compute);
  the score is greedy accuracy on the 38 held-out questions.

    task = get_task("constraints")
    rows = task.train_rows(256, seed=0, labels=False)       # prompts only: RRMReward's data
    task.score(model, tokenizer)                            # {"rate": ..., "n": ..., ...}
    task.held_out_rows(16)                                  # held-out prompts with their labels
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# The constraint types a SmolLM2-135M policy meets 12-50% of the time when sampling
# (measured, see ``constraints``): GRPO learns from groups with both outcomes.
POLICY_TYPES = ("include_word", "no_commas", "sentences", "max_words", "end_question", "include_number", "start_with", "bullets")


@dataclass(frozen=True)
class ProofTask:
    """A built-in task: ``train_rows``, the ground-truth ``reward`` (reads ``label_column``)
    and the held-out ``score``."""

    name: str
    label_column: str
    reward: Callable[..., list[float]]
    _rows: Callable[[int, int, bool], list[dict[str, Any]]]
    _score: Callable[..., dict[str, Any]]
    _held_out: Callable[[int | None], list[dict[str, Any]]]

    def train_rows(self, n: int, seed: int, labels: bool) -> list[dict[str, Any]]:
        """``n`` conversational training prompts; the label column only with ``labels``."""
        return self._rows(n, seed, labels)

    def score(self, model: Any, tokenizer: Any, *, max_new_tokens: int = 32, limit: int | None = None) -> dict[str, Any]:
        """The held-out score: ``rate`` (fraction right), ``n``, and details."""
        return self._score(model, tokenizer, max_new_tokens=max_new_tokens, limit=limit)

    def held_out_rows(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The held-out prompts ``score`` reads (the first ``limit`` of them, in its order),
        conversational, each with its label column: what an audit of the judge on the
        trained policy's own answers needs."""
        return self._held_out(limit)


def _constraint_rows(n: int, seed: int, labels: bool) -> list[dict[str, Any]]:
    from .constraints import constraint_prompts, dataset_rows

    rows = dataset_rows(constraint_prompts(n, "train", seed=seed, types=list(POLICY_TYPES)), conversational=True)
    return rows if labels else [{"prompt": row["prompt"]} for row in rows]


def _constraint_held_out(limit: int | None) -> list[dict[str, Any]]:
    from .constraints import dataset_rows

    return dataset_rows(held_out_constraints(limit), conversational=True)


def held_out_constraints(limit: int | None = None) -> list[Any]:
    """Held-out prompts of the policy's types (unseen topics), in a fixed order."""
    from .constraints import evaluation_prompts

    prompts = [p for p in evaluation_prompts("test") if all(c.name in POLICY_TYPES for c in p.constraints)]
    return prompts if limit is None else prompts[:: max(1, len(prompts) // limit)][:limit]


def _constraint_score(model: Any, tokenizer: Any, *, max_new_tokens: int, limit: int | None) -> dict[str, Any]:
    from .constraints import policy_satisfaction

    result = policy_satisfaction(model, tokenizer, held_out_constraints(limit), max_new_tokens=max_new_tokens)
    return {"rate": result["rate"], **{k: v for k, v in result.items() if k != "rate"}}


def _sums_rows(n: int, seed: int, labels: bool) -> list[dict[str, Any]]:
    from .sums import small_sums

    out = []
    for problem in small_sums(n, seed=seed, split="train"):
        item = {"prompt": [{"role": "user", "content": problem.prompt}]}
        if labels:
            item["answer"] = problem.answer
        out.append(item)
    return out


def _sums_held_out(limit: int | None) -> list[dict[str, Any]]:
    from .sums import all_sums

    return [{"prompt": [{"role": "user", "content": p.prompt}], "answer": p.answer} for p in all_sums("test")[:limit]]


def _sums_score(model: Any, tokenizer: Any, *, max_new_tokens: int, limit: int | None) -> dict[str, Any]:
    from .sums import all_sums, policy_accuracy

    result = policy_accuracy(model, tokenizer, all_sums("test")[:limit], max_new_tokens=max_new_tokens)
    return {"rate": result["accuracy"], **result}


def _constraint_reward(*args: Any, **kwargs: Any) -> list[float]:
    from .constraints import constraint_reward

    return constraint_reward(*args, **kwargs)


def _sums_reward(*args: Any, **kwargs: Any) -> list[float]:
    from .sums import correctness_reward

    return correctness_reward(*args, **kwargs)


_constraint_reward.__name__ = "constraints"
_sums_reward.__name__ = "correctness"

TASKS = {
    "constraints": ProofTask("constraints", "constraints", _constraint_reward, _constraint_rows, _constraint_score,
                             _constraint_held_out),
    "small_sums": ProofTask("small_sums", "answer", _sums_reward, _sums_rows, _sums_score, _sums_held_out),
}


def get_task(name: str) -> ProofTask:
    """A built-in task by name (``builtin:<name>`` in the recipes).

    Raises:
        ValueError: an unknown name.
    """
    name = name.removeprefix("builtin:")
    if name not in TASKS:
        raise ValueError(f"task={name!r} is unknown; expected one of {tuple(TASKS)}")
    return TASKS[name]

