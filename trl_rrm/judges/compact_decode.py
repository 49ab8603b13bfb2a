"""Decoding that drops finished rows (``HFSpeedConfig.compact_decoding``).

``model.generate`` keeps every row of a batch in every step until the last row ends, so a
batch costs its rows times its longest row. Here a row leaves the batch, and its slice of
the key/value cache, as soon as it ends (an end-of-sequence token, a stop string, its
budget): each step computes only the rows still writing. On a CPU, where a decoding step
costs in proportion to its rows, a batch then costs about the tokens it writes.

The same texts as ``generate``: the same prefill (the batch's inputs and prefix cache as
``kv_cache`` builds them), positions from the attention mask, float32 logits, greedy
argmax after the row's own logits processor (``trl_rrm.sampling``'s per-row generators
follow their rows), the same stopping rule (``StopAtStrings`` sees the whole batch, the
finished rows padded). transformers' own continuous batching (5.24) has one seed per
manager and no stop strings, so it cannot give per-row seeded samples or stop at a
verdict; this loop can, and a CPU gains nothing more from refilling the freed rows.
"""

from __future__ import annotations

from typing import Any

import torch

from .decoding import DecodeHeartbeat
from .kv_cache import accepts, cache_argument


def decode(
    model: Any,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    cache: Any,
    cached: int,
    *,
    budget: int,
    pad_id: int,
    eos_ids: list[int],
    processor: Any = None,
    stopper: Any = None,
    on_leave: Any = None,
) -> torch.Tensor:
    """Generates up to ``budget`` tokens for every row of a left-padded batch whose first
    ``cached`` positions are in ``cache`` (a ``DynamicCache``, or None for none).

    Returns ``generate``'s output layout: ``[rows, width + steps]``, each row's tokens
    after the prompt, ``pad_id`` after the row ended; ``stopper.stopped`` is filled as by
    ``generate``.
    ``on_leave(cache_rows, batch_rows, cache, mask)`` is called as rows end, before their
    cache slices are dropped (the rows still writing at the end included): ``cache_rows``
    index the cache's batch, ``batch_rows`` the input's, ``mask`` covers the cached positions.
    """
    from transformers import DynamicCache

    rows, width = input_ids.shape
    device = input_ids.device
    cache = DynamicCache() if cache is None else cache
    name = cache_argument(model)
    extra = {"logits_to_keep": 1} if accepts(model, "logits_to_keep") else {}
    positions = (attention_mask.long().cumsum(-1) - 1).masked_fill(attention_mask == 0, 1)
    out = torch.full((rows, width + budget), pad_id, dtype=input_ids.dtype, device=device)
    out[:, :width] = input_ids
    active = torch.arange(rows, device=device)  # the batch rows still writing, in cache order
    mask = attention_mask
    step_ids, step_positions = input_ids[:, cached:], positions[:, cached:]
    eos = torch.tensor(eos_ids, device=device)
    steps = 0
    heartbeat = DecodeHeartbeat(rows, width, budget)
    for t in range(budget):
        logits = model(input_ids=step_ids, attention_mask=mask, position_ids=step_positions, use_cache=True,
                       **{name: cache}, **extra).logits[:, -1, :].float()  # fmt: skip
        if processor is not None:
            logits = processor(out[active, : width + t], logits)
        chosen = logits.argmax(-1)
        out[active, width + t] = chosen
        steps = t + 1
        heartbeat(out[:, : width + steps])
        ended = torch.isin(chosen, eos)
        if stopper is not None:  # the whole batch, as generate shows it; finished rows are padded
            ended |= stopper(out[:, : width + steps])[active]
        keep = (~ended).nonzero().flatten()
        if on_leave is not None:
            leaving = torch.arange(active.numel(), device=device) if t + 1 == budget else ended.nonzero().flatten()
            if leaving.numel():
                on_leave(leaving, active[leaving], cache, mask)
        if t + 1 == budget or keep.numel() == 0:
            break
        if keep.numel() < active.numel():
            cache.batch_select_indices(keep)
            if processor is not None:
                processor.keep(keep.tolist())
            active, chosen, mask = active[keep], chosen[keep], mask[keep]
            step_positions = step_positions[keep]
        mask = torch.cat([mask, mask.new_ones((active.numel(), 1))], dim=1)
        step_ids, step_positions = chosen[:, None], step_positions[:, -1:] + 1
    return out[:, : width + steps]


__all__ = ["decode"]
