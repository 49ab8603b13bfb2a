"""The one registry of ``builtin:<name>``: every toy task by name, behind one small interface.

A task gives what its name is asked for, and nothing else:

- an evaluation set (``rows``): what ``trl-rrm eval --input builtin:<name>`` and
  ``evaluate_*(judge, "builtin:<name>")`` read (``trl_rrm.inputs.builtin_rows``);
- a policy's training prompts (``train_rows``): what ``grpo_rrm.py --dataset builtin:<name>``
  and ``dpo_rrm.py --task <name>`` train on;
- with a checker, the ground-truth ``reward`` (reads ``label_column``) and the held-out
  ``score`` a proof reports.

=============  ===============================  ================================  =======
name           evaluation set                   training prompts                  checker
=============  ===============================  ================================  =======
pairs          4 verifiable tasks, pairs        -                                 -
best_of_n      arithmetic, N candidates         -                                 -
listwise       arithmetic, graded candidates    -                                 -
arithmetic     arithmetic pairs (the demo's)    the pairs' questions (DPO)        -
constraints    held-out pairs, unseen topics    requests of ``POLICY_TYPES``      yes
small_sums     -                                small sums (the hard case)        yes
=============  ===============================  ================================  =======

    task = get_task("constraints")                      # or "builtin:constraints"
    task.rows(16, seed=0)                               # held-out pairs: an evaluation set
    rows = task.train_rows(256, seed=0, labels=False)   # prompts only: RRMReward's data
    task.score(model, tokenizer)                        # {"rate": ..., "n": ..., ...}
    task.held_out_rows(16)                              # held-out prompts with their labels
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .arithmetic import arithmetic_pairs
from .constraints import constraint_prompts, constraint_reward, dataset_rows, evaluation_prompts, policy_satisfaction
from .eval_sets import arithmetic_set, best_of_n_set, constraint_set, listwise_set, pairwise_set
from .sums import all_sums, correctness_reward, policy_accuracy, small_sums

# The constraint types a SmolLM2-135M policy meets 12-50% of the time when sampling
# (measured, see ``constraints``): GRPO learns from groups with both outcomes.
POLICY_TYPES = ("include_word", "no_commas", "sentences", "max_words", "end_question", "include_number", "start_with", "bullets")

Rows = list[dict[str, Any]]


@dataclass(frozen=True)
class Task:
    """A built-in task: an evaluation set (``rows``), training prompts (``train_rows``) or
    both; with a checker (``checked``), the ground-truth ``reward`` and the held-out ``score``."""

    name: str
    _rows: Callable[..., Rows] | None = None
    _train_rows: Callable[[int, int, bool], Rows] | None = None
    label_column: str | None = None
    reward: Callable[..., list[float]] | None = None
    _score: Callable[..., dict[str, Any]] | None = None
    _held_out: Callable[[int | None], Rows] | None = None

    @property
    def evaluates(self) -> bool:
        return self._rows is not None

    @property
    def trains(self) -> bool:
        return self._train_rows is not None

    @property
    def checked(self) -> bool:
        return self.reward is not None

    def rows(self, n: int | None = None, seed: int = 0) -> Rows:
        """The evaluation set: ``n`` rows (None: the set's default size), seeded.

        Raises:
            ValueError: the task has no evaluation set, or a bad ``n``.
        """
        if self._rows is None:
            raise ValueError(f"builtin:{self.name} has no evaluation set; sets: {_named(EVALUATION_SETS)}")
        return self._rows(seed=seed) if n is None else self._rows(n, seed=seed)

    def train_rows(self, n: int, seed: int, labels: bool) -> Rows:
        """``n`` conversational training prompts; the label column only with ``labels``.

        Raises:
            ValueError: the task has no training prompts.
        """
        if self._train_rows is None:
            raise ValueError(f"builtin:{self.name} has no training prompts; tasks: {_named(TRAINING_TASKS)}")
        return self._train_rows(n, seed, labels)

    def score(self, model: Any, tokenizer: Any, *, max_new_tokens: int = 32, limit: int | None = None) -> dict[str, Any]:
        """The held-out score: ``rate`` (fraction right), ``n``, and details.

        Raises:
            ValueError: the task has no checker.
        """
        return self._checker(self._score)(model, tokenizer, max_new_tokens=max_new_tokens, limit=limit)

    def held_out_rows(self, limit: int | None = None) -> Rows:
        """The held-out prompts ``score`` reads (the first ``limit`` of them, in its order),
        conversational, each with its label column: what an audit of the judge on the
        trained policy's own answers needs.

        Raises:
            ValueError: the task has no checker.
        """
        return self._checker(self._held_out)(limit)

    def _checker(self, part: Callable[..., Any] | None) -> Callable[..., Any]:
        if part is None:
            raise ValueError(f"builtin:{self.name} has no checker; checked tasks: {_named(CHECKED_TASKS)}")
        return part


def _named(names: tuple[str, ...]) -> list[str]:
    return [f"builtin:{name}" for name in names]


def _chat(prompt: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": prompt}]


def _arithmetic_rows(n: int, seed: int, labels: bool) -> Rows:
    return [{"prompt": _chat(p.prompt)} for p in arithmetic_pairs(n, seed=seed)]  # no checker: no label column


def _constraint_rows(n: int, seed: int, labels: bool) -> Rows:
    rows = dataset_rows(constraint_prompts(n, "train", seed=seed, types=list(POLICY_TYPES)), conversational=True)
    return rows if labels else [{"prompt": row["prompt"]} for row in rows]


def _constraint_held_out(limit: int | None) -> Rows:
    return dataset_rows(held_out_constraints(limit), conversational=True)


def held_out_constraints(limit: int | None = None) -> list[Any]:
    """Held-out prompts of the policy's types (unseen topics), in a fixed order."""
    prompts = [p for p in evaluation_prompts("test") if all(c.name in POLICY_TYPES for c in p.constraints)]
    return prompts if limit is None else prompts[:: max(1, len(prompts) // limit)][:limit]


def _constraint_score(model: Any, tokenizer: Any, *, max_new_tokens: int, limit: int | None) -> dict[str, Any]:
    result = policy_satisfaction(model, tokenizer, held_out_constraints(limit), max_new_tokens=max_new_tokens)
    return {"rate": result["rate"], **{k: v for k, v in result.items() if k != "rate"}}


def _sums_rows(n: int, seed: int, labels: bool) -> Rows:
    out = []
    for problem in small_sums(n, seed=seed, split="train"):
        item = {"prompt": _chat(problem.prompt)}
        if labels:
            item["answer"] = problem.answer
        out.append(item)
    return out


def _sums_held_out(limit: int | None) -> Rows:
    return [{"prompt": _chat(p.prompt), "answer": p.answer} for p in all_sums("test")[:limit]]


def _sums_score(model: Any, tokenizer: Any, *, max_new_tokens: int, limit: int | None) -> dict[str, Any]:
    result = policy_accuracy(model, tokenizer, all_sums("test")[:limit], max_new_tokens=max_new_tokens)
    return {"rate": result["accuracy"], **result}


TASKS: dict[str, Task] = {
    task.name: task
    for task in (
        Task("pairs", pairwise_set),
        Task("best_of_n", best_of_n_set),
        Task("listwise", listwise_set),
        Task("constraints", constraint_set, _constraint_rows, "constraints", constraint_reward, _constraint_score,
             _constraint_held_out),
        Task("small_sums", None, _sums_rows, "answer", correctness_reward, _sums_score, _sums_held_out),
        Task("arithmetic", arithmetic_set, _arithmetic_rows),
    )
}  # fmt: skip
EVALUATION_SETS = tuple(name for name, task in TASKS.items() if task.evaluates)
TRAINING_TASKS = tuple(name for name, task in TASKS.items() if task.trains)
CHECKED_TASKS = tuple(name for name, task in TASKS.items() if task.checked)


def get_task(name: str) -> Task:
    """A built-in task by name (``"constraints"`` or ``"builtin:constraints"``).

    Raises:
        ValueError: an unknown name.
    """
    key = name.removeprefix("builtin:")
    if key not in TASKS:
        raise ValueError(f"task={name!r} is unknown; expected one of {_named(tuple(TASKS))}")
    return TASKS[key]
