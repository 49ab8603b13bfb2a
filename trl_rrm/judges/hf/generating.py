"""How an ``HFRunner`` writes a call's samples: rows grouped by budget, then decoded.

Two paths, the same texts: continuous decoding (``continuous_decoding``, the default: rows
leave as they end and the call's waiting rows take their places, ``continuous``) and
``model.generate`` on fixed batches (with a static key/value cache). Either can score each
sample's verdict labels right after its analysis from the key/values decoding left
(``reuse_analysis_cache``), instead of a second prefill of prompt + analysis.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, NamedTuple

import torch

from ...sampling import seeded_rows_processor
from ...special_tokens import special_ids
from ..requests import Generation, GenerationRequest
from .continuous import decode
from .kv_cache import cache_argument, device_of, generated_cache, row_states, static_cache
from .label_scoring import label_rows, reusable
from .runner import HFRunner
from .stopping import DecodeHeartbeat, StopAtStrings, written_generations


class _Row(NamedTuple):
    """One sample to generate: its request, prompt ids, whether the template opened
    ``<think>``, and its seed."""

    index: int
    ids: list[int]
    opened: bool
    seed: int
    request: GenerationRequest



def generate(runner: HFRunner, requests: Sequence[GenerationRequest]) -> list[list[Generation]]:
    """Generates every request's samples, batched; see the module doc."""
    rows: list[_Row] = []
    for index, request in enumerate(requests):
        ids, opened = runner.prompt_ids(request.messages, request.assistant_prefix)
        rows.extend(_Row(index, ids, opened, seed, request) for seed in request.seeds(runner.config.seed))
    outputs: dict[int, Generation] = {}
    groups: dict[tuple[int, bool, tuple[str, ...]], list[int]] = {}
    for r, row in enumerate(rows):
        request = row.request
        groups.setdefault((request.max_new_tokens or runner.config.max_new_tokens, request.greedy, request.stop), []).append(r)
    with runner.call(), torch.no_grad():
        for (budget, greedy, stop), members in groups.items():
            runner.order(members, [row.ids for row in rows])
            if runner.config.continuous_decoding:
                outputs.update(zip(members, _generate_continuously(runner, [rows[r] for r in members], budget,
                                                                        greedy, stop)))  # fmt: skip
                continue
            for start in range(0, len(members), runner.config.batch_size):
                batch = [rows[r] for r in members[start : start + runner.config.batch_size]]
                generated = _generate_batch(runner, batch, budget, greedy, stop)
                outputs.update(zip(members[start : start + runner.config.batch_size], generated))
    results: list[list[Generation]] = [[] for _ in requests]
    for r, row in enumerate(rows):
        results[row.index].append(outputs[r])
    return results

def _decoding_parts(runner: HFRunner, batch: list[_Row], greedy: bool, stop: tuple[str, ...], width: int,
                    ) -> tuple[Any, Any, dict[int, Any] | None]:  # fmt: skip
    """A batch's stop-string criterion, per-row sampler and (when its labels will be scored
    from the analysis' key/values) the dict that collects each row's key/values."""
    eos_ids = special_ids(runner.model, runner.tokenizer)[1]
    stopper = StopAtStrings(runner.tokenizer, stop, width, [row.opened for row in batch], eos_ids) if stop else None
    processor = None
    if not greedy and runner.config.temperature > 0:
        seeds = [row.seed for row in batch]
        processor = seeded_rows_processor(seeds, runner.config.temperature, runner.config.top_p, device_of(runner.model))
    states = None
    if runner.config.reuse_analysis_cache and any(row.request.then_score is not None for row in batch):
        states = {}
    return stopper, processor, states

def _generate_batch(runner: HFRunner, batch: list[_Row], budget: int, greedy: bool, stop: tuple[str, ...]) -> list[Generation]:
    """``model.generate`` on one batch (every row decodes until the last one ends)."""
    model = runner.model
    pad_id, eos_ids = special_ids(model, runner.tokenizer)
    input_ids, attention_mask, kwargs, cached = runner.prefill([row.ids for row in batch])
    width = input_ids.shape[1]
    stopper, processor, states = _decoding_parts(runner, batch, greedy, stop, width)
    output, cache = _generate_all_rows(runner, input_ids, attention_mask, kwargs, budget, pad_id, eos_ids,
                                            processor, stopper, keep_cache=states is not None)  # fmt: skip
    if states is not None:
        mask = torch.cat([attention_mask, attention_mask.new_ones(output.shape[0], output.shape[1] - width)], 1)
        states.update(enumerate(row_states(cache, mask, torch.arange(len(batch))) or [None] * len(batch)))
    stopped = stopper.stopped if stopper is not None else [None] * len(batch)
    return _generations(runner, batch, output[:, width:].tolist(), stopped, eos_ids, states)

