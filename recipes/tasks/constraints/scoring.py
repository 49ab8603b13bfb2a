"""Ground truth for constraint prompts: the TRL reward, satisfaction rates, a policy's held-out satisfaction.

    rows = dataset_rows(constraint_prompts(256, "train"))           # prompt + constraints (JSON)
    GRPOTrainer(..., reward_funcs=constraint_reward, train_dataset=Dataset.from_list(rows))
    satisfaction(completions, prompts)                              # {"rate": ..., "per_type": ...}
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from trl_rrm.sampling import generate_completions
from trl_rrm.types import Text

from ..sums import completion_text
from .prompts import ConstraintPrompt, as_constraint_prompt


def _rewards(completions: Sequence[Text], constraints: Sequence[Any], partial: bool) -> list[float]:
    if len(completions) != len(constraints):
        raise ValueError(f"len(completions)={len(completions)} != len(constraints)={len(constraints)}")
    prompts = [as_constraint_prompt(c) for c in constraints]
    texts = [completion_text(c) for c in completions]
    return [p.credit(t) if partial else float(p.check(t)) for p, t in zip(prompts, texts)]


def constraint_reward(completions: Sequence[Text], constraints: Sequence[Any], **_: Any) -> list[float]:
    """1.0 when a completion satisfies all its prompt's constraints, else 0.0.

    A TRL reward function: the dataset's ``constraints`` column (``dataset_rows``: JSON
    strings; dicts and ``ConstraintPrompt`` objects work too) arrives as a keyword argument.
    Completions may be strings or conversational message lists.

    Raises:
        ValueError: the lengths differ, or a ``constraints`` entry cannot be read.
    """
    return _rewards(completions, constraints, partial=False)


def constraint_credit_reward(completions: Sequence[Text], constraints: Sequence[Any], **_: Any) -> list[float]:
    """Partial credit in [0, 1] (the mean over the prompt's constraints; 1.0 exactly when
    all are satisfied): a denser signal for GRPO groups whose members all fail."""
    return _rewards(completions, constraints, partial=True)


constraint_reward.__name__ = "constraints"
constraint_credit_reward.__name__ = "constraint_credit"


def _samples(completion: Any) -> list[str]:
    # A string or a message list is one completion; a list of strings is several samples.
    if isinstance(completion, list) and all(isinstance(c, str) for c in completion) and completion:
        return list(completion)
    return [completion_text(completion)]


def satisfaction(completions: Sequence[Any], prompts: Sequence[ConstraintPrompt]) -> dict[str, Any]:
    """How often completions satisfy their prompts' constraints.

    ``completions[i]`` belongs to ``prompts[i]``: a string, a message list, or a list of
    sampled strings (each counted). Returns ``rate`` (all constraints met), ``satisfied``,
    ``n`` (completions), ``credit`` (mean partial credit) and ``per_type``: for each type,
    ``rate``, ``satisfied``, ``n`` and ``credit`` over the constraints of that type.

    Raises:
        ValueError: the lengths differ.
    """
    if len(completions) != len(prompts):
        raise ValueError(f"len(completions)={len(completions)} != len(prompts)={len(prompts)}")
    total = satisfied = 0
    credit = 0.0
    per_type: dict[str, dict[str, float]] = {}
    for completion, prompt in zip(completions, prompts):
        for text in _samples(completion):
            total += 1
            satisfied += prompt.check(text)
            credit += prompt.credit(text)
            for c in prompt.constraints:
                row = per_type.setdefault(c.name, {"satisfied": 0, "n": 0, "credit": 0.0})
                row["satisfied"] += c.check(text)
                row["n"] += 1
                row["credit"] += c.credit(text)
    for row in per_type.values():
        row["rate"] = row["satisfied"] / row["n"]
        row["credit"] = row["credit"] / row["n"]
    return {
        "rate": satisfied / max(1, total),
        "satisfied": satisfied,
        "n": total,
        "credit": credit / max(1, total),
        "per_type": dict(sorted(per_type.items())),
    }


def policy_satisfaction(
    model: Any, tokenizer: Any, prompts: Sequence[ConstraintPrompt], *, max_new_tokens: int = 32, batch_size: int = 64
) -> dict[str, Any]:
    """Greedy satisfaction of a policy on ``prompts``: ``satisfaction``'s keys plus
    ``examples`` (the first four prompts, completions and results)."""
    texts = [t[0] for t in generate_completions(
        model, tokenizer, [p.prompt for p in prompts], max_new_tokens=max_new_tokens, batch_size=batch_size
    )]  # fmt: skip
    result = satisfaction(texts, prompts)
    result["examples"] = [
        {"prompt": p.prompt, "completion": t, "satisfied": p.check(t)} for p, t in list(zip(prompts, texts))[:4]
    ]
    return result
