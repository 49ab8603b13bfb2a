"""HFJudge: a transformers (+ PEFT, + bitsandbytes) judge that runs in-process.

Two ways to get one::

    judge = HFJudge("path/or/id", adapter="judge-lora", load_in_4bit=True, both_orders=True)
    judge = HFJudge.from_model(policy_peft_model, tokenizer, adapter_name="judge")

The second judges with an adapter on the weights the trainer is updating (or with the
bare base, ``disable_adapters=True``); each call switches to the judge adapter and puts
the active adapter, trainable flags and train/eval modes back afterwards.

``HFJudge`` is the engine (``GenerativeJudge``) on one ``HFRunner`` (``runner``): the
runner owns the model and does the batched work (prompt ids, prefill with shared
prefixes, decoding, label scoring); every sample has its own seed
(``trl_rrm.sampling``): judging is reproducible, independent of batching, and never
touches the trainer's random state.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import torch

from ...types import Grade, Match, Message, Ranking, Verdict
from ..engine import GenerativeJudge
from ..requests import Generation, GenerationRequest, ScoreRequest
from .adapters import attach_adapter
from .config import HFJudgeConfig
from .generating import generate
from .loading import check_chat_template
from .runner import HFRunner


class HFJudge(GenerativeJudge):
    """A generative judge on a transformers causal LM, optionally with a LoRA adapter.

    Args:
        model: model id or local path of the judge (its tokenizer must have a chat template).
        adapter: a LoRA adapter id or path (PEFT).
        config: a full ``HFJudgeConfig``; otherwise keyword arguments build one (any of its
            fields: ``format``, ``both_orders``, ``num_votes``, ``load_in_4bit``, ...).

    The model loads on first use, so a judge is cheap to build and to pickle (workers
    of an async trainer reload it). Call ``load()`` to load eagerly.

    Raises:
        ValueError / TypeError: a bad argument, named with its value, at construction; an
            adapter that does not fit the base, at load.
    """

    def __init__(self, model: str | os.PathLike | None = None, *, adapter: str | os.PathLike | None = None,
                 config: HFJudgeConfig | None = None, **kwargs: Any) -> None:  # fmt: skip
        if config is None:
            config = HFJudgeConfig(model=model, adapter=adapter, **kwargs)
        elif model is not None or adapter is not None or kwargs:
            raise TypeError("pass either config=... or model/adapter/keyword arguments, not both")
        if config.model is None:
            raise ValueError("model=None: HFJudge needs a model id or path (or use HFJudge.from_model)")
        super().__init__(config)
        self.config: HFJudgeConfig = config
        self.runner = HFRunner(config)

    @classmethod
    def from_model(cls, model: torch.nn.Module, tokenizer: Any, *, adapter_name: str | None = None,
                   adapter: str | os.PathLike | None = None, disable_adapters: bool = False, **kwargs: Any) -> HFJudge:  # fmt: skip
        """A judge on a model the caller already holds (typically the policy). Its weights
        are not its own (a trainer may write them unseen, through ``.data``): the common
        prefix's key/values are kept within one call, never across (``prefix_memory``).

        Args:
            model: the model; a ``peft.PeftModel`` when ``adapter_name``, ``adapter`` or
                ``disable_adapters`` is used.
            tokenizer: the judge's tokenizer (with a chat template).
            adapter_name: the adapter to judge with; None judges with the model as it is.
            adapter: a LoRA id or path to load into ``model`` as ``adapter_name`` (default
                name ``"judge"``), frozen; the model's modes are preserved.
            disable_adapters: judge with the bare base weights.
            **kwargs: judging and speed fields of ``HFJudgeConfig``.

        Raises:
            ValueError: an adapter is named but the model is not a PeftModel, the name is
                unknown or already loaded, or both ``adapter_name`` and ``disable_adapters``.
        """
        adapter_name = attach_adapter(model, adapter_name=adapter_name, adapter=adapter, disable_adapters=disable_adapters)
        check_chat_template(tokenizer)
        judge = cls(config=HFJudgeConfig(model="<in-memory>", **kwargs))
        judge.runner.borrow(model, tokenizer, adapter_name, disable_adapters)
        return judge

    # ---- the model (the runner's) ---------------------------------------------
    @property
    def model(self) -> Any:
        return self.runner.model

    @property
    def tokenizer(self) -> Any:
        return self.runner.tokenizer

    def load(self) -> HFJudge:
        """Loads tokenizer, model, adapter and quantization now (no-op when loaded)."""
        self.runner.load()
        return self

    def weights_dtype(self) -> str:
        """The dtype the judge's weights run in (``"auto"`` resolved), without loading them
        when the judge loads itself: ``"bfloat16"``, ``"float32"``, ... (``"auto"``: the
        checkpoint's own, off the CPU)."""
        return self.runner.weights_dtype()

    @property
    def prefix_tokens_saved(self) -> int:
        """Prompt tokens not recomputed (a running total, for benchmarks)."""
        return self.runner.prefix_tokens_saved

    @property
    def prefix_tokens_recalled(self) -> int:
        """Prompt positions taken from the prefix kept between batches and calls
        (``prefix_memory``), a running total."""
        return self.runner.memory.tokens_reused

    @property
    def analysis_tokens_reused(self) -> int:
        """Prompt + analysis tokens labels were scored after without a prefill (a running total)."""
        return self.runner.analysis_tokens_reused

    def prompt_ids(self, messages: list[Message]) -> list[int]:
        """The token ids of a judge prompt (chat template, generation prompt): the answer follows."""
        return self.runner.prompt_ids(messages)[0]

    # ---- what the engine asks of its backend ----------------------------------
    def generate(self, requests: Sequence[GenerationRequest]) -> list[list[Generation]]:
        return generate(self.runner, requests)

    def score(self, requests: Sequence[ScoreRequest]) -> list[list[float]]:
        return self.runner.score(requests)

    def control_tokens(self) -> tuple[str, ...]:
        return self.runner.control_tokens

    def context_length(self) -> int | None:
        return self.runner.context_length()

    def measure(self, prompts: Sequence[list[Message]], texts: Sequence[str]) -> tuple[list[int], list[int]]:
        return self.runner.measure(prompts, texts)

    def cut_text(self, text: str, tokens: int) -> str:
        return self.runner.cut_text(text, tokens)

    # one engine call is one span of the prefix memory: its generate and score calls share a prefix
    def compare(self, matches: Sequence[Match]) -> list[Verdict]:
        with self.runner.memory.call():
            return super().compare(matches)

    def rank(self, matches: Sequence[Match]) -> list[Ranking | None]:
        with self.runner.memory.call():
            return super().rank(matches)

    def grade(self, matches: Sequence[Match]) -> list[Grade]:
        with self.runner.memory.call():
            return super().grade(matches)
