"""Attention for single-token decoding steps (``HFSpeedConfig.decode_attention``).

A judge decodes one token per row and step, attending over a few hundred cached
positions. With grouped-query attention (SmolLM2: 9 query heads on 3 key/value heads)
transformers' SDPA path either repeats the key/values for every query head (a copy of
the whole cache per layer and step) or hands PyTorch's CPU flash kernel a one-query
problem it splits poorly: at 48 rows and 300 positions a layer took 1.7 ms (9.6 ms without
a padding mask, through ``enable_gqa``) where its arithmetic needs microseconds
(``benchmarks/decode_step.py``). Here the query heads of each key/value head form the
rows of one batched matmul against that head's keys (no copy), softmax in float32, one
batched matmul against the values: 0.4 ms. Positions the batch has not written yet
(a static cache's free room) are left out, attention reading only up to the last position
any row attends to, where that room is more than a quarter of the cache (``model.generate``'s
static cache of prompt + budget); continuous decoding grows its cache 32 positions at a
time, and reading those few costs less than slicing around them (a slice of the cache is
not contiguous: transposed for the matmul, it would be copied).

Every other call (prefill, several query positions, a mask this does not read, dropout,
soft-capping) goes to the model's own attention function, unchanged. ``judge_attention``
installs it on a model for the span of a judge call and restores the model's own
implementation afterwards, so a policy the judge borrows trains with its own attention.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterator
from typing import Any

import torch

NAME = "trl_rrm_decode"


def _own_attention(module: Any) -> Any:
    from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

    return ALL_ATTENTION_FUNCTIONS[getattr(module, "_trl_rrm_fallback", "sdpa")]


_last_width: list = [None, 0]  # (weak reference to the mask, its width): every layer of a step gets the same mask


def _attended_width(mask: torch.Tensor) -> int:
    """One past the last position any row attends to (a static cache's free room after it
    is not read); computed once per mask, which all layers of a step share."""
    ref = _last_width[0]
    if ref is not None and ref() is mask:
        return _last_width[1]
    attended = mask[:, :, -1] if mask.dtype == torch.bool else mask[:, :, -1] > torch.finfo(mask.dtype).min
    columns = attended.reshape(-1, mask.shape[-1]).any(0).nonzero()
    width = int(columns.max()) + 1 if len(columns) else mask.shape[-1]
    _last_width[:] = [weakref.ref(mask), width]
    return width


def decode_attention(module: Any, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                     attention_mask: torch.Tensor | None, dropout: float = 0.0, scaling: float | None = None,
                     **kwargs: Any) -> tuple[torch.Tensor, None]:  # fmt: skip
    """An ``AttentionInterface`` function: (batch, query heads, 1, dim) queries on
    (batch, kv heads, positions, dim) keys and values; anything else is passed to the
    model's own attention."""
    batch, heads, q_len, dim = query.shape
    kv_heads = key.shape[1]
    simple = (q_len == 1 and dropout == 0.0 and kwargs.get("softcap") is None and kwargs.get("sinks") is None
              and heads % kv_heads == 0 and (attention_mask is None or attention_mask.dim() == 4))  # fmt: skip
    if not simple:
        return _own_attention(module)(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                                      **kwargs)  # fmt: skip
    width = length = key.shape[2]
    if attention_mask is not None:
        width = min(length, _attended_width(attention_mask))
        if width * 4 > length * 3:  # little free room: reading it costs less than slicing around it
            width = length
        attention_mask = attention_mask[:, :, -1:, :width]
    grouped = query.reshape(batch, kv_heads, heads // kv_heads, dim)  # (B, kv, group, dim)
    if width == length:
        scores = torch.matmul(grouped, key.transpose(-1, -2))  # (B, kv, group, positions)
    else:  # the keys as they lie in the cache (transposing a slice would copy it)
        scores = torch.matmul(key[:, :, :width], grouped.transpose(-1, -2)).transpose(-1, -2)
    scores = scores.float() * (dim**-0.5 if scaling is None else scaling)
    if attention_mask is not None:
        if attention_mask.dtype == torch.bool:
            scores = scores.masked_fill(~attention_mask, float("-inf"))
        else:
            scores = scores + attention_mask.float()
    weights = torch.softmax(scores, dim=-1).to(value.dtype)
    out = torch.matmul(weights, value[:, :, :width])  # (B, kv, group, dim)
    return out.reshape(batch, heads, 1, dim).transpose(1, 2).contiguous(), None


def _register() -> None:
    """Registers ``decode_attention`` under ``NAME``, with SDPA's masks: every call gets the
    mask SDPA would (so the calls passed on to SDPA compute what they did)."""
    from transformers import AttentionInterface
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, AttentionMaskInterface

    AttentionInterface.register(NAME, decode_attention)
    AttentionMaskInterface.register(NAME, ALL_MASK_ATTENTION_FUNCTIONS["sdpa"])


@contextlib.contextmanager
def judge_attention(model: Any) -> Iterator[None]:
    """The model (and its submodels' configs) attends with ``decode_attention`` for the
    block; its own implementation is what every other call uses, and is put back on exit.
    Only on the CPU: on an accelerator the model's own kernels (SDPA, flash attention) read
    grouped heads without copies, and the width read here would be a host sync in every
    layer (no CUDA graphs). A model with an implementation other than sdpa or eager keeps it."""
    if next(model.parameters()).device.type != "cpu":
        yield
        return
    configs = [m.config for m in model.modules() if hasattr(m, "config") and hasattr(m.config, "_attn_implementation")]
    configs = list({id(c): c for c in configs}.values())
    own = [getattr(c, "_attn_implementation", None) for c in configs]
    if not configs or any(o not in ("sdpa", "eager", NAME) for o in own):
        yield
        return
    _register()
    fallbacks = []
    for module in model.modules():
        if hasattr(module, "num_key_value_groups") or module.__class__.__name__.endswith("Attention"):
            fallbacks.append(module)
            if not hasattr(module, "_trl_rrm_fallback"):
                module._trl_rrm_fallback = "sdpa" if own[0] == NAME else own[0]
    try:
        for config in configs:
            config._attn_implementation = NAME
        yield
    finally:
        for config, o in zip(configs, own):
            config._attn_implementation = o
