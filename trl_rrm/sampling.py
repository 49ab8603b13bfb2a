"""Batched, seeded sampling from a causal LM, where every row has its own seed.

    from trl_rrm.sampling import generate_completions
    texts = generate_completions(model, tokenizer, ["What is 2 + 3?"], num_samples=4, temperature=1.0)

A sample is a pure function of (model, prompt, sample index, seed): ``SeededRows`` draws
each row's token from its own generator (Gumbel-max over the temperature- and
top-p-filtered logits, which is exactly sampling from them), so what a row gets does not
depend on which other rows share its batch. Resumed, sharded and uninterrupted runs of
the labeler therefore sample the same candidates, and a sampling judge gives the same
judgment to the same prompt in any batch. (Floating-point differences between batch
shapes can still flip a near-tie, as they can for greedy decoding.)

Used by the judge (``HFJudge``), the labeler's ``PolicySampler`` and the toy tasks.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from .types import Text

logger = logging.getLogger(__name__)


def seeded_rows_processor(seeds: Sequence[int], temperature: float, top_p: float, device: Any) -> Any:
    """A ``LogitsProcessor`` for greedy ``generate`` that samples row i with ``seeds[i]``."""
    import torch
    from transformers import LogitsProcessor

    class SeededRows(LogitsProcessor):
        def __init__(self) -> None:
            self.generators = [torch.Generator(device=device).manual_seed(int(s) % (2**63)) for s in seeds]
            self.by_row = list(self.generators)

        def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
            scores = scores.float() / temperature
            if top_p < 1.0:
                ordered, index = torch.sort(scores, descending=True, dim=-1)
                cumulative = ordered.softmax(-1).cumsum(-1)
                drop = cumulative > top_p
                drop[..., 1:] = drop[..., :-1].clone()  # keep the token that crosses top_p
                drop[..., 0] = False
                scores = scores.masked_fill(drop.scatter(-1, index, drop), float("-inf"))
            width = scores.shape[-1]
            uniform = torch.stack([torch.rand(width, generator=g, device=device) for g in self.generators])
            gumbel = -torch.log(-torch.log(uniform.clamp(min=1e-20, max=1.0 - 1e-7)))
            return scores + gumbel

        def follow(self, rows: list[int]) -> None:
            """The batch now holds ``rows`` (indices into ``seeds``), in this order: continuous
            decoding moves rows in and out of its batch."""
            self.generators = [self.by_row[i] for i in rows]

    return SeededRows()


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
    ``batch_size`` rows at a time; sample j of a prompt is seeded by (prompt, j, seed)
    (see the module doc), so the same prompt gets the same samples in any batch and the
    caller's RNG is untouched. Each completion is cut at its first end-of-sequence token
    and stripped. The model is put in eval mode for the call and its train/eval mode
    restored afterwards.

    Raises:
        ValueError: ``num_samples`` < 1, or > 1 with greedy decoding (the copies would be
            identical), or a negative ``temperature``.
    """
    import torch

    from .seeds import stable_seed
    from .special_tokens import left_padded, special_ids

    if not isinstance(num_samples, int) or num_samples < 1:
        raise ValueError(f"num_samples={num_samples!r} must be a positive integer")
    if temperature < 0:
        raise ValueError(f"temperature={temperature!r} must be >= 0")
    if temperature == 0 and num_samples != 1:
        raise ValueError(f"num_samples={num_samples} needs temperature > 0 (greedy decoding repeats itself)")
    texts = prompt_texts(tokenizer, prompts)
    rows = [(p, j) for p in range(len(texts)) for j in range(num_samples)]
    pad_id, eos_list = special_ids(model, tokenizer)
    eos_ids = set(eos_list)
    device = next(model.parameters()).device
    results: list[list[str]] = [[] for _ in texts]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for start in range(0, len(rows), batch_size):
                batch = rows[start : start + batch_size]
                ids = [tokenizer(texts[p], add_special_tokens=False)["input_ids"] for p, _ in batch]
                input_ids, mask = left_padded(ids, pad_id, device)
                width = input_ids.shape[1]
                processors = []
                if temperature > 0:
                    seeds = [stable_seed(seed, texts[p], j) for p, j in batch]
                    processors = [seeded_rows_processor(seeds, temperature, top_p, device)]
                generated = model.generate(
                    input_ids=input_ids, attention_mask=mask, max_new_tokens=max_new_tokens, do_sample=False,
                    logits_processor=processors, temperature=None, top_p=None, top_k=None,
                    pad_token_id=pad_id, eos_token_id=list(eos_ids),
                )  # fmt: skip
                for (p, _), row in zip(batch, generated[:, width:].tolist()):
                    end = next((i for i, t in enumerate(row) if t in eos_ids), len(row))
                    results[p].append(tokenizer.decode(row[:end], skip_special_tokens=True).strip())
                logger.info("generated %d/%d samples", min(start + batch_size, len(rows)), len(rows))
    finally:
        model.train(was_training)
    return results
