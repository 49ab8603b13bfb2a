"""The token ids a causal LM is batched and stopped with: pad and end-of-sequence ids,
and left padding. One place for the judge, the policy sampler and the recipes.

    pad_id, eos_ids = special_ids(model, tokenizer)
    input_ids, attention_mask = left_padded([[5, 6, 7], [8]], pad_id, device)
"""

from __future__ import annotations

from typing import Any


def special_ids(model: Any, tokenizer: Any) -> tuple[int, list[int]]:
    """(pad id, end-of-sequence ids) from the generation config and the tokenizer: every
    end-of-sequence id either names, the generation config's first; the pad id is the
    tokenizer's, else the first end-of-sequence id.

    Raises:
        ValueError: neither names an end-of-sequence token.
    """
    eos: list[int] = []
    for source in (getattr(model, "generation_config", None), tokenizer):
        value = getattr(source, "eos_token_id", None)
        for token in value if isinstance(value, (list, tuple)) else [value]:
            if token is not None and token not in eos:
                eos.append(int(token))
    if not eos:
        raise ValueError("the model has no eos_token_id in its tokenizer or generation_config")
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos[0]
    return pad, eos


def left_padded(prompts: list[list[int]], pad_id: int, device: Any) -> tuple[Any, Any]:
    """(input_ids, attention_mask) of left-padded prompts, as tensors on ``device``."""
    import torch

    width = max(len(p) for p in prompts)
    ids = torch.tensor([[pad_id] * (width - len(p)) + p for p in prompts], device=device)
    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=device)
    return ids, mask


__all__ = ["left_padded", "special_ids"]