def _generate_continuously(runner: HFRunner, group: list[_Row], budget: int, greedy: bool, stop: tuple[str, ...],
                           ) -> list[Generation]:  # fmt: skip
    """``continuous_decoding``: the group's rows decode ``batch_size`` at a time, each leaving as
    it ends and the next waiting rows taking the freed places (``continuous``)."""
    model = runner.model
    _, eos_ids = special_ids(model, runner.tokenizer)
    stopper, processor, states = _decoding_parts(runner, group, greedy, stop, 0)

    def prefill(rows: list[int]) -> tuple[torch.Tensor, torch.Tensor, Any, int]:
        input_ids, mask, kwargs, cached = runner.prefill([group[r].ids for r in rows])
        return input_ids, mask, kwargs.get(cache_argument(model)), cached

    written: list[list[int]] = []
    stopped = stopper.stopped if stopper is not None else [None] * len(group)
    scored: dict[int, Generation] = {}

    def score_ended() -> None:  # a batch at a time: at most batch_size rows' key/values are held
        rows = sorted(states)
        out = _generations(runner, [group[r] for r in rows], [written[r] for r in rows], [stopped[r] for r in rows],
                                eos_ids, {i: states[r] for i, r in enumerate(rows)})  # fmt: skip
        scored.update(zip(rows, out))
        states.clear()

    def keep_states(cache_rows: torch.Tensor, rows: list[int], cache: Any, mask: torch.Tensor) -> None:
        states.update(zip(rows, row_states(cache, mask, cache_rows) or [None] * len(rows)))
        if len(states) >= runner.config.batch_size:
            score_ended()

    decode(model, len(group), prefill, slots=runner.config.batch_size, budget=budget, eos_ids=eos_ids,
           processor=processor, stopper=stopper, on_leave=None if states is None else keep_states,
           written=written, static=runner.config.static_cache)  # fmt: skip
    if states:
        score_ended()
    generations = _generations(runner, group, written, stopped, eos_ids, None)
    return [scored.get(i, g) for i, g in enumerate(generations)]

def _generations(runner: HFRunner, batch: list[_Row], written: list[list[int]], stopped: list[int | None],
                 eos_ids: list[int], states: dict[int, Any] | None) -> list[Generation]:  # fmt: skip
    generations = written_generations(runner.tokenizer, written, stopped, eos_ids, [row.opened for row in batch])
    return _score_after(runner, batch, generations, written, states) if states else generations

def _score_after(runner: HFRunner, batch: list[_Row], generations: list[Generation], written: list[list[int]],
                 states: dict[int, Any]) -> list[Generation]:  # fmt: skip
    """Each sample's ``then_score`` labels, scored after its analysis from the key/values
    decoding left (only what differs from the written tokens is computed)."""
    label_batch, lengths, row_state = [], [], []
    for i, sample in enumerate(batch):
        then, state = sample.request.then_score, states.get(i)
        if then is None or state is None:
            continue
        context, _ = runner.prompt_ids(sample.request.messages, then.context(generations[i].text))
        cached = (sample.ids + written[i])[: state[0][0].shape[2]]
        for row in label_rows(runner.tokenizer, i, context, then.candidates):
            label_batch.append(row)
            lengths.append(reusable(row, cached))
            row_state.append(state)
    if not label_batch:  # no cache to read (a layer kind row_states does not copy): the engine scores them
        return generations
    logps: dict[int, list[float]] = {}
    size = runner.config.batch_size
    for start in range(0, len(label_batch), size):
        chunk = slice(start, start + size)
        for r, c, value in runner.label_logps(label_batch[chunk], (row_state[chunk], lengths[chunk])):
            logps.setdefault(r, [0.0] * len(batch[r].request.then_score.candidates))[c] = value
    runner.analysis_tokens_reused += sum(lengths)
    return [replace(g, label_logps=tuple(logps[i])) if i in logps else g for i, g in enumerate(generations)]

def _generate_all_rows(runner: HFRunner, input_ids: torch.Tensor, attention_mask: torch.Tensor, kwargs: dict, budget: int,
                       pad_id: int, eos_ids: list[int], processor: Any, stopper: Any,
                       keep_cache: bool = False) -> tuple[torch.Tensor, Any]:  # fmt: skip
    """``model.generate`` on the batch: every row decodes until the last one ends. Returns
    the tokens and (``keep_cache``) the key/value cache decoding filled."""
    from transformers import GenerationConfig, StoppingCriteriaList

    model = runner.model
    heartbeat = DecodeHeartbeat(input_ids.shape[0], input_ids.shape[1], budget)
    kwargs["stopping_criteria"] = StoppingCriteriaList([heartbeat] if stopper is None else [stopper, heartbeat])
    if processor is not None:
        kwargs["logits_processor"] = [processor]
    if runner.config.static_cache:
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
