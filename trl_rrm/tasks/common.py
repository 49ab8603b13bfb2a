"""What the toy tasks share: a pair in a shown order, and the policy's sampled answers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class ShownPair:
    """A right and a wrong response in a fixed shown order (``first``, ``second``):
    ``label`` is 0 when the right one is shown first, 1 otherwise."""

    first: str
    second: str
    label: int

    @property
    def chosen(self) -> str:
        return self.first if self.label == 0 else self.second

    @property
    def rejected(self) -> str:
        return self.second if self.label == 0 else self.first


def sample_completions(
    model: Any,
    tokenizer: Any,
    problems: Sequence[Any],
    *,
    num_samples: int = 4,
    temperature: float = 1.0,
    max_new_tokens: int = 32,
    seed: int = 0,
    batch_size: int = 64,
) -> list[list[str]]:
    """``num_samples`` sampled completions per problem (anything with a ``prompt``): the
    policy's own answers, to judge (chat template, batched, seeded, the model's mode
    restored: ``trl_rrm.sampling.generate_completions``)."""
    from ..sampling import generate_completions

    return generate_completions(
        model,
        tokenizer,
        [p.prompt for p in problems],
        num_samples=num_samples,
        temperature=temperature,
        max_new_tokens=max_new_tokens,
        seed=seed,
        batch_size=batch_size,
    )
