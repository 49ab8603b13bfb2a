"""The prompt prefix every row of a batch shares, kept between batches and calls
(``HFSpeedConfig.prefix_memory``).

Every judge prompt starts with the same system prompt and instructions (about 160 tokens
for ``rrm`` on SmolLM2), and ``prefix_plan`` computes that common prefix once per batch.
A GRPO step still computes it once per batch, per tournament round and per step: on 2 CPU
cores 1.3 s of a 29 s knockout round. ``PrefixMemory`` keeps the key/values of the last
common prefix and gives the next batch the part it shares with it (the rest is computed
on top), as long as the weights that computed them are the weights the model runs now.

That is checked, not assumed: ``weights_state`` reads, for every weight the forward
reads now, its storage, its in-place version counter (an optimizer step,
``load_state_dict`` or ``copy_`` bumps it) and a sum of 64 of its values spread over it
(an update through ``.data``, which bumps no counter, still changes them); every LoRA
layer's active adapters, disabled and merged flags and scalings; the train flag and the
autocast state. The weights of adapters a LoRA layer skips now (disabled, or inactive)
are left out. A judge on the policy's own weights (``HFJudge.from_model``) thus keeps the
prefix across rounds and steps while only the policy's LoRA trains (a judge on the bare
base, ``disable_adapters=True``, or on a frozen judge adapter), and recomputes it after
each update of the weights it reads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from .kv_cache import plain_layers
from .prefix_plan import common_length

SAMPLED = 64  # values of each weight summed into its fingerprint


def weights_state(model: Any) -> tuple:
    """What decides the key/values the model computes now, cheaply comparable: any change
    of the weights its forward reads, of adapter, dropout or autocast changes it. The
    weights of adapters a LoRA layer skips now (disabled, or not the active ones) are left
    out: training the policy's adapter leaves a judge on the bare base (or on another
    adapter) its prefix."""
    layers = [m for m in model.modules() if isinstance(m, _tuner_layer())]
    skipped = {id(p) for m in layers for p in _skipped_adapter_weights(m)}
    tensors = [t for t in (*model.parameters(), *model.buffers()) if id(t) not in skipped]
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


def _skipped_adapter_weights(layer: Any) -> list[torch.Tensor]:
    """The weights of the adapters ``layer``'s forward does not read now: all of them when
    its adapters are disabled, else those of inactive adapters. A merged layer reads none
    of them but carries them in its base weight (whose change is seen): none skipped."""
    if layer.merged:
        return []
    active = set() if layer.disable_adapters else set(layer.active_adapters)
    skipped = []
    for name in getattr(layer, "adapter_layer_names", ()):
        per_adapter = getattr(layer, name, None)
        if not isinstance(per_adapter, (torch.nn.ModuleDict, torch.nn.ParameterDict)):
            continue
        for adapter, part in per_adapter.items():
            if adapter not in active:
                skipped.extend(part.parameters() if isinstance(part, torch.nn.Module) else [part])
    return skipped


class PrefixMemory:
    """The key/values (one row) of the last prefix stored, and the weights state they were
    computed under. ``tokens_reused`` counts the prompt positions it saved."""

    def __init__(self) -> None:
        self._tokens: list[int] = []
        self._layers: list[tuple[torch.Tensor, torch.Tensor]] = []
        self._state: tuple | None = None
        self.tokens_reused = 0

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
            if layers is None or int(cache.get_seq_length()) < len(tokens):
                self.clear()
            else:
                self._layers = [(x.keys[:1, :, : len(tokens)].clone(), x.values[:1, :, : len(tokens)].clone())
                                for x in layers]  # fmt: skip
                self._tokens, self._state = list(tokens), state
        return cache

    def clear(self) -> None:
        self._tokens, self._layers, self._state = [], [], None


__all__ = ["PrefixMemory", "weights_state"]
