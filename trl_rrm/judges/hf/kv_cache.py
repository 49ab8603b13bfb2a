"""transformers key/value cache internals, in one place (the only module that knows them).

- ``prefilled``: a batch's inputs and a cache holding its shared prefixes, computed once
  per ``PrefixPlan`` (``trl_rrm.judges.hf.prefix_plan``).
- ``static_cache`` / ``with_room``: a ``StaticCache`` holding a prefilled cache, so
  decoding writes in place instead of concatenating at every step; ``kept_rows`` drops
  rows from either kind.
- ``cache_argument``: the name a model's ``forward`` gives its cache (``cache`` in
  transformers 5.2x and later, ``past_key_values`` before).
- ``row_states`` / ``stacked``: rows' key/values copied out of a batch's cache (its real
  positions only), and a new batch's cache built from them, each row cut to its own
  length: a sample's answer is scored after its analysis without computing it again.
- ``joined``: two batches' caches as one (continuous decoding admits waiting rows so).
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

import torch

from .prefix_plan import PrefixPlan

logger = logging.getLogger(__name__)


def device_of(model: Any) -> torch.device:
    return next(model.parameters()).device


def accepts(model: Any, argument: str) -> bool:
    """Whether the (base) model's ``forward`` takes ``argument``."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return argument in inspect.signature(base.forward).parameters


def generated_cache(output: Any) -> Any:
    """The key/value cache of a ``generate(return_dict_in_generate=True)`` output
    (``cache`` in transformers 5.2x, ``past_key_values`` before)."""
    fields = output.keys() if hasattr(output, "keys") else ()
    return output["cache"] if "cache" in fields else getattr(output, "past_key_values", None)


def cache_argument(model: Any) -> str:
    """The name the model's forward gives its key/value cache."""
    return "cache" if accepts(model, "cache") else "past_key_values"


def prefilled(model: Any, prompts: list[list[int]], plan: PrefixPlan, pad_id: int, memory: Any = None,
              ) -> tuple[torch.Tensor, torch.Tensor, Any]:  # fmt: skip
    """Inputs for a batch whose shared prefixes are computed once, following ``plan``.

    Returns ``(input_ids, attention_mask, cache)``. The cache holds ``plan.cached``
    positions per row: the common prefix, then the row's cluster extension, right-padded
    to the longest extension (a row outside every cluster sees only masked positions
    there). Each row's own tokens follow, left-padded, so the attention mask reads
    [prefix ones | extension ones, zeros | padding zeros | row ones]; positions come from
    the mask, so every row sees exactly the positions it would see alone. ``memory`` (a
    ``PrefixMemory``) gives the common prefix's leading key/values it holds, and keeps it
    (``PrefixMemory.prefix``).
    """
    from transformers import DynamicCache

    device = device_of(model)
    name = cache_argument(model)
    logits = {"logits_to_keep": 1} if accepts(model, "logits_to_keep") else {}
    shared, width = plan.shared, plan.width

    def common(cache: Any, start: int) -> Any:  # the common prefix's positions from start on, into cache
        model(input_ids=torch.tensor([prompts[0][start:shared]], device=device), use_cache=True, **{name: cache},
              position_ids=torch.arange(start, shared, device=device)[None], **logits)  # fmt: skip
        return cache

    if not shared:
        cache = DynamicCache()
    elif memory is None:
        cache = common(DynamicCache(), 0)
    else:
        cache = memory.prefix(model, prompts[0][:shared], common)
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
        )  # fmt: skip
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
    return torch.tensor(input_ids, device=device), torch.tensor(attention_mask, device=device), cache


def static_cache(model: Any, length: int, filled: Any = None, columns: int | None = None) -> Any:
    """A ``StaticCache`` of ``length`` positions holding ``filled``'s key/values (its
    first ``columns`` positions when given; None for an empty cache), or None when the
    model has layers a static cache treats differently (sliding windows, linear attention)."""
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
                keys, values = source.keys[:, :, :columns], source.values[:, :, :columns]
                # transformers < 5 writes at cache_kwargs["cache_position"]; 5.x appends
                positions = torch.arange(keys.shape[-2], device=keys.device)
                layer.update(keys, values, {"cache_position": positions})
        except Exception as err:  # another transformers layout: decode with the dynamic cache
            logger.debug("static cache unavailable (%s); using the dynamic one", err)
            return None
    return cache


def with_room(model: Any, cache: Any, columns: int, room: int) -> Any:
    """``cache``'s first ``columns`` positions in a ``StaticCache`` with ``room`` free
    positions after them, which decoding steps write in place (a dynamic cache copies
    itself at every step to grow by one); ``cache`` itself when it cannot be (sliding
    windows, linear attention, another transformers layout)."""
    if plain_layers(cache) is None:
        return cache
    grown = static_cache(model, columns + room, cache, columns)
    return cache if grown is None else grown


