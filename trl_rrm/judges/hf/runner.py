"""``HFRunner``: the model side of an ``HFJudge``, as batched operations.

The runner owns the model and tokenizer (loaded on first use, or borrowed from a trainer
with ``borrow``), the prefix memory and the running totals of what was reused. Everything
the judge asks of the model is one call on a batch:

- ``measure(prompts, texts)``: the tokens of chat prompts and of texts (what the
  Presenter needs to cut responses to fit), ``cut_text`` for the few that are cut;
- ``prompt_ids``: a chat prompt's token ids;
- ``prefill(prompts)``: a batch's inputs with its shared prefixes computed once;
- ``label_logps(rows)``: verdict-label log-probabilities of a batch of label rows;
- ``score(requests)``: verdict-label log-probabilities of whole requests.

Decoding (``generating``) is a client of these operations, like the judge.

``call()`` is the span of one engine call: the prefix memory lives in it and a borrowed
model is switched to the judge for it (and back afterwards).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from functools import cached_property
from typing import Any

import torch

from ...formats.untrusted import tokenizer_control_tokens
from ...special_tokens import left_padded, special_ids
from ...thinking import opens_thinking
from ...types import Message
from ..requests import ScoreRequest
from .adapters import borrowed
from .attention import judge_attention
from .compute_copy import ComputeCopy, copy_dtype
from .config import HFJudgeConfig
from .kv_cache import accepts, cache_argument, device_of, prefilled, stacked
from .label_scoring import LabelRow, kept_positions, label_rows, label_values
from .loading import load_dtype, load_judge
from .prefix_memory import PrefixMemory
from .prefix_plan import plan_prefix


class HFRunner:
    """The model, tokenizer and caches of one judge; see the module doc.

    Args:
        config: the judge's ``HFJudgeConfig`` (loading, batch size and speed switches).
    """

    def __init__(self, config: HFJudgeConfig) -> None:
        self.config = config
        self._model: Any = None
        self._tokenizer: Any = None
        self._compute: Any = None  # inside a call on a borrowed model: its bf16 copy (compute_copy)
        self.copy = ComputeCopy()
        self.borrowed = False  # the model is someone else's (a trainer's): see borrow
        self.adapter_name: str | None = None
        self.disable_adapters = False
        self.memory = PrefixMemory()  # the last common prefix's key/values, kept between calls (own weights)
        self.prefix_tokens_saved = 0  # prompt tokens not recomputed (a running total, for benchmarks)
        self.analysis_tokens_reused = 0  # prompt + analysis tokens labels were scored after without a prefill

    def borrow(self, model: Any, tokenizer: Any, adapter_name: str | None, disable_adapters: bool) -> None:
        """Runs on a model the caller holds (typically the policy): its weights may be written
        unseen between calls, so the prefix memory lasts one call (``prefix_memory``)."""
        self._model, self._tokenizer = model, tokenizer
        self.borrowed, self.adapter_name, self.disable_adapters = True, adapter_name, disable_adapters
        self.memory = PrefixMemory(across_calls=False)

    # ---- the model ------------------------------------------------------------
    def load(self) -> HFRunner:
        """Loads tokenizer, model, adapter and quantization now (no-op when loaded)."""
        if self._model is None:
            self._model, self._tokenizer = load_judge(self.config)
        return self

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def model(self) -> Any:
        """The model the judge computes with: inside a call on a borrowed model, its bf16
        copy where one applies (``compute_copy``)."""
        return self._compute if self._compute is not None else self.load()._model

    @property
    def tokenizer(self) -> Any:
        return self.load()._tokenizer

    def weights_dtype(self) -> str:
        """The dtype the weights run in (``"auto"`` resolved), without loading them when the
        runner loads its own."""
        if self._model is None or not self.borrowed:
            dtype = load_dtype(self.config)
        else:
            copied = copy_dtype(self._model, self.adapter_name, self.disable_adapters) if self.config.compute_copy else None
            dtype = copied or next((p.dtype for p in self._model.parameters() if p.is_floating_point()), None)
        return str(dtype).removeprefix("torch.")

    def __getstate__(self) -> dict[str, Any]:
        if self.borrowed:
            raise TypeError(
                "an HFJudge built with from_model borrows a live model and cannot be pickled (or sent to another "
                "process); build HFJudge(model_path, adapter=...) for a judge that loads itself"
            )
        state = self.__dict__.copy()
        state["_model"] = state["_tokenizer"] = None  # reloaded lazily on the other side
        state.pop("control_tokens", None)
        state["copy"], state["_compute"] = ComputeCopy(), None
        state["memory"] = PrefixMemory()  # key/values of this process's weights
        return state

    def call(self) -> ExitStack:
        """One engine call on the model: the span the prefix memory lives in
        (``PrefixMemory.call``), the judge's attention for single-token steps
        (``attention``), and for a borrowed model its bf16 copy (``compute_copy``) or the
        model itself switched to the judge (restored on exit)."""
        mode = ExitStack()
        mode.enter_context(self.memory.call())
        if self.borrowed and self._compute is None:
            twin = self.copy.get(self._model, self.adapter_name, self.disable_adapters) if self.config.compute_copy else None
            if twin is None:
                mode.enter_context(borrowed(self._model, self.adapter_name, self.disable_adapters))
            else:
                self._compute = twin
                mode.callback(setattr, self, "_compute", None)
        if self.config.decode_attention:
            mode.enter_context(judge_attention(self.model))
        return mode

    # ---- texts and tokens -----------------------------------------------------
    @cached_property
    def control_tokens(self) -> tuple[str, ...]:
        return tokenizer_control_tokens(self.tokenizer)

    def context_length(self) -> int | None:
        return getattr(self.model.config, "max_position_embeddings", None)

    def measure(self, prompts: Sequence[list[Message]], texts: Sequence[str]) -> tuple[list[int], list[int]]:
        """(tokens of each chat prompt with its generation prompt, tokens of each text), in
        one tokenizer call each."""
        tokenizer = self.tokenizer
        chats = [tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True) for chat in prompts]
        ids = tokenizer(chats + list(texts), add_special_tokens=False)["input_ids"] if chats or texts else []
        lengths = [len(row) for row in ids]
        return lengths[: len(chats)], lengths[len(chats) :]

    def cut_text(self, text: str, tokens: int) -> str:
        return self.tokenizer.decode(self.tokenizer(text, add_special_tokens=False)["input_ids"][:tokens])

    def prompt_ids(self, messages: list[Message], assistant_prefix: str = "") -> tuple[list[int], bool]:
        """The chat prompt's token ids (the answer follows ``assistant_prefix``), and whether
        the template opened a thinking block the answer starts inside."""
        text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        ids = self.tokenizer(text + assistant_prefix, add_special_tokens=False)["input_ids"]
        return ids, opens_thinking(text) and not assistant_prefix

    # ---- batches --------------------------------------------------------------
    def order(self, members: list[int], ids: list[list[int]]) -> None:
        """Sorts rows (in place) into batch order: by tokens with ``prefix_reuse`` (a group's
        matches share long prefixes), else longest first with ``length_bucketing``."""
        if self.config.prefix_reuse:
            members.sort(key=lambda r: ids[r])
        elif self.config.length_bucketing:
            members.sort(key=lambda r: -len(ids[r]))

    def prefill(self, prompts: list[list[int]], keep: int = 1) -> tuple[torch.Tensor, torch.Tensor, dict, int]:
        """(input_ids, attention_mask, model kwargs, cached prefix positions) of a batch: with
        ``prefix_reuse``, the prefixes its rows share computed once (and kept in the prefix
        memory), their key/values in the kwargs' cache; ``keep`` last positions of each row
        stay out of any shared prefix."""
        model = self.model
        pad_id, _ = special_ids(model, self._tokenizer)
        plan = plan_prefix(prompts, keep) if self.config.prefix_reuse else None
        if plan is None:
            return *left_padded(prompts, pad_id, device_of(model)), {}, 0
        memory = self.memory if self.config.prefix_memory else None
        input_ids, mask, cache = prefilled(model, prompts, plan, pad_id, memory)
        self.prefix_tokens_saved += plan.saved
        return input_ids, mask, {cache_argument(model): cache}, plan.cached

    def label_logps(self, batch: list[LabelRow], reuse: tuple[list, list[int]] | None = None,
                    ) -> list[tuple[int, int, float]]:  # fmt: skip
        """(request, label, log-prob) for a batch of label rows; ``reuse``: each row's key/values
        (``row_states``) and how many of its leading tokens they hold, so only the rest is computed."""
        model = self.model
        # positions counted from the end are the same after left padding; every row keeps
        # the positions it scores, so shared prefixes stop before them
        keep = kept_positions(batch)
        if reuse is None:
            input_ids, mask, kwargs, cached = self.prefill([ids for _, ids, _ in batch], keep)
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

    # ---- the backend calls ----------------------------------------------------
    def score(self, requests: Sequence[ScoreRequest]) -> list[list[float]]:
        """Summed log-probabilities of each request's candidates (verdict labels), up to a
        term shared by all candidates of a request (their common leading tokens).

        The context is the judge's chat prompt plus ``assistant_prefix``. When every
        candidate is a single token (the usual case: " 1"/" 2", "A"/"B"), one sequence per
        request gives all of them from its last position; otherwise each candidate is
        appended to its own copy of the context. Only the needed positions' logits are kept.
        """
        rows: list[LabelRow] = []
        for r, request in enumerate(requests):
            context, _ = self.prompt_ids(request.messages, request.assistant_prefix)
            rows.extend(label_rows(self.tokenizer, r, context, request.candidates))
        order = list(range(len(rows)))
        self.order(order, [ids for _, ids, _ in rows])
        scores = [[0.0] * len(request.candidates) for request in requests]
        size = self.config.batch_size
        with self.call(), torch.no_grad():
            for start in range(0, len(order), size):
                for r, c, value in self.label_logps([rows[i] for i in order[start : start + size]]):
                    scores[r][c] = value
        return scores
