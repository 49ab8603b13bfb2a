"""HFJudge: a transformers (+ PEFT, + bitsandbytes) judge that runs in-process.

Two ways to get one:

    judge = HFJudge("path/or/id", adapter="judge-lora", load_in_4bit=True, both_orders=True)
    judge = HFJudge.from_model(policy_peft_model, tokenizer, adapter_name="judge")

The second judges with an adapter on the weights the trainer is updating (or with the
bare base, ``disable_adapters=True``); each call switches to the judge adapter and puts
the active adapter, trainable flags and train/eval modes back afterwards.

Generation: all requests of a call are tokenized with the judge's chat template, sorted
(by tokens, so rows sharing a prefix sit together; by length without prefix reuse),
left-padded and generated ``batch_size`` sequences at a time. Within a batch, the prefix
common to all rows and then the prefix common to each run of rows are computed once
(``prefix_reuse``), and decoding writes into a key/value cache allocated once
(``static_cache``). Sampling is seeded inside a forked RNG, so judging is reproducible and
never disturbs the trainer's random state.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, Literal

import torch

from .adapters import adapter_names, borrowed
from .base import Generation, GenerationRequest, GenerativeJudge, JudgingConfig, ScoreRequest, positive_int

logger = logging.getLogger(__name__)

_DTYPES = {"auto": "auto", "float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


@dataclass
class HFJudgeConfig(JudgingConfig):
    """Everything that defines an ``HFJudge``: loading, then judging (``JudgingConfig``).

    Attributes:
        model: model id on the hub or a local path (unused by ``HFJudge.from_model``).
        adapter: a LoRA adapter id or path loaded on top of ``model`` with PEFT.
        revision: hub revision of ``model``.
        load_in_4bit: quantize the base to 4-bit NF4 with bitsandbytes.
        load_in_8bit: quantize the base to 8-bit with bitsandbytes.
        dtype: ``"auto"``, ``"float32"``, ``"bfloat16"`` or ``"float16"``.
        device_map: passed to ``from_pretrained`` (e.g. ``"auto"``, or ``{"": rank}``).
        device: where to put the model when no ``device_map`` is given; default: CUDA
            when available, else CPU.
        batch_size: sequences generated together (a request with ``num_votes`` samples
            counts ``num_votes``).
        trust_remote_code: allow model code from the hub.
        attn_implementation: e.g. ``"sdpa"``, ``"flash_attention_2"``.
        prefix_reuse: rows of a batch that start with the same tokens get that prefix
            computed once, on two levels: the part common to the whole batch (the judge's
            system prompt), then the part common to a run of rows (the query of a group,
            often the first response too); the key/value cache is shared by the rows.
            Rows are then batched in token order to share long prefixes. Equivalent up to
            float rounding.
        length_bucketing: without ``prefix_reuse``, batch rows longest first (less padding).
        static_cache: decode into a key/value cache allocated once per batch
            (transformers' ``StaticCache``, not compiled) instead of one grown by
            concatenation at every step; skipped for models with sliding-window layers.
    """

    model: str | None = None
    adapter: str | None = None
    revision: str | None = None
    load_in_4bit: bool = False
    load_in_8bit: bool = False
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    device_map: Any = None
    device: str | None = None
    batch_size: int = 16
    trust_remote_code: bool = False
    attn_implementation: str | None = None
    prefix_reuse: bool = True
    length_bucketing: bool = True
    static_cache: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.load_in_4bit and self.load_in_8bit:
            raise ValueError("load_in_4bit=True and load_in_8bit=True: choose one quantization")
        if self.dtype not in _DTYPES:
            raise ValueError(f"dtype={self.dtype!r} is unknown; expected one of {tuple(_DTYPES)}")
        positive_int("batch_size", self.batch_size)
        if self.model is not None and not isinstance(self.model, (str, os.PathLike)):
            raise TypeError(f"model={self.model!r:.60} must be a model id or path; use HFJudge.from_model for a loaded model")
        if isinstance(self.model, os.PathLike):
            self.model = os.fspath(self.model)
        if isinstance(self.adapter, os.PathLike):
            self.adapter = os.fspath(self.adapter)


def _quantization_config(config: HFJudgeConfig, dtype: Any) -> Any:
    if not (config.load_in_4bit or config.load_in_8bit):
        return None
    try:
        import bitsandbytes  # noqa: F401  (only to fail early with an actionable message)
    except ImportError:
        raise ImportError(
            "load_in_4bit/load_in_8bit need bitsandbytes: pip install 'trl-rrm[quantization]'"
        ) from None
    from transformers import BitsAndBytesConfig

    if config.load_in_8bit:
        return BitsAndBytesConfig(load_in_8bit=True)
    compute = dtype if isinstance(dtype, torch.dtype) else torch.bfloat16
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=compute)


def _attach_adapter(model: Any, adapter: str, base_name: str) -> Any:
    from peft import PeftConfig, PeftModel

    try:
        peft_config = PeftConfig.from_pretrained(adapter)
    except Exception as err:
        raise ValueError(f"adapter={adapter!r} is not a loadable PEFT adapter: {err}") from err
    expected = getattr(peft_config, "base_model_name_or_path", None)
    if expected and os.path.basename(os.path.normpath(expected)) != os.path.basename(os.path.normpath(base_name)):
        logger.warning("adapter %r was trained on %r, loading it on %r", adapter, expected, base_name)
    try:
        return PeftModel.from_pretrained(model, adapter, is_trainable=False)
    except (RuntimeError, ValueError, KeyError) as err:
        raise ValueError(f"adapter={adapter!r} does not fit the base model {base_name!r}: {err}") from err


class HFJudge(GenerativeJudge):
    """A generative judge on a transformers causal LM, optionally with a LoRA adapter.

    Args:
        model: model id or local path of the judge (its tokenizer must have a chat template).
        adapter: a LoRA adapter id or path (PEFT).
        config: a full ``HFJudgeConfig``; otherwise keyword arguments build one (any
            ``HFJudgeConfig`` field: ``format``, ``both_orders``, ``num_votes``,
            ``max_new_tokens``, ``load_in_4bit``, ...).

    The model loads on first use, so a judge is cheap to build and to pickle (workers
    of an async trainer reload it). Call ``load()`` to load eagerly.

    Raises:
        ValueError / TypeError: a bad argument, named with its value (unknown format, both
            4-bit and 8-bit, a template without its placeholders, ...), at construction;
            an adapter that does not fit the base, at load.
    """

    def __init__(
        self,
        model: str | os.PathLike | None = None,
        *,
        adapter: str | os.PathLike | None = None,
        config: HFJudgeConfig | None = None,
        **kwargs: Any,
    ) -> None:
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
        # Set by from_model: the judge borrows a model it does not own.
        self._borrowed = False
        self._adapter_name: str | None = None
        self._disable_adapters = False
        # Prompt tokens not recomputed thanks to prefix_reuse (a running total, for benchmarks).
        self.prefix_tokens_saved = 0

    @classmethod
    def from_model(
        cls,
        model: torch.nn.Module,
        tokenizer: Any,
        *,
        adapter_name: str | None = None,
        adapter: str | os.PathLike | None = None,
        disable_adapters: bool = False,
        **kwargs: Any,
    ) -> HFJudge:
        """A judge on a model the caller already holds (typically the policy).

        Args:
            model: the model; a ``peft.PeftModel`` when ``adapter_name``, ``adapter`` or
                ``disable_adapters`` is used.
            tokenizer: the judge's tokenizer (with a chat template).
            adapter_name: the adapter to judge with; None judges with the model as it is.
            adapter: a LoRA id or path to load into ``model`` as ``adapter_name``
                (default name ``"judge"``), frozen; the model's modes are preserved.
            disable_adapters: judge with the bare base weights.
            **kwargs: judging fields of ``HFJudgeConfig`` (``format``, ``num_votes``, ...).

        Raises:
            ValueError: an adapter is named but the model is not a PeftModel, the name
                is unknown, or both ``adapter_name`` and ``disable_adapters`` are given.
        """
        from peft import PeftModel

        if adapter_name is not None and disable_adapters:
            raise ValueError(f"adapter_name={adapter_name!r} and disable_adapters=True exclude each other")
        wants_peft = adapter_name is not None or adapter is not None or disable_adapters
        if wants_peft and not isinstance(model, PeftModel):
            raise ValueError(
                f"adapter_name/adapter/disable_adapters need a peft.PeftModel, got {type(model).__name__}; "
                "wrap the model with peft.get_peft_model first"
            )
        if adapter is not None:
            adapter_name = adapter_name or "judge"
            if adapter_name in adapter_names(model):
                raise ValueError(f"adapter_name={adapter_name!r} is already loaded in the model")
            with borrowed(model):  # load_adapter(is_trainable=False) would leave the model in eval()
                try:
                    model.load_adapter(os.fspath(adapter), adapter_name=adapter_name, is_trainable=False)
                except (RuntimeError, ValueError, KeyError, OSError) as err:
                    raise ValueError(f"adapter={os.fspath(adapter)!r} does not fit the model: {err}") from err
        elif adapter_name is not None and adapter_name not in adapter_names(model):
            raise ValueError(f"adapter_name={adapter_name!r} is not loaded; the model has {adapter_names(model)}")
        judge = cls(config=HFJudgeConfig(model="<in-memory>", **kwargs))
        judge._model, judge._tokenizer = model, tokenizer
        judge._borrowed, judge._adapter_name, judge._disable_adapters = True, adapter_name, disable_adapters
        _check_chat_template(tokenizer)
        return judge

    # ---- loading --------------------------------------------------------------
    @property
    def model(self) -> Any:
        self.load()
        return self._model

    @property
    def tokenizer(self) -> Any:
        self.load()
        return self._tokenizer

    def load(self) -> HFJudge:
        """Loads tokenizer, model, adapter and quantization now (no-op when loaded)."""
        if self._model is not None:
            return self
        from transformers import AutoModelForCausalLM, AutoTokenizer

        cfg = self.config
        dtype = _DTYPES[cfg.dtype]
        common = {"revision": cfg.revision, "trust_remote_code": cfg.trust_remote_code}
        tokenizer_source = cfg.adapter if cfg.adapter and _has_tokenizer(cfg.adapter) else cfg.model
        tokenizer = AutoTokenizer.from_pretrained(tokenizer_source, **common)
        _check_chat_template(tokenizer)
        kwargs: dict[str, Any] = dict(common, dtype=dtype)
        quantization = _quantization_config(cfg, dtype)
        if quantization is not None:
            kwargs["quantization_config"] = quantization
        device_map = cfg.device_map
        if device_map is None and quantization is not None:
            device_map = {"": cfg.device or ("cuda" if torch.cuda.is_available() else "cpu")}
        if device_map is not None:
            kwargs["device_map"] = device_map
        if cfg.attn_implementation:
            kwargs["attn_implementation"] = cfg.attn_implementation
        model = AutoModelForCausalLM.from_pretrained(cfg.model, **kwargs)
        if cfg.adapter:
            model = _attach_adapter(model, cfg.adapter, cfg.model)
        if device_map is None:
            model.to(cfg.device or ("cuda" if torch.cuda.is_available() else "cpu"))
        model.eval()
        model.requires_grad_(False)
        self._model, self._tokenizer = model, tokenizer
        logger.info("loaded judge %s%s", cfg.model, f" + {cfg.adapter}" if cfg.adapter else "")
        return self

    def __getstate__(self) -> dict[str, Any]:
        if self._borrowed:
            raise TypeError(
                "an HFJudge built with from_model borrows a live model and cannot be pickled; "
                "build HFJudge(model_path, adapter=...) for a judge that loads itself"
            )
        state = self.__dict__.copy()
        state["_model"] = state["_tokenizer"] = None  # reloaded lazily on the other side
        return state

    # ---- generation -----------------------------------------------------------
    def _judge_mode(self) -> Any:
        """The borrowed model switched to the judge (restored on exit); a no-op for an owned one."""
        if self._borrowed:
            return borrowed(self._model, self._adapter_name, self._disable_adapters)
        return nullcontext()

    def _prompt_text(self, messages: list[Any]) -> str:
        """The judge's chat prompt, ready for the answer to follow."""
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def generate(self, requests: Sequence[GenerationRequest]) -> list[list[Generation]]:
        """Generates every request's samples, batched by length; see the module doc."""
        model, tokenizer = self.model, self.tokenizer
        rows: list[tuple[int, list[int], bool]] = []  # (request index, prompt ids, template opened <think>)
        for index, request in enumerate(requests):
            text = self._prompt_text(request.messages)
            opened_think = text.rstrip().endswith("<think>") and not request.assistant_prefix
            ids = tokenizer(text + request.assistant_prefix, add_special_tokens=False)["input_ids"]
            rows.extend((index, ids, opened_think) for _ in range(request.num_samples))
        results: list[list[Generation]] = [[] for _ in requests]
        outputs: dict[int, Generation] = {}
        # The seed advances per compare()/rank() call, so a rerun reproduces every call.
        with self._judge_mode(), torch.no_grad(), _seeded(self.config.seed + self._calls, _device(model)):
            groups: dict[tuple[int, bool, tuple[str, ...]], list[int]] = {}
            for r, (index, _, _) in enumerate(rows):
                request = requests[index]
                budget = request.max_new_tokens or self.config.max_new_tokens
                groups.setdefault((budget, request.greedy, request.stop), []).append(r)
            for (budget, greedy, stop), members in groups.items():
                self._order_rows(members, [ids for _, ids, _ in rows])
                for start in range(0, len(members), self.config.batch_size):
                    batch = members[start : start + self.config.batch_size]
                    generations = self._generate_batch(
                        [rows[r][1] for r in batch], budget, greedy, stop, [rows[r][2] for r in batch]
                    )
                    outputs.update(zip(batch, generations))
        for r, (index, _, opened_think) in enumerate(rows):
            generation = outputs[r]
            if opened_think:  # keep the tag the template wrote, so parsing sees the block
                generation = Generation("<think>" + generation.text, generation.tokens, generation.finished)
            results[index].append(generation)
        return results

    def _order_rows(self, members: list[int], ids: list[list[int]]) -> None:
        """Sorts rows (in place) into batch order.

        With ``prefix_reuse``, rows sort by their tokens, so the matches of a group (same
        system prompt and query, often the same first response) sit in the same batch and
        share a long prefix; otherwise, with ``length_bucketing``, longest first (little
        padding); else as requested.
        """
        if self.config.prefix_reuse:
            members.sort(key=lambda r: ids[r])
        elif self.config.length_bucketing:
            members.sort(key=lambda r: -len(ids[r]))

    def _plan_prefix(self, prompts: list[list[int]], keep: int = 1) -> _PrefixPlan | None:
        """How this batch's prompt tokens are shared, or None (each row computes its own).

        Two levels: ``shared`` tokens common to every row (the judge's system prompt) run
        once; then runs of neighbouring rows with a longer common prefix (the same query,
        and in a round robin or with both orders the same first response) form clusters
        whose extension runs once per cluster. Every row computes at least its last
        ``keep`` positions itself (their logits start decoding or score the labels).
        Among clusterings by a minimum extension length, the one computing the fewest
        token positions (padding included) is kept, the one-level plan among them.
        """
        n = len(prompts)
        if not self.config.prefix_reuse or n < 2:
            return None
        room = [len(p) - keep for p in prompts]
        first, limit = prompts[0], min(room)
        shared = 0
        while shared < limit and all(p[shared] == first[shared] for p in prompts):
            shared += 1
        if shared < _MIN_SHARED_PREFIX:
            shared = 0
        adjacent = [_common_length(prompts[i], prompts[i + 1]) for i in range(n - 1)]
        flat = _PrefixPlan(shared, [], [0] * n)
        best, best_cost = flat, flat.cost(prompts)
        for minimum in (_MIN_SHARED_PREFIX // 2, _MIN_SHARED_PREFIX, 2 * _MIN_SHARED_PREFIX, 4 * _MIN_SHARED_PREFIX):
            clusters, extend = [], [0] * n
            i = 0
            while i < n:
                j, length = i, room[i] - shared
                while j + 1 < n and min(length, adjacent[j] - shared, room[j + 1] - shared) >= minimum:
                    length = min(length, adjacent[j] - shared, room[j + 1] - shared)
                    j += 1
                if j > i:
                    clusters.append(list(range(i, j + 1)))
                    extend[i : j + 1] = [length] * (j + 1 - i)
                i = j + 1
            if clusters:
                plan = _PrefixPlan(shared, clusters, extend)
                cost = plan.cost(prompts)
                if cost < best_cost:
                    best, best_cost = plan, cost
        return best if best.shared or best.clusters else None

    def _prefilled(self, prompts: list[list[int]], plan: _PrefixPlan) -> tuple[torch.Tensor, torch.Tensor, Any]:
        """Inputs for a batch whose shared prefixes are computed once, following ``plan``.

        Returns ``(input_ids, attention_mask, cache)``. The cache holds ``plan.cached``
        positions per row: the common prefix, then the row's cluster extension, right-padded
        to the longest extension (a row outside every cluster sees only masked positions
        there). Each row's own tokens follow, left-padded, so the attention mask reads
        [prefix ones | extension ones, zeros | padding zeros | row ones]; positions come
        from the mask, so every row sees exactly the positions it would see alone.
        """
        from transformers import DynamicCache

        model = self._model
        pad_id, _ = _special_ids(model, self._tokenizer)
        device = _device(model)
        name = _cache_argument(model)
        logits = {"logits_to_keep": 1} if _accepts(model, "logits_to_keep") else {}
        cache = DynamicCache()
        shared, width = plan.shared, plan.width
        if shared:
            model(input_ids=torch.tensor([prompts[0][:shared]], device=device), use_cache=True, **{name: cache}, **logits)
        if plan.clusters:
            if shared:
                cache.batch_repeat_interleave(len(plan.clusters))
            lengths = [plan.extend[c[0]] for c in plan.clusters]
            ids = [prompts[c[0]][shared : shared + e] + [pad_id] * (width - e) for c, e in zip(plan.clusters, lengths)]
            mask = [[1] * (shared + e) + [0] * (width - e) for e in lengths]
            positions = torch.arange(shared, shared + width, device=device).expand(len(ids), -1)
            model(
                input_ids=torch.tensor(ids, device=device), attention_mask=torch.tensor(mask, device=device),
                position_ids=positions, use_cache=True, **{name: cache}, **logits,
            )
            owner = [0] * len(prompts)
            for k, cluster in enumerate(plan.clusters):
                for row in cluster:
                    owner[row] = k
            cache.batch_select_indices(torch.tensor(owner, device=device))
        else:
            cache.batch_repeat_interleave(len(prompts))
        suffixes = [p[shared + e :] for p, e in zip(prompts, plan.extend)]
        tail = max(len(x) for x in suffixes)
        input_ids, attention_mask = [], []
        for p, e, x in zip(prompts, plan.extend, suffixes):
            input_ids.append(p[: shared + e] + [pad_id] * (width - e + tail - len(x)) + x)
            attention_mask.append([1] * (shared + e) + [0] * (width - e + tail - len(x)) + [1] * len(x))
        self.prefix_tokens_saved += plan.saved
        return torch.tensor(input_ids, device=device), torch.tensor(attention_mask, device=device), cache

    def _generate_batch(
        self,
        prompts: list[list[int]],
        max_new_tokens: int,
        greedy: bool,
        stop: tuple[str, ...] = (),
        opened_think: list[bool] | None = None,
    ) -> list[Generation]:
        from transformers import GenerationConfig, StoppingCriteriaList

        model, tokenizer = self._model, self._tokenizer
        pad_id, eos_ids = _special_ids(model, tokenizer)
        device = _device(model)
        kwargs: dict[str, Any] = {}
        plan = self._plan_prefix(prompts)
        if plan is not None:
            input_ids, attention_mask, kwargs[_cache_argument(model)] = self._prefilled(prompts, plan)
        else:
            width = max(len(p) for p in prompts)
            input_ids = torch.tensor([[pad_id] * (width - len(p)) + p for p in prompts], device=device)
            attention_mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=device)
        width = input_ids.shape[1]
        stopper = None
        if stop:
            stopper = _StopAtStrings(tokenizer, stop, width, opened_think or [False] * len(prompts))
            kwargs["stopping_criteria"] = StoppingCriteriaList([stopper])
        if self.config.static_cache:
            static = _static_cache(model, input_ids.shape[1] + max_new_tokens, kwargs.get(_cache_argument(model)))
            if static is not None:
                kwargs[_cache_argument(model)] = static
        sample = not greedy and self.config.temperature > 0
        generation_config = GenerationConfig(
            max_new_tokens=max_new_tokens,
            do_sample=sample,
            temperature=self.config.temperature if sample else None,
            top_p=self.config.top_p if sample else None,
            top_k=None,
            pad_token_id=pad_id,
            eos_token_id=eos_ids,
            use_cache=True,
            disable_compile=True,  # batch shapes change from call to call: compiling would recompile
        )
        output = model.generate(
            input_ids=input_ids, attention_mask=attention_mask, generation_config=generation_config, **kwargs
        )
        generations = []
        for i, row in enumerate(output[:, width:].tolist()):
            stopped = stopper.stopped[i] if stopper is not None else None
            end = next((j for j, token in enumerate(row) if token in eos_ids), None)
            if stopped is not None and (end is None or stopped <= end):  # the verdict came first
                kept, tokens, finished = row[:stopped], stopped, True
            else:
                kept = row if end is None else row[:end]
                tokens, finished = len(kept) + (end is not None), end is not None
            generations.append(Generation(tokenizer.decode(kept, skip_special_tokens=True), tokens, finished))
        return generations

    def score(self, requests: Sequence[ScoreRequest]) -> list[list[float]]:
        """Summed log-probabilities of each request's candidates (verdict labels), up to
        a term shared by all candidates of a request (their common leading tokens).

        The context is the judge's chat prompt plus ``assistant_prefix``. When every
        candidate is a single token (the usual case: " 1"/" 2", "A"/"B"), one sequence per
        request gives all of them from its last position; otherwise each candidate is
        appended to its own copy of the context. Sequences are length-sorted, left-padded
        and run ``batch_size`` at a time; only the needed positions' logits are kept.
        """
        tokenizer = self.tokenizer
        # A row: (request, token ids, [(candidate, target ids, position predicting the first)])
        rows: list[tuple[int, list[int], list[tuple[int, list[int], int]]]] = []
        for r, request in enumerate(requests):
            text = self._prompt_text(request.messages)
            context = tokenizer(text + request.assistant_prefix, add_special_tokens=False)["input_ids"]
            labels = [tokenizer(c, add_special_tokens=False)["input_ids"] for c in request.candidates]
            if any(not ids for ids in labels):
                raise ValueError(f"a verdict label of {request.candidates!r} tokenizes to nothing")
            # Tokens shared by every label (" 1"/" 2" -> " ", "1"/"2") add the same log-prob
            # to each: move them into the context, which often leaves one token per label.
            shared = 0
            while all(len(ids) > shared + 1 and ids[shared] == labels[0][shared] for ids in labels):
                shared += 1
            context, labels = context + labels[0][:shared], [ids[shared:] for ids in labels]
            if all(len(ids) == 1 for ids in labels):
                rows.append((r, context, [(c, ids, len(context) - 1) for c, ids in enumerate(labels)]))
            else:
                rows.extend((r, context + ids, [(c, ids, len(context) - 1)]) for c, ids in enumerate(labels))
        order = list(range(len(rows)))
        self._order_rows(order, [ids for _, ids, _ in rows])
        scores = [[0.0] * len(request.candidates) for request in requests]
        with self._judge_mode(), torch.no_grad():
            for start in range(0, len(order), self.config.batch_size):
                batch = [rows[i] for i in order[start : start + self.config.batch_size]]
                for r, c, value in self._score_batch(batch):
                    scores[r][c] = value
        return scores

    def _score_batch(
        self, batch: list[tuple[int, list[int], list[tuple[int, list[int], int]]]]
    ) -> list[tuple[int, int, float]]:
        model = self._model
        pad_id, _ = _special_ids(model, self._tokenizer)
        prompts = [ids for _, ids, _ in batch]
        # positions counted from the end are the same after left padding
        keep = max(len(ids) - first for _, ids, queries in batch for _, _, first in queries)
        device = _device(model)
        kwargs: dict[str, Any] = {"logits_to_keep": keep} if _accepts(model, "logits_to_keep") else {}
        # Every row keeps the positions it scores, so shared prefixes stop before them.
        plan = self._plan_prefix(prompts, keep)
        if plan is not None:
            input_ids, mask, kwargs[_cache_argument(model)] = self._prefilled(prompts, plan)
            position_ids = (mask.cumsum(-1) - 1).clamp(min=0)[:, plan.cached :]
            input_ids = input_ids[:, plan.cached :]
        else:
            width = max(len(ids) for ids in prompts)
            input_ids = torch.tensor([[pad_id] * (width - len(ids)) + ids for ids in prompts], device=device)
            mask = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in prompts], device=device)
            position_ids = (mask.cumsum(-1) - 1).clamp(min=0)
        logits = model(input_ids=input_ids, attention_mask=mask, position_ids=position_ids, **kwargs).logits
        logprobs = torch.log_softmax(logits[:, -keep:].float(), dim=-1)
        values = []
        for row, (r, ids, queries) in enumerate(batch):
            for c, targets, first in queries:
                at = keep - (len(ids) - first)  # kept index of the position predicting targets[0]
                predicted = logprobs[row, at : at + len(targets)]
                values.append((r, c, predicted.gather(-1, torch.tensor(targets, device=device)[:, None]).sum().item()))
        return values