def room_left(cache: Any, columns: int) -> int | None:
    """Free positions of a static cache whose first ``columns`` are written; None for a
    cache that grows by itself."""
    layers = plain_layers(cache)
    if not layers or getattr(layers[0], "max_cache_len", None) is None:
        return None
    return layers[0].max_cache_len - columns


def kept_rows(cache: Any, rows: torch.Tensor) -> None:
    """Keeps only ``rows`` of the cache's batch, in place (a static cache's too, which
    transformers' ``batch_select_indices`` does not cover)."""
    layers = plain_layers(cache)
    if layers is None:
        cache.batch_select_indices(rows)
        return
    for layer in layers:
        layer.keys, layer.values = layer.keys[rows], layer.values[rows]


def plain_layers(cache: Any) -> list | None:
    """The cache's layers when every one is a plain full-attention layer holding key/values
    (no sliding window, no linear attention), else None."""
    layers = getattr(cache, "layers", None)
    if not layers or any(getattr(layer, "is_sliding", False) or getattr(layer, "keys", None) is None for layer in layers):
        return None
    return layers


RowState = list[tuple[torch.Tensor, torch.Tensor]]  # (keys, values) per layer, [1, heads, positions, dim]


def row_states(cache: Any, mask: torch.Tensor, rows: torch.Tensor) -> list[RowState] | None:
    """The key/values of ``rows`` (indices into ``cache``'s batch) at their real positions
    (``mask`` 1: no left or inner padding), copied out, in order; the positions a row's
    keys were rotated at are its real positions' ranks, so the copy reads as a row of its
    own. None when a layer is not a plain full-attention layer (sliding windows, linear
    attention, nothing cached)."""
    layers = plain_layers(cache)
    if layers is None:
        return None
    length = int(cache.get_seq_length())
    if length == 0 or mask.shape[1] < length:
        return None
    states = []
    for row in rows.tolist():
        real = mask[row, :length].nonzero().flatten()
        states.append([(layer.keys[row : row + 1, :, real], layer.values[row : row + 1, :, real]) for layer in layers])
    return states


def stacked(states: list[RowState], lengths: list[int]) -> tuple[Any, torch.Tensor]:
    """A batch cache of ``states``, row i cut to its first ``lengths[i]`` positions and
    left-padded to the longest, and its attention mask ([rows, longest]); (None, an empty
    mask) when every length is 0."""
    from transformers import DynamicCache

    width = max(lengths)
    device = states[0][0][0].device
    mask = torch.tensor([[0] * (width - n) + [1] * n for n in lengths], device=device, dtype=torch.long)
    if width == 0:
        return None, mask
    layers = []
    for layer in range(len(states[0])):
        stack = []
        for part in (0, 1):  # keys, values: each row's first n positions written once, left-padded
            first = states[0][layer][part]
            out = first.new_zeros((len(states), first.shape[1], width, first.shape[3]))
            for i, (state, n) in enumerate(zip(states, lengths)):
                out[i, :, width - n :] = state[layer][part][0, :, :n]
            stack.append(out)
        layers.append(tuple(stack))
    return DynamicCache(ddp_cache_data=layers), mask


def joined(first: Any, first_mask: torch.Tensor, second: Any, second_mask: torch.Tensor) -> tuple[Any, torch.Tensor] | None:
    """One batch cache of two: ``first``'s rows then ``second``'s, the shorter left-padded
    (masked) to the longer, and the leading positions no row attends to dropped. Each mask
    covers its cache's written positions (a static cache holds free ones after them). None
    when a layer is not a plain full-attention layer."""
    from transformers import DynamicCache

    parts = [plain_layers(first), plain_layers(second)]
    if parts[0] is None or parts[1] is None or len(parts[0]) != len(parts[1]):
        return None
    width = max(first_mask.shape[1], second_mask.shape[1])
    mask = torch.cat([torch.nn.functional.pad(m, (width - m.shape[1], 0)) for m in (first_mask, second_mask)])
    start = int(mask.any(0).nonzero()[0]) if mask.any() else width
    rows = first_mask.shape[0]
    data = []
    for a, b in zip(*parts):
        pair = []
        for x, y in ((a.keys, b.keys), (a.values, b.values)):  # each position copied once, right-aligned
            out = x.new_zeros((rows + y.shape[0], x.shape[1], width - start, x.shape[3]))
            sources = ((out[:rows], x, first_mask.shape[1]), (out[rows:], y, second_mask.shape[1]))
            for target, source, written in sources:
                kept = min(written, width - start)
                if kept:
                    target[:, :, -kept:] = source[:, :, written - kept : written]
            pair.append(out)
        data.append(tuple(pair))
    return DynamicCache(ddp_cache_data=data), mask[:, start:]
