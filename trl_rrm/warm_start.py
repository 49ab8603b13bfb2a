"""The warm start of a judge: supervised training on judgments written for it.

A judgment's decisive tokens are few (a verdict label, a check's "yes"/"no"); the rest
is copied text. Plain SFT spends the loss on the copying: a judge trained that way
writes fluent analyses whose yes/no follow the slot, not the content. Here every target
token has a weight, and the decisive ones weigh ``decisive_weight`` times more.

What the judge is trained on is what it is shown: prompts come from the judge's own
``shown_messages`` (untrusted text escaped and cut exactly as ``compare`` does), so no
skew separates training from judging.

The step is the bare one: one forward of the base model (LoRA included), the output
head applied only at target positions (not over the 49k vocabulary at every prompt
token), one backward, one optimizer step; rows of similar length share a batch; on a
CPU with native bf16, forward and backward run under bf16 autocast. The tokens every row
of a batch begins with (the judge's system prompt and the chat template's header) run
once, not once per row (``share_prefix``): the rows continue from that prefix's
key/values, and its gradient is the sum of theirs.

    examples = judgment_examples(judge, judgments, decisive_weight=5.0)
    history = train(model, examples, WarmStartConfig(steps=300, batch_size=8, learning_rate=1e-3))
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .types import Match

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Judgment:
    """What the judge should write for a match shown in one order.

    Attributes:
        match: the prompt and the two responses, in the order they are shown.
        text: the judgment (analysis and verdict, or the verdict alone).
        decisive: character spans of ``text`` that decide (a check's yes/no); the verdict's
            label is found and added by ``judgment_examples``.
        verdict_loss: False when no response is preferred (both pass or both fail their
            checks): the last line (the verdict) and the end of sequence carry no loss, so
            the judgment teaches its checks only.
    """

    match: Match
    text: str
    decisive: tuple[tuple[int, int], ...] = ()
    verdict_loss: bool = True


@dataclass(frozen=True)
class Example:
    """A tokenized judgment: prompt ids, target ids and one loss weight per target id."""

    prompt_ids: tuple[int, ...]
    target_ids: tuple[int, ...]
    weights: tuple[float, ...]

    def __len__(self) -> int:
        return len(self.prompt_ids) + len(self.target_ids)


@dataclass
class WarmStartConfig:
    """Options of ``train``."""

    steps: int = 300
    batch_size: int = 8
    learning_rate: float = 1e-3
    warmup_steps: int = 10
    max_grad_norm: float = 1.0
    bf16: bool = False
    log_every: int = 10
    seed: int = 0
    # Batch widths rounded up to a multiple of this (masked, so the loss is the same): a
    # handful of tensor shapes instead of one per batch, which bounds the CPU's per-shape
    # caches (60 steps: 5.1 GB instead of 6.8 GB; docs/results/judge_training.md).
    pad_multiple: int = 64
    # The batch's common prefix (the judge's system prompt) computed once, not per row:
    # the same loss and gradients (tested), fewer tokens through forward and backward.
    share_prefix: bool = True

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "log_every", "pad_multiple"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)!r} must be >= 1")
        if self.learning_rate <= 0 or self.warmup_steps < 0 or self.max_grad_norm <= 0:
            raise ValueError(
                f"learning_rate={self.learning_rate!r} and max_grad_norm={self.max_grad_norm!r} must be > 0, "
                f"warmup_steps={self.warmup_steps!r} >= 0"
            )


def verdict_span(fmt: Any, text: str) -> tuple[int, int] | None:
    """The span of the verdict's label (``" 1"`` in ``\\boxed{Assistant 1}``) in ``text``:
    the token that decides, for a pairwise format with ``score_prefix`` and ``labels``."""
    prefix = getattr(fmt, "score_prefix", "")
    at = text.rfind(prefix) if prefix else -1
    if at < 0:
        return None
    start = at + len(prefix)
    for label in fmt.labels:
        if text.startswith(label, start):
            return start, start + len(label)
    return None


def judgment_examples(judge: Any, judgments: Sequence[Judgment], *, decisive_weight: float = 5.0) -> list[Example]:
    """Tokenized examples of ``judgments`` as ``judge`` (an ``HFJudge``) renders them.

    A judgment whose match does not fit the judge's context is left out (logged).

    Raises:
        ValueError: ``decisive_weight`` < 1.
    """
    if decisive_weight < 1:
        raise ValueError(f"decisive_weight={decisive_weight!r} must be >= 1")
    tokenizer = judge.tokenizer
    messages = judge.shown_messages([j.match for j in judgments])
    end = tokenizer.eos_token or ""
    out, skipped = [], 0
    for judgment, chat in zip(judgments, messages):
        if chat is None:
            skipped += 1
            continue
        spans = list(judgment.decisive)
        verdict = verdict_span(judge.format, judgment.text) if judgment.verdict_loss else None
        if verdict is not None:
            spans.append(verdict)
        cut = math.inf if judgment.verdict_loss else judgment.text.rstrip().rfind("\n")  # no loss from here on
        encoded = tokenizer(judgment.text + end, add_special_tokens=False, return_offsets_mapping=True)
        weights = tuple(
            0.0 if a >= cut else decisive_weight if any(a < e and b > s for s, e in spans) else 1.0
            for a, b in encoded["offset_mapping"]
        )
        out.append(Example(tuple(judge.prompt_ids(chat)), tuple(encoded["input_ids"]), weights))
    if skipped:
        logger.warning("%d judgments left out: their match does not fit the judge's context", skipped)
    return out


def _batches(examples: Sequence[Example], batch_size: int, rng: random.Random) -> list[list[int]]:
    """One epoch of batches: shuffled, then rows of similar length grouped (less padding)."""
    order = list(range(len(examples)))
    rng.shuffle(order)
    batches = []
    for start in range(0, len(order), batch_size * 16):
        chunk = sorted(order[start : start + batch_size * 16], key=lambda i: len(examples[i]))
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def batch_tensors(examples: Sequence[Example], rows: list[int], pad_id: int, multiple: int = 1) -> tuple[Any, ...]:
    """(input_ids, attention_mask, labels, weights) of ``examples[rows]``, right-padded with
    ``pad_id`` to the longest row rounded up to ``multiple``; labels and weights sit one
    position before the token they predict."""
    import torch

    width = -(-max(len(examples[i]) for i in rows) // multiple) * multiple
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(rows), width), dtype=torch.long)
    labels = torch.full((len(rows), width), -100, dtype=torch.long)
    weights = torch.zeros((len(rows), width))
    for r, i in enumerate(rows):
        e = examples[i]
        n, p = len(e), len(e.prompt_ids)
        ids[r, :n] = torch.tensor(e.prompt_ids + e.target_ids)
        attention[r, :n] = 1
        labels[r, p - 1 : n - 1] = torch.tensor(e.target_ids)  # position t predicts token t + 1
        weights[r, p - 1 : n - 1] = torch.tensor(e.weights)
    return ids, attention, labels, weights


def shared_prefix(ids: Any, labels: Any) -> int:
    """How many leading tokens every row of ``ids`` has in common before the first
    position that carries a label (those tokens can run once for the whole batch)."""
    first = int((labels != -100).int().argmax(-1).min())
    differs = (ids[:, :first] != ids[:1, :first]).any(0)
    return int(differs.int().argmax()) if bool(differs.any()) else first


def weighted_loss(model: Any, ids: Any, attention: Any, labels: Any, weights: Any, *, share_prefix: bool = True,
                  bf16: bool = False) -> tuple[Any, ...]:  # fmt: skip
    """(loss, per-token loss, logits, targets, weights) of one batch (``batch_tensors``):
    the output head applied at labelled positions only; with ``share_prefix`` the rows'
    common prefix runs once (batch 1) and each row continues from its key/values; with
    ``bf16`` the model runs under bf16 autocast on CPU (the loss in fp32)."""
    import torch

    from .judges.hf.kv_cache import cache_argument, generated_cache

    decoder, head = _parts(model)
    start = shared_prefix(ids, labels) if share_prefix and ids.shape[0] > 1 else 0
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16 and ids.device.type == "cpu"):
        prefix = generated_cache(decoder(input_ids=ids[:1, :start], use_cache=True)) if start > 1 else None
        rows = {"input_ids": ids, "attention_mask": attention}
        if prefix is None:  # nothing shared, or a model that keeps no cache in training
            start = 0
        else:
            prefix.batch_repeat_interleave(ids.shape[0])
            rows.update({"input_ids": ids[:, start:], cache_argument(decoder): prefix})
        hidden = decoder(**rows).last_hidden_state
        at = labels[:, start:] != -100
        logits = head(hidden[at]).float()
    target, weight = labels[:, start:][at], weights[:, start:][at]
    token_loss = torch.nn.functional.cross_entropy(logits, target, reduction="none")
    return (token_loss * weight).sum() / weight.sum(), token_loss, logits, target, weight


def _parts(model: Any) -> tuple[Any, Any]:
    """(the decoder that returns hidden states, the output head) of a causal LM, PEFT or not."""
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    return inner.get_decoder(), inner.get_output_embeddings()


def train(
    model: Any,
    examples: Sequence[Example],
    config: WarmStartConfig,
    *,
    pad_id: int,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Trains ``model``'s trainable parameters (a LoRA) on ``examples``; see the module doc.

    Returns the logged history: per ``log_every`` steps, the weighted loss, the loss and
    accuracy on decisive tokens, the learning rate and seconds per step. ``progress``
    receives each entry as it is logged (default: ``logger.info``).

    Raises:
        ValueError: no example, or no trainable parameter.
    """
    import torch

    if not examples:
        raise ValueError("no example to train on")
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameter (attach a LoRA first)")
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=0.0)
    rng = random.Random(config.seed)
    was_training = model.training
    model.train()
    history: list[dict[str, Any]] = []
    window: dict[str, list[float]] = {}
    batches: list[list[int]] = []
    started = time.perf_counter()
    try:
        for step in range(config.steps):
            if not batches:
                batches = _batches(examples, config.batch_size, rng)
            ids, attention, labels, weights = batch_tensors(examples, batches.pop(), pad_id, config.pad_multiple)
            warm = min(1.0, (step + 1) / max(1, config.warmup_steps))
            lr = config.learning_rate * warm * 0.5 * (1 + math.cos(math.pi * step / config.steps))
            for group in optimizer.param_groups:
                group["lr"] = lr
            tick = time.perf_counter()
            loss, token_loss, logits, target, weight = weighted_loss(
                model, ids, attention, labels, weights, share_prefix=config.share_prefix, bf16=config.bf16
            )
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, config.max_grad_norm)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            with torch.no_grad():
                decisive = weight > 1
                window.setdefault("loss", []).append(loss.item())
                if decisive.any():
                    window.setdefault("decisive_loss", []).append(token_loss[decisive].mean().item())
                    hits = (logits[decisive].argmax(-1) == target[decisive]).float().mean().item()
                    window.setdefault("decisive_accuracy", []).append(hits)
                window.setdefault("step_seconds", []).append(time.perf_counter() - tick)
            if (step + 1) % config.log_every == 0 or step + 1 == config.steps:
                entry = {"step": step + 1, "steps": config.steps, "learning_rate": lr,
                         **{k: round(sum(v) / len(v), 4) for k, v in window.items()},
                         "elapsed_seconds": round(time.perf_counter() - started, 1)}  # fmt: skip
                history.append(entry)
                (progress or (lambda e: logger.info("warm start %s", e)))(entry)
                window = {}
    finally:
        model.train(was_training)
    return history


__all__ = ["Example", "Judgment", "WarmStartConfig", "batch_tensors", "judgment_examples", "shared_prefix", "train",
           "verdict_span", "weighted_loss"]