# A shared prefix shorter than this is recomputed with each row: not worth a separate pass.
_MIN_SHARED_PREFIX = 16


@dataclass
class _PrefixPlan:
    """Prompt sharing in one batch (see ``HFJudge._plan_prefix``): ``shared`` leading
    tokens common to all rows; ``clusters`` of row indices whose next ``extend[row]``
    tokens are common to the cluster (0 for rows outside every cluster)."""

    shared: int
    clusters: list[list[int]]
    extend: list[int]

    @property
    def width(self) -> int:
        return max((self.extend[c[0]] for c in self.clusters), default=0)

    @property
    def cached(self) -> int:
        return self.shared + self.width

    @property
    def saved(self) -> int:
        """Prompt tokens the rows do not compute themselves, less those computed once."""
        return self.shared * (len(self.extend) - 1) + sum(self.extend[c[0]] * (len(c) - 1) for c in self.clusters)

    def cost(self, prompts: list[list[int]]) -> int:
        """Token positions run through the model for the prompts, padding included."""
        tail = max(len(p) - self.shared - e for p, e in zip(prompts, self.extend))
        return self.shared + len(self.clusters) * self.width + len(prompts) * tail


def _static_cache(model: Any, length: int, filled: Any = None) -> Any:
    """A ``StaticCache`` of ``length`` positions holding ``filled``'s key/values (a
    ``DynamicCache``, or None for an empty cache), or None when the model has layers a
    static cache treats differently (sliding windows, linear attention)."""
    from transformers import StaticCache

    try:
        cache = StaticCache(config=model.config, max_cache_len=length)
    except Exception:  # a config StaticCache does not know how to lay out
        return None
    layers = getattr(cache, "layers", None)
    if not layers or any(getattr(layer, "is_sliding", False) for layer in layers):
        return None
    if filled is not None:
        sources = getattr(filled, "layers", [])
        if len(sources) != len(layers):
            return None
        try:
            for layer, source in zip(layers, sources):
                # transformers < 5 writes at cache_kwargs["cache_position"]; 5.x appends
                positions = torch.arange(source.keys.shape[-2], device=source.keys.device)
                layer.update(source.keys, source.values, {"cache_position": positions})
        except Exception as err:  # another transformers layout: decode with the dynamic cache
            logger.debug("static cache unavailable (%s); using the dynamic one", err)
            return None
    return cache


