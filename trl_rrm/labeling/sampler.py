"""Candidates for rows without any: samples of a policy model."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from ..sampling import generate_completions
from ..types import Text
from .config import LabelingConfig


class PolicySampler:
    """Samples candidates from a causal LM: chat template, left padding, batched, each
    sample seeded by (prompt, index, seed) (``trl_rrm.sampling``).

    Args:
        policy: a model id or path (loaded with transformers), or a loaded model.
        tokenizer: needed when ``policy`` is a loaded model.
        config: the labeling config (``num_candidates``, ``policy_temperature``,
            ``policy_max_new_tokens``, ``policy_batch_size``).
    """

    def __init__(self, policy: Any, tokenizer: Any = None, *, config: LabelingConfig | None = None) -> None:
        self.policy, self._tokenizer = policy, tokenizer
        self.config = config or LabelingConfig()
        self._model: Any = None

    def load(self) -> tuple[Any, Any]:
        """Loads the policy now (a bad path fails before any output is written).

        Raises:
            ValueError: a loaded policy without its tokenizer.
        """
        if self._model is None:
            from transformers import AutoModelForCausalLM, AutoTokenizer

            if isinstance(self.policy, (str, os.PathLike)):
                self._tokenizer = self._tokenizer or AutoTokenizer.from_pretrained(self.policy)
                self._model = AutoModelForCausalLM.from_pretrained(self.policy)
                self._model.eval()
            else:
                if self._tokenizer is None:
                    raise ValueError("a loaded policy model needs its tokenizer (policy_tokenizer=...)")
                self._model = self.policy
        return self._model, self._tokenizer

    def sample(self, prompts: Sequence[Text], seed: int) -> list[list[str]]:
        """``num_candidates`` texts per prompt; a prompt gets the same texts in any batch."""
        model, tokenizer = self.load()
        cfg = self.config
        return generate_completions(
            model, tokenizer, prompts, num_samples=cfg.num_candidates, temperature=cfg.policy_temperature,
            max_new_tokens=cfg.policy_max_new_tokens, batch_size=cfg.policy_batch_size, seed=seed,
        )  # fmt: skip
