"""Batched, seeded sampling from a causal LM: the one generation loop of the library.

    from trl_rrm.sampling import generate_completions
    texts = generate_completions(model, tokenizer, ["What is 2 + 3?"], num_samples=4, temperature=1.0)

Used by the labeler's ``PolicySampler`` (candidates for DPO pairs) and by
``trl_rrm.tasks.sums`` (policy accuracy, judge-training samples).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from .types import Text

logger = logging.getLogger(__name__)


def prompt_texts(tokenizer: Any, prompts: Sequence[Text]) -> list[str]:
    """Each prompt (a string or a chat) through the tokenizer's chat template with the
    generation prompt; without a template, the raw text (chat contents joined by lines)."""
    texts = []
    for prompt in prompts:
        messages = prompt if isinstance(prompt, list) else [{"role": "user", "content": prompt}]
        if getattr(tokenizer, "chat_template", None):
            texts.append(tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))
        else:
            texts.append(prompt if isinstance(prompt, str) else "\n".join(m["content"] for m in prompt))
    return texts


def generate_completions(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[Text],
    *,
    num_samples: int = 1,
    temperature: float = 0.0,
    top_p: float = 1.0,
    max_new_tokens: int = 128,
    batch_size: int = 32,
    seed: int = 0,
) -> list[list[str]]:
    """``num_samples`` completions per prompt, greedy when ``temperature == 0``.

    Prompts go through the chat template (``prompt_texts``), are left-padded and run
    ``batch_size // num_samples`` prompts at a time inside a forked, seeded RNG, so the same
    (prompts, seed) give the same texts and the caller's RNG is untouched. Each completion
    is cut at its first end-of-sequence token and stripped. The model is put in eval mode
    for the call and its train/eval mode restored afterwards.

    Raises:
        ValueError: ``num_samples`` < 1, or > 1 with greedy decoding (the copies would be
            identical), or a negative ``temperature``.
    """
    import torch

    if not isinstance(num_samples, int) or num_samples < 1:
        raise ValueError(f"num_samples={num_samples!r} must be a positive integer")
    if temperature < 0:
        raise ValueError(f"temperature={temperature!r} must be >= 0")
    if temperature == 0 and num_samples != 1:
        raise ValueError(f"num_samples={num_samples} needs temperature > 0 (greedy decoding repeats itself)")
    texts = prompt_texts(tokenizer, prompts)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    eos = model.generation_config.eos_token_id
    eos = eos if eos is not None else tokenizer.eos_token_id
    eos_ids = set(eos if isinstance(eos, list) else [eos])
    device = next(model.parameters()).device
    per_batch = max(1, batch_size // num_samples)
    sample = temperature > 0
    was_training = model.training
    model.eval()
    out: list[list[str]] = []
    try:
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []), torch.no_grad():
            torch.manual_seed(seed)
            for start in range(0, len(texts), per_batch):
                ids = [tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts[start : start + per_batch]]
                width = max(map(len, ids))
                input_ids = torch.tensor([[pad_id] * (width - len(x)) + x for x in ids], device=device)
                mask = torch.tensor([[0] * (width - len(x)) + [1] * len(x) for x in ids], device=device)
                generated = model.generate(
                    input_ids=input_ids,
                    attention_mask=mask,
                    max_new_tokens=max_new_tokens,
                    do_sample=sample,
                    temperature=temperature if sample else None,
                    top_p=top_p if sample else None,
                    top_k=None,
                    num_return_sequences=num_samples,
                    pad_token_id=pad_id,
                    eos_token_id=list(eos_ids),
                )
                rows = generated[:, width:].tolist()
                for p in range(len(ids)):
                    completions = []
                    for row in rows[p * num_samples : (p + 1) * num_samples]:
                        end = next((i for i, t in enumerate(row) if t in eos_ids), len(row))
                        completions.append(tokenizer.decode(row[:end], skip_special_tokens=True).strip())
                    out.append(completions)
                logger.info("generated %d/%d prompts x %d samples", len(out), len(texts), num_samples)
    finally:
        model.train(was_training)
    return out
