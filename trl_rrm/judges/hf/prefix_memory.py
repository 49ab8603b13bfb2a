"""The prompt prefix every row of a batch shares, kept between batches and calls
(``HFSpeedConfig.prefix_memory``).

Every judge prompt starts with the same system prompt and instructions (about 160 tokens
for ``rrm`` on SmolLM2), and ``prefix_plan`` computes that common prefix once per batch.
A GRPO step still computes it once per batch, per tournament round and per step: on 2 CPU
cores 1.3 s of a 29 s knockout round. ``PrefixMemory`` keeps the key/values of the last
common prefix and gives the next batch the part it shares with it (the rest is computed
on top), as long as the weights that computed them are the weights the model runs now.

How long a prefix is kept depends on whose weights they are:

- A judge that loaded its weights (``HFJudge(path)``) owns them, frozen: nothing but its
  owner writes them. It keeps the prefix across calls, checked at each use by
  ``weights_state``: every weight's storage and in-place version counter (an optimizer
  step, ``load_state_dict`` or ``copy_`` bumps it) and a sum of 64 of its values (a write
  through ``.data``, which bumps no counter, mostly changes them); every LoRA layer's
  active adapters, disabled and merged flags and scalings; the train flag and the
  autocast state.
- A judge on weights it does not own (``HFJudge.from_model``: the policy's model, its
  base with adapters disabled, or a judge adapter on it) keeps a prefix within one call
  only (``across_calls=False``: ``call()`` clears it when the outermost call ends). A
  trainer may write those weights between calls through ``.data`` (DeepSpeed, FSDP, some
  PEFT utilities): no counter moves, and a write that misses the 64 samples (a gradient
  step on the 6 embedding rows of a batch's tokens, one column of a key projection) went
  unseen, so a later call was served key/values of the old weights (issue 46). Reading
  every value at every use would cost about what the prefix saves. What this costs: such
  a judge computes its common prefix once per call (a tournament round) instead of once
  per weight change; batches and admissions within a call still share it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch

from .kv_cache import plain_layers
from .prefix_plan import common_length

SAMPLED = 64  # values of each weight summed into its fingerprint


def weights_state(model: Any) -> tuple:
    """What decides the key/values the model computes now, cheaply comparable: a change of
    its weights through an optimizer, ``load_state_dict`` or ``copy_``, most writes through
    ``.data`` (those that reach one of the 64 values summed per weight), a change of
    adapter, dropout or autocast changes it."""
    layers = [m for m in model.modules() if isinstance(m, _tuner_layer())]
    tensors = [*model.parameters(), *model.buffers()]
    meta = tuple((t.data_ptr(), t._version, t.dtype) for t in tensors)
    flat = [t.detach().reshape(-1) for t in tensors if t.numel()]
    try:
        sums = torch.stack([x[:: max(1, x.numel() // SAMPLED)].double().sum() for x in flat]).tolist() if flat else []
    except (RuntimeError, NotImplementedError):  # weights that cannot be read here (meta, offloaded): never equal
        sums = [object()]
    adapters = tuple(
        (bool(m.disable_adapters), tuple(m.active_adapters), bool(m.merged),
         tuple(sorted(getattr(m, "scaling", {}).items())))  # fmt: skip
        for m in layers
    )
    device = next(model.parameters()).device.type
    autocast = (torch.is_autocast_enabled(device), torch.get_autocast_dtype(device))
    return meta, sums, adapters, model.training, autocast


def _tuner_layer() -> tuple[type, ...]:
    try:  # peft is a dependency; a model without tuner layers has none to read
        from peft.tuners.tuners_utils import BaseTunerLayer
    except ImportError:  # pragma: no cover
        return ()
    return (BaseTunerLayer,)


class PrefixMemory:
    """The key/values (one row) of the last prefix stored, and the weights state they were
    computed under. ``tokens_reused`` counts the prompt positions it saved.

    ``across_calls=False`` (a judge on weights it does not own): a prefix is kept only
    inside ``call()``, and forgotten when the outermost one ends (and before it starts)."""

    def __init__(self, across_calls: bool = True) -> None:
        self.across_calls = across_calls
        self._tokens: list[int] = []
        self._layers: list[tuple[torch.Tensor, torch.Tensor]] = []
        self._state: tuple | None = None
        self._depth = 0  # calls open (a compare's generate and score nest in it)
        self.tokens_reused = 0

    @contextmanager
    def call(self) -> Iterator[None]:
        """One call of the judge (``compare``, ``rank``, ``generate``, ``score``; nested
        calls are part of the outer one). Without ``across_calls`` nothing stored before
        it is used in it, and nothing stored in it outlives it."""
        if self._depth == 0 and not self.across_calls:
            self.clear()
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0 and not self.across_calls:
                self.clear()

    def prefix(self, model: Any, tokens: list[int], compute: Callable[[Any, int], Any]) -> Any:
        """A one-row cache holding ``tokens``' key/values: the leading positions they share
        with the stored prefix copied from it (while the weights state that computed it
        holds), the rest computed on top by ``compute(cache, start)``, which returns the
        cache. A computed prefix replaces the stored one (unless its cache is not plain
        full attention: sliding windows)."""
        from transformers import DynamicCache

        state = weights_state(model)  # once per prefix: it reads every weight
        n = common_length(self._tokens, tokens) if state == self._state else 0
        self.tokens_reused += n
        # copies: the caller's cache grows and is cut without touching what is stored
        known = [(k[:, :, :n].clone(), v[:, :, :n].clone()) for k, v in self._layers] if n else None
        cache = DynamicCache(ddp_cache_data=known) if known else DynamicCache()
        if n < len(tokens):
            cache = compute(cache, n)
            layers = plain_layers(cache)
            if layers is None or int(cache.get_seq_length()) < len(tokens) or not (self.across_calls or self._depth):
                self.clear()  # not plain attention, or outside a call of a judge that keeps nothing across calls
            else:
                self._layers = [(x.keys[:1, :, : len(tokens)].clone(), x.values[:1, :, : len(tokens)].clone())
                                for x in layers]  # fmt: skip
                self._tokens, self._state = list(tokens), state
        return cache

    def clear(self) -> None:
        self._tokens, self._layers, self._state = [], [], None


__all__ = ["PrefixMemory", "weights_state"]