def _common_length(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


class _StopAtStrings:
    """Generation stopping criterion: a row is done once the text it generated, after
    thinking, contains a stop string. ``stopped[i]`` is then row i's token count.

    Only the last few tokens are decoded at each step; the full text (to find the end of
    thinking) only when a stop string shows up there. Rows that already ended (EOS) are
    left to ``generate``.
    """

    def __init__(self, tokenizer: Any, stop: tuple[str, ...], width: int, opened_think: list[bool]) -> None:
        self.tokenizer, self.stop, self.width, self.opened_think = tokenizer, stop, width, opened_think
        longest = max(len(tokenizer(s, add_special_tokens=False)["input_ids"]) for s in stop)
        self.tail = longest + 2  # a stop string may straddle token boundaries
        self.stopped: list[int | None] = [None] * len(opened_think)
        self.eos_ids = set(_special_ids_tokenizer(tokenizer))

    def __call__(self, input_ids: torch.Tensor, scores: Any = None, **kwargs: Any) -> torch.Tensor:
        from ..parsing import final_answer_text

        generated = input_ids.shape[1] - self.width
        done = []
        for i, row in enumerate(input_ids[:, self.width :].tolist()):
            if self.stopped[i] is None and not self.eos_ids.intersection(row):
                tail = self.tokenizer.decode(row[-self.tail :], skip_special_tokens=True)
                if any(s in tail for s in self.stop):
                    text = ("<think>" if self.opened_think[i] else "") + self.tokenizer.decode(
                        row, skip_special_tokens=True
                    )
                    final = final_answer_text(text)
                    if final is not None and any(s in final for s in self.stop):
                        self.stopped[i] = generated
            done.append(self.stopped[i] is not None)
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)


