"""HFJudge: a transformers (+ PEFT, + bitsandbytes) judge that runs in-process.

Two ways to get one::

    judge = HFJudge("path/or/id", adapter="judge-lora", load_in_4bit=True, both_orders=True)
    judge = HFJudge.from_model(policy_peft_model, tokenizer, adapter_name="judge")

The second judges with an adapter on the weights the trainer is updating (or with the
bare base, ``disable_adapters=True``); each call switches to the judge adapter and puts
the active adapter, trainable flags and train/eval modes back afterwards.

Generation: all requests of a call are tokenized with the judge's chat template, sorted
(by tokens, so rows sharing a prefix sit together; by length without prefix reuse),
left-padded and generated ``batch_size`` sequences at a time. Within a batch the shared
prefixes are computed once (``prefix_plan``, ``kv_cache``) and decoding writes into a
key/value cache allocated once (``static_cache``); with ``compact_decoding`` rows leave
as they end and waiting rows take their places (``compact_decode``). Every sample has its own seed
(``trl_rrm.sampling``): judging is reproducible, independent of batching, and never
touches the trainer's random state.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import replace
from functools import cached_property
from typing import Any, NamedTuple

import torch

from ..formats.untrusted import tokenizer_control_tokens
from ..sampling import seeded_rows_processor
from ..special_tokens import left_padded, special_ids
from ..thinking import opens_thinking
from ..types import Message
from .adapters import attach_adapter, borrowed
from .compact_decode import decode
from .decoding import DecodeHeartbeat, StopAtStrings, written_generations
from .engine import GenerativeJudge
from .hf_config import HFJudgeConfig
from .hf_loading import check_chat_template, load_dtype, load_judge
from .kv_cache import accepts, cache_argument, device_of, generated_cache, prefilled, row_states, stacked, static_cache
from .label_scores import LabelRow, kept_positions, label_rows, label_values, reusable
from .prefix_plan import plan_prefix
from .requests import Generation, GenerationRequest, ScoreRequest


class _Row(NamedTuple):
    """One sample to generate: its request, prompt ids, whether the template opened
    ``<think>``, and its seed."""

    index: int
    ids: list[int]
    opened: bool
    seed: int
    request: GenerationRequest


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
        self._model: Any = None
        self._tokenizer: Any = None
        self._borrowed = False  # set by from_model: the judge borrows a model it does not own
        self._adapter_name: str | None = None
        self._disable_adapters = False
        self.prefix_tokens_saved = 0  # prompt tokens not recomputed (a running total, for benchmarks)
        self.analysis_tokens_reused = 0  # prompt + analysis tokens labels were scored after without a prefill

    @classmethod
    def from_model(cls, model: torch.nn.Module, tokenizer: Any, *, adapter_name: str | None = None,
                   adapter: str | os.PathLike | None = None, disable_adapters: bool = False, **kwargs: Any) -> HFJudge:  # fmt: skip
        """A judge on a model the caller already holds (typically the policy).

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
        """The borrowed model switched to the judge (restored on exit); a no-op for an owned one."""
        if self._borrowed:
            return borrowed(self._model, self._adapter_name, self._disable_adapters)
        return nullcontext()

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
        input_ids, mask, cache = prefilled(model, prompts, plan, pad_id)
        self.prefix_tokens_saved += plan.saved
        return input_ids, mask, {cache_argument(model): cache}, plan.cached

    # ---- generation -----------------------------------------------------------
    def generate(self, requests: Sequence[GenerationRequest]) -> list[list[Generation]]:
        """Generates every request's samples, batched; see the module doc."""
        rows: list[_Row] = []
        for index, request in enumerate(requests):
            ids, opened = self._prompt_ids(request.messages, request.assistant_prefix)
            rows.extend(_Row(index, ids, opened, seed, request) for seed in request.seeds(self.config.seed))
        outputs: dict[int, Generation] = {}
        groups: dict[tuple[int, bool, tuple[str, ...]], list[int]] = {}
        for r, row in enumerate(rows):
            request = row.request
            groups.setdefault((request.max_new_tokens or self.config.max_new_tokens, request.greedy, request.stop), []).append(r)
        with self._judge_mode(), torch.no_grad():
            for (budget, greedy, stop), members in groups.items():
                self._order_rows(members, [row.ids for row in rows])
                if self.config.compact_decoding:
                    outputs.update(zip(members, self._generate_continuously([rows[r] for r in members], budget,
                                                                            greedy, stop)))  # fmt: skip
                    continue
                for start in range(0, len(members), self.config.batch_size):
                    batch = [rows[r] for r in members[start : start + self.config.batch_size]]
                    generated = self._generate_batch(batch, budget, greedy, stop)
                    outputs.update(zip(members[start : start + self.config.batch_size], generated))
        results: list[list[Generation]] = [[] for _ in requests]
        for r, row in enumerate(rows):
            results[row.index].append(outputs[r])
        return results

    def _decoding_parts(self, batch: list[_Row], greedy: bool, stop: tuple[str, ...], width: int,
                        ) -> tuple[Any, Any, dict[int, Any] | None]:  # fmt: skip
        """A batch's stop-string criterion, per-row sampler and (when its labels will be scored
        from the analysis' key/values) the dict that collects each row's key/values."""
        stopper = StopAtStrings(self._tokenizer, stop, width, [row.opened for row in batch]) if stop else None
        processor = None
        if not greedy and self.config.temperature > 0:
            seeds = [row.seed for row in batch]
            processor = seeded_rows_processor(seeds, self.config.temperature, self.config.top_p, device_of(self._model))
        states = None
        if self.config.reuse_analysis_cache and any(row.request.then_score is not None for row in batch):
            states = {}
        return stopper, processor, states

    def _generate_batch(self, batch: list[_Row], budget: int, greedy: bool, stop: tuple[str, ...]) -> list[Generation]:
        """``model.generate`` on one batch (every row decodes until the last one ends)."""
        model = self._model
        pad_id, eos_ids = special_ids(model, self._tokenizer)
        input_ids, attention_mask, kwargs, cached = self._inputs([row.ids for row in batch])
        width = input_ids.shape[1]
        stopper, processor, states = self._decoding_parts(batch, greedy, stop, width)
        output, cache = self._generate_all_rows(input_ids, attention_mask, kwargs, budget, pad_id, eos_ids,
                                                processor, stopper, keep_cache=states is not None)  # fmt: skip
        if states is not None:
            mask = torch.cat([attention_mask, attention_mask.new_ones(output.shape[0], output.shape[1] - width)], 1)
            states.update(enumerate(row_states(cache, mask, torch.arange(len(batch))) or [None] * len(batch)))
        return self._generations(batch, output[:, width:].tolist(), stopper, eos_ids, states)

    def _generate_continuously(self, group: list[_Row], budget: int, greedy: bool, stop: tuple[str, ...],
                               ) -> list[Generation]:  # fmt: skip
        """``compact_decoding``: the group's rows decode ``batch_size`` at a time, each leaving as
        it ends and the next waiting rows taking the freed places (``compact_decode``)."""
        model = self._model
        _, eos_ids = special_ids(model, self._tokenizer)
        stopper, processor, states = self._decoding_parts(group, greedy, stop, 0)

        def prefill(rows: list[int]) -> tuple[torch.Tensor, torch.Tensor, Any, int]:
            input_ids, mask, kwargs, cached = self._inputs([group[r].ids for r in rows])
            return input_ids, mask, kwargs.get(cache_argument(model)), cached

        def keep_states(cache_rows: torch.Tensor, rows: list[int], cache: Any, mask: torch.Tensor) -> None:
            states.update(zip(rows, row_states(cache, mask, cache_rows) or [None] * len(rows)))

        written = decode(model, len(group), prefill, slots=self.config.batch_size, budget=budget, eos_ids=eos_ids,
                         processor=processor, stopper=stopper, on_leave=None if states is None else keep_states)  # fmt: skip
        return self._generations(group, written, stopper, eos_ids, states)

    def _generations(self, batch: list[_Row], written: list[list[int]], stopper: Any, eos_ids: list[int],
                     states: dict[int, Any] | None) -> list[Generation]:  # fmt: skip
        stopped = stopper.stopped if stopper is not None else [None] * len(batch)
        generations = written_generations(self._tokenizer, written, stopped, eos_ids, [row.opened for row in batch])
        return self._score_after(batch, generations, written, states) if states else generations

    def _score_after(self, batch: list[_Row], generations: list[Generation], written: list[list[int]],
                     states: dict[int, Any]) -> list[Generation]:  # fmt: skip
        """Each sample's ``then_score`` labels, scored after its analysis from the key/values
        decoding left (only what differs from the written tokens is computed)."""
        label_batch, lengths, row_state = [], [], []
        for i, sample in enumerate(batch):
            then, state = sample.request.then_score, states.get(i)
            if then is None or state is None:
                continue
            context, _ = self._prompt_ids(sample.request.messages, then.context(generations[i].text))
            cached = (sample.ids + written[i])[: state[0][0].shape[2]]
            for row in label_rows(self._tokenizer, i, context, then.candidates):
                label_batch.append(row)
                lengths.append(reusable(row, cached))
                row_state.append(state)
        if not label_batch:  # no cache to read (a layer kind row_states does not copy): the engine scores them
            return generations
        logps: dict[int, list[float]] = {}
        size = self.config.batch_size
        for start in range(0, len(label_batch), size):
            chunk = slice(start, start + size)
            for r, c, value in self._score_batch(label_batch[chunk], (row_state[chunk], lengths[chunk])):
                logps.setdefault(r, [0.0] * len(batch[r].request.then_score.candidates))[c] = value
        self.analysis_tokens_reused += sum(lengths)
        return [replace(g, label_logps=tuple(logps[i])) if i in logps else g for i, g in enumerate(generations)]

    def _generate_all_rows(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, kwargs: dict, budget: int,
                           pad_id: int, eos_ids: list[int], processor: Any, stopper: Any,
                           keep_cache: bool = False) -> tuple[torch.Tensor, Any]:  # fmt: skip
        """``model.generate`` on the batch: every row decodes until the last one ends. Returns
        the tokens and (``keep_cache``) the key/value cache decoding filled."""
        from transformers import GenerationConfig, StoppingCriteriaList

        model = self._model
        heartbeat = DecodeHeartbeat(input_ids.shape[0], input_ids.shape[1], budget)
        kwargs["stopping_criteria"] = StoppingCriteriaList([heartbeat] if stopper is None else [stopper, heartbeat])
        if processor is not None:
            kwargs["logits_processor"] = [processor]
        if self.config.static_cache:
            name = cache_argument(model)
            static = static_cache(model, input_ids.shape[1] + budget, kwargs.get(name))
            if static is not None:
                kwargs[name] = static
        generation_config = GenerationConfig(
            max_new_tokens=budget, do_sample=False, pad_token_id=pad_id, eos_token_id=eos_ids, use_cache=True,
            disable_compile=True,  # batch shapes change from call to call: compiling would recompile
            return_dict_in_generate=keep_cache,
        )  # fmt: skip
        output = model.generate(input_ids=input_ids, attention_mask=attention_mask, generation_config=generation_config,
                                **kwargs)  # fmt: skip
        return (output.sequences, generated_cache(output)) if keep_cache else (output, None)

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
