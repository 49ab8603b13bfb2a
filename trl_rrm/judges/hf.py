"""HFJudge: a transformers (+ PEFT, + bitsandbytes) judge that runs in-process.

Two ways to get one::

    judge = HFJudge("path/or/id", adapter="judge-lora", load_in_4bit=True, both_orders=True)
    judge = HFJudge.from_model(policy_peft_model, tokenizer, adapter_name="judge")

The second judges with an adapter on the weights the trainer is updating (or with the
bare base, ``disable_adapters=True``); each call switches to the judge adapter and puts
the active adapter, trainable flags and train/eval modes back afterwards.

Generation (``hf_decoding``): all requests of a call are tokenized with the judge's chat
template and sorted (by tokens, so rows sharing a prefix sit together; by length without
prefix reuse). The shared prefixes of the rows that start together are computed once
(``prefix_plan``, ``kv_cache``); rows decode ``batch_size`` at a time, each leaving as it
ends and the next waiting rows taking its place (``compact_decoding``, the default), or in
fixed batches through ``model.generate``. Every sample has its own seed
(``trl_rrm.sampling``): judging is reproducible, independent of batching, and never
touches the trainer's random state.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from contextlib import ExitStack
from functools import cached_property
from typing import Any

import torch

from ..formats.untrusted import tokenizer_control_tokens
from ..special_tokens import left_padded, special_ids
from ..thinking import opens_thinking
from ..types import Grade, Match, Message, Ranking, Verdict
from .adapters import attach_adapter, borrowed
from .engine import GenerativeJudge
from .hf_config import HFJudgeConfig
from .hf_decoding import HFDecoding
from .hf_loading import check_chat_template, load_dtype, load_judge
from .kv_cache import accepts, cache_argument, device_of, prefilled, stacked
from .label_scores import LabelRow, kept_positions, label_rows, label_values
from .prefix_memory import PrefixMemory
from .prefix_plan import plan_prefix
from .requests import ScoreRequest


class HFJudge(HFDecoding, GenerativeJudge):
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
        self._model: Any = None
        self._tokenizer: Any = None
        self._borrowed = False  # set by from_model: the judge borrows a model it does not own
        self._adapter_name: str | None = None
        self._disable_adapters = False
        self.prefix_tokens_saved = 0  # prompt tokens not recomputed (a running total, for benchmarks)
        self._prefix_memory = PrefixMemory()  # the last common prefix's key/values, kept between calls (own weights)
        self.analysis_tokens_reused = 0  # prompt + analysis tokens labels were scored after without a prefill

    @property
    def prefix_tokens_recalled(self) -> int:
        """Prompt positions taken from the prefix kept between batches and calls
        (``prefix_memory``), a running total."""
        return self._prefix_memory.tokens_reused

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
        judge._model, judge._tokenizer = model, tokenizer
        judge._borrowed, judge._adapter_name, judge._disable_adapters = True, adapter_name, disable_adapters
        judge._prefix_memory = PrefixMemory(across_calls=False)  # weights a trainer may write unseen: one call
        return judge

    # ---- loading --------------------------------------------------------------
    @property
    def model(self) -> Any:
        return self.load()._model

    @property
    def tokenizer(self) -> Any:
        return self.load()._tokenizer

    def weights_dtype(self) -> str:
        """The dtype the judge's weights run in (``"auto"`` resolved), without loading them
        when the judge loads itself: ``"bfloat16"``, ``"float32"``, ... (``"auto"``: the
        checkpoint's own, off the CPU)."""
        if self._model is None or not self._borrowed:
            dtype = load_dtype(self.config)
        else:
            dtype = next((p.dtype for p in self._model.parameters() if p.is_floating_point()), None)
        return str(dtype).removeprefix("torch.")

    def load(self) -> HFJudge:
        """Loads tokenizer, model, adapter and quantization now (no-op when loaded)."""
        if self._model is None:
            self._model, self._tokenizer = load_judge(self.config)
        return self

    def __getstate__(self) -> dict[str, Any]:
        if self._borrowed:
            raise TypeError(
                "an HFJudge built with from_model borrows a live model and cannot be pickled (or sent to another "
                "process); build HFJudge(model_path, adapter=...) for a judge that loads itself"
            )
        state = self.__dict__.copy()
        state["_model"] = state["_tokenizer"] = None  # reloaded lazily on the other side
        state.pop("_control", None)
        state["_prefix_memory"] = PrefixMemory()  # key/values of this process's weights
        return state

    # ---- what the engine asks about the tokenizer and the context --------------
    def control_tokens(self) -> tuple[str, ...]:
        return self._control

    @cached_property
    def _control(self) -> tuple[str, ...]:
        return tokenizer_control_tokens(self.tokenizer)

    def context_length(self) -> int | None:
        return getattr(self.model.config, "max_position_embeddings", None)

    def prompt_lengths(self, messages: Sequence[list[Message]]) -> list[int]:
        return [len(self._prompt_ids(chat, "")[0]) for chat in messages]

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(ids) for ids in self.tokenizer(list(texts), add_special_tokens=False)["input_ids"]]

    def cut_text(self, text: str, tokens: int) -> str:
        return self.tokenizer.decode(self.tokenizer(text, add_special_tokens=False)["input_ids"][:tokens])

    def prompt_ids(self, messages: list[Message]) -> list[int]:
        """The token ids of a judge prompt (chat template, generation prompt): the answer follows."""
        return self._prompt_ids(messages, "")[0]

    def _prompt_ids(self, messages: list[Message], assistant_prefix: str) -> tuple[list[int], bool]:
        """The chat prompt's token ids (the answer follows), and whether the template
        opened a thinking block the answer starts inside."""
        text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        ids = self.tokenizer(text + assistant_prefix, add_special_tokens=False)["input_ids"]
        return ids, opens_thinking(text) and not assistant_prefix

    def _judge_mode(self) -> Any:
        """One call on the model (``generate``, ``score``): the span the prefix memory lives
        in (``PrefixMemory.call``) and, for a borrowed model, the model switched to the
        judge (restored on exit)."""
        mode = ExitStack()
        mode.enter_context(self._prefix_memory.call())
        if self._borrowed:
            mode.enter_context(borrowed(self._model, self._adapter_name, self._disable_adapters))
        return mode

    def compare(self, matches: Sequence[Match]) -> list[Verdict]:
        with self._prefix_memory.call():  # its generate and score calls are one call: they share a prefix
            return super().compare(matches)

    def rank(self, matches: Sequence[Match]) -> list[Ranking | None]:
        with self._prefix_memory.call():
            return super().rank(matches)

    def grade(self, matches: Sequence[Match]) -> list[Grade]:
        with self._prefix_memory.call():
            return super().grade(matches)

    def _order_rows(self, members: list[int], ids: list[list[int]]) -> None:
        """Sorts rows (in place) into batch order: by tokens with ``prefix_reuse`` (a group's
        matches share long prefixes), else longest first with ``length_bucketing``."""
        if self.config.prefix_reuse:
            members.sort(key=lambda r: ids[r])
        elif self.config.length_bucketing:
            members.sort(key=lambda r: -len(ids[r]))

    def _inputs(self, prompts: list[list[int]], keep: int = 1) -> tuple[torch.Tensor, torch.Tensor, dict, int]:
        """(input_ids, attention_mask, model kwargs, cached prefix positions) of a batch."""
        model = self._model
        pad_id, _ = special_ids(model, self._tokenizer)
        plan = plan_prefix(prompts, keep) if self.config.prefix_reuse else None
        if plan is None:
            return *left_padded(prompts, pad_id, device_of(model)), {}, 0
        memory = self._prefix_memory if self.config.prefix_memory else None
        input_ids, mask, cache = prefilled(model, prompts, plan, pad_id, memory)
        self.prefix_tokens_saved += plan.saved
        return input_ids, mask, {cache_argument(model): cache}, plan.cached

    # ---- label probabilities --------------------------------------------------
    def score(self, requests: Sequence[ScoreRequest]) -> list[list[float]]:
        """Summed log-probabilities of each request's candidates (verdict labels), up to
        a term shared by all candidates of a request (their common leading tokens).

        The context is the judge's chat prompt plus ``assistant_prefix``. When every
        candidate is a single token (the usual case: " 1"/" 2", "A"/"B"), one sequence per
        request gives all of them from its last position; otherwise each candidate is
        appended to its own copy of the context. Only the needed positions' logits are kept.
        """
        tokenizer = self.tokenizer
        rows: list[LabelRow] = []
        for r, request in enumerate(requests):
            context, _ = self._prompt_ids(request.messages, request.assistant_prefix)
            rows.extend(label_rows(tokenizer, r, context, request.candidates))
        order = list(range(len(rows)))
        self._order_rows(order, [ids for _, ids, _ in rows])
        scores = [[0.0] * len(request.candidates) for request in requests]
        with self._judge_mode(), torch.no_grad():
            for start in range(0, len(order), self.config.batch_size):
                for r, c, value in self._score_batch([rows[i] for i in order[start : start + self.config.batch_size]]):
                    scores[r][c] = value
        return scores

    def _score_batch(self, batch: list[LabelRow], reuse: tuple[list, list[int]] | None = None,
                     ) -> list[tuple[int, int, float]]:  # fmt: skip
        """(request, label, log-prob) for a batch of label rows; ``reuse``: each row's key/values
        (``row_states``) and how many of its leading tokens they hold, so only the rest is computed."""
        model = self._model
        # positions counted from the end are the same after left padding; every row keeps
        # the positions it scores, so shared prefixes stop before them
        keep = kept_positions(batch)
        if reuse is None:
            input_ids, mask, kwargs, cached = self._inputs([ids for _, ids, _ in batch], keep)
            input_ids = input_ids[:, cached:]
        else:
            states, lengths = reuse
            cache, mask = stacked(states, lengths)
            input_ids, new_mask = left_padded([ids[n:] for (_, ids, _), n in zip(batch, lengths)],
                                              special_ids(model, self._tokenizer)[0], device_of(model))  # fmt: skip
            mask, cached = torch.cat([mask, new_mask], 1), mask.shape[1]
            kwargs = {} if cache is None else {cache_argument(model): cache}
        if accepts(model, "logits_to_keep"):
            kwargs["logits_to_keep"] = keep
        position_ids = (mask.cumsum(-1) - 1).clamp(min=0)[:, cached:]
        logits = model(input_ids=input_ids, attention_mask=mask, position_ids=position_ids, **kwargs).logits
        return label_values(torch.log_softmax(logits[:, -keep:].float(), dim=-1), keep, batch)