def _special_ids_tokenizer(tokenizer: Any) -> list[int]:
    value = getattr(tokenizer, "eos_token_id", None)
    return [int(t) for t in (value if isinstance(value, (list, tuple)) else [value]) if t is not None]


def _has_tokenizer(path: str) -> bool:
    return os.path.isfile(os.path.join(path, "tokenizer_config.json"))


def _check_chat_template(tokenizer: Any) -> None:
    if not getattr(tokenizer, "chat_template", None):
        raise ValueError(
            f"the judge tokenizer {getattr(tokenizer, 'name_or_path', tokenizer)!r} has no chat_template; "
            "a judge needs one (set tokenizer.chat_template)"
        )


def _special_ids(model: Any, tokenizer: Any) -> tuple[int, list[int]]:
    eos: list[int] = []
    for source in (getattr(model, "generation_config", None), tokenizer):
        value = getattr(source, "eos_token_id", None)
        for token in value if isinstance(value, (list, tuple)) else [value]:
            if token is not None and token not in eos:
                eos.append(int(token))
    if not eos:
        raise ValueError("the judge has no eos_token_id in its tokenizer or generation_config")
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos[0]
    return pad, eos


def _accepts(model: Any, argument: str) -> bool:
    import inspect

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return argument in inspect.signature(base.forward).parameters


def _cache_argument(model: Any) -> str:
    """The name the model's forward gives its key/value cache (``cache`` since transformers
    5.2x, ``past_key_values`` before)."""
    return "cache" if _accepts(model, "cache") else "past_key_values"


def _device(model: Any) -> torch.device:
    return next(model.parameters()).device


@contextmanager
def _seeded(seed: int, device: torch.device) -> Iterator[None]:
    """Seeds torch inside a forked RNG: reproducible judging, trainer RNG untouched."""
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed % (2**63))
        yield
