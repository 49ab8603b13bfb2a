"""Continuous decoding (``HFSpeedConfig.continuous_decoding``): rows leave the batch as they
end, and the call's waiting rows take their place.

``model.generate`` keeps every row of a batch in every step until its last row ends, and
the next batch waits for that: a batch costs its rows times its longest row. Here a row
leaves the batch, and its slice of the key/value cache, as soon as it ends (an
end-of-sequence token, a stop string, its budget); once a quarter of the ``slots`` are
free (``REFILL_SHARE``), the next waiting rows are prefilled together (their shared
prefixes once, as ``kv_cache.prefilled`` does) and join the batch (``kv_cache.joined``).
A decoding step has a large fixed cost on a CPU (``benchmarks/decode_step.py``: 0.20 s for
one row, 0.64 s for 16, fp32 on 2 AVX2 cores), so a batch kept full writes far more
tokens a second than one left to empty.

The same texts as ``generate``: positions are each row's real-token ranks, logits float32,
greedy argmax after the row's own logits processor (``trl_rrm.sampling``'s per-row
generators follow their rows wherever they sit in the batch), the same stopping rule
(``StopAtStrings.check``, row by row). transformers' own continuous batching
(``generate_batch``, 5.25) has one seed per manager and no stop strings, so it can give
neither per-row seeded samples nor a stop at the verdict. With a model whose cache is not
plain full attention (sliding windows), waiting rows join only an empty batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from .kv_cache import accepts, cache_argument, joined, kept_rows, plain_layers, room_left, with_room
from .stopping import DecodeHeartbeat, logger

# Waiting rows are admitted once 1/REFILL_SHARE of the slots is free (or the batch is empty):
# admitting copies the batch's cache, so one row at a time would copy it at almost every step.
REFILL_SHARE = 4
# With a static cache, the positions a batch's cache is given beyond those written (a copy
# each ROOM steps, where a dynamic cache copies itself at every step).
ROOM = 32

Prefill = Callable[[list[int]], "tuple[torch.Tensor, torch.Tensor, Any, int]"]


@dataclass
class _Batch:
    """The rows writing now, in cache order: their key/value cache, its attention mask
    (one column per cached position) and each row's last token, chosen but not yet fed."""

    rows: list[int]
    cache: Any
    mask: torch.Tensor
    pending: torch.Tensor

    def drop(self, ended: list[bool], on_leave: Any) -> None:
        """Removes the ended rows (``on_leave`` sees them first, with the cache they leave)."""
        gone = [i for i, e in enumerate(ended) if e]
        if not gone:
            return
        if on_leave is not None:
            on_leave(torch.tensor(gone), [self.rows[i] for i in gone], self.cache, self.mask)
        keep = [i for i, e in enumerate(ended) if not e]
        if keep:
            kept_rows(self.cache, torch.tensor(keep, device=self.mask.device))
        self.rows = [self.rows[i] for i in keep]
        self.mask, self.pending = self.mask[keep], self.pending[keep]

    def join(self, other: _Batch) -> _Batch:
        if not self.rows:
            return other
        if not other.rows:
            return self
        cache, mask = joined(self.cache, self.mask, other.cache, other.mask)
        return _Batch(self.rows + other.rows, cache, mask, torch.cat([self.pending, other.pending]))


def decode(
    model: Any,
    rows: int,
    prefill: Prefill,
    *,
    slots: int,
    budget: int,
    eos_ids: list[int],
    processor: Any = None,
    stopper: Any = None,
    on_leave: Any = None,
    written: list[list[int]] | None = None,
    static: bool = True,
) -> list[list[int]]:
    """Generates up to ``budget`` tokens for each of ``rows`` rows, at most ``slots`` at a
    time, admitted in row order. ``prefill(new_rows)`` gives those rows'
    ``(input_ids, attention_mask, cache, cached)``: left-padded, the cache (or None) holding
    the first ``cached`` positions.

    Returns each row's tokens (an ending end-of-sequence token included); ``stopper.stopped``
    is filled per row. ``processor`` needs ``follow(rows)`` (``seeded_rows_processor``).
    ``on_leave(cache_rows, rows, cache, mask)`` is called as rows end, before their cache
    slices are dropped: ``cache_rows`` index the cache's batch, ``mask`` covers its positions;
    a leaving row's tokens are final then (in ``written``, when given: the list filled as
    decoding goes, and returned). ``static``: decode into a static cache with ``ROOM`` free
    positions, grown by copying when they run out (a dynamic cache copies itself each step).
    """
    name = cache_argument(model)
    extra = {"logits_to_keep": 1} if accepts(model, "logits_to_keep") else {}
    eos = set(eos_ids)
    written = [] if written is None else written
    written[:] = [[] for _ in range(rows)]
    heartbeat = DecodeHeartbeat(rows, 0, budget)

    def forward(ids: torch.Tensor, mask: torch.Tensor, positions: torch.Tensor, cache: Any) -> torch.Tensor:
        return model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True,
                     **{name: cache}, **extra).logits[:, -1, :].float()  # fmt: skip

    def choose(logits: torch.Tensor, batch_rows: list[int]) -> tuple[torch.Tensor, list[bool]]:
        if processor is not None:
            processor.follow(batch_rows)
            logits = processor(None, logits)
        chosen = logits.argmax(-1)
        ended = []
        for r, token in zip(batch_rows, chosen.tolist()):
            written[r].append(token)
            stops = token in eos or (stopper is not None and stopper.check(r, written[r]))
            ended.append(stops or len(written[r]) == budget)
        return chosen, ended

    def admit(new: list[int]) -> _Batch:
        from transformers import DynamicCache

        ids, mask, cache, cached = prefill(new)
        cache = DynamicCache() if cache is None else cache
        positions = (mask.long().cumsum(-1) - 1).masked_fill(mask == 0, 1)
        chosen, ended = choose(forward(ids[:, cached:], mask, positions[:, cached:], cache), new)
        batch = _Batch(list(new), cache, mask, chosen)
        batch.drop(ended, on_leave)
        return batch

    batch: _Batch | None = None
    admitted = 0
    while admitted < rows or (batch is not None and batch.rows):
        empty = batch is None or not batch.rows
        free = slots - (0 if empty else len(batch.rows))
        # waiting rows start an empty batch, or join a running one once a share of it is free
        if admitted < rows and (empty or (free * REFILL_SHARE >= slots and plain_layers(batch.cache) is not None)):
            new = list(range(admitted, min(rows, admitted + free)))
            admitted += len(new)
            fresh = admit(new)
            batch = fresh if batch is None else batch.join(fresh)
            if static and batch.rows:
                batch.cache = with_room(model, batch.cache, batch.mask.shape[1], ROOM)
            continue
        if room_left(batch.cache, batch.mask.shape[1]) == 0:
            batch.cache = with_room(model, batch.cache, batch.mask.shape[1], ROOM)
        mask = torch.cat([batch.mask, batch.mask.new_ones((len(batch.rows), 1))], dim=1)
        positions = batch.mask.long().sum(-1, keepdim=True)
        logits = forward(batch.pending[:, None], mask, positions, batch.cache)
        batch.mask = mask
        batch.pending, ended = choose(logits, batch.rows)
        batch.drop(ended, on_leave)
        if heartbeat.due():
            logger.info("judge decoding %d rows, %d at a time: %d done, %d writing, %d tokens written, %.0f s",
                        rows, slots, admitted - len(batch.rows), len(batch.rows), sum(map(len, written)),
                        heartbeat.elapsed())  # fmt: skip
    return written


__all__ = ["REFILL_SHARE", "decode"]
