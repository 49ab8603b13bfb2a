"""``HFJudgeConfig``: everything that defines an ``HFJudge``, in three groups.

- ``HFLoadConfig``: which weights, how they are loaded and how many rows run together.
- ``JudgingConfig``: how the judge judges (shared with every backend).
- ``HFSpeedConfig``: switches that only change speed (``SpeedConfig`` plus the
  in-process ones: prefix reuse, length bucketing, the static cache).

The fields stay flat (``HFJudgeConfig(model=..., both_orders=True, prefix_reuse=False)``)
so YAML keys, flags and keyword arguments share their names.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from ..config import GenerativeJudgeConfig, SpeedConfig, positive_int, post_init_chain

DTYPES = ("auto", "float32", "bfloat16", "float16")


@dataclass
class HFLoadConfig:
    """Which weights the judge runs and how they are loaded."""

    model: str | None = field(default=None, metadata={"help": "judge model id or local path"})
    adapter: str | None = field(default=None, metadata={"help": "LoRA adapter id or path loaded on the model (PEFT)"})
    revision: str | None = field(default=None, metadata={"help": "hub revision of the model"})
    load_in_4bit: bool = field(default=False, metadata={"help": "quantize the judge base to 4-bit NF4 (bitsandbytes)"})
    load_in_8bit: bool = field(default=False, metadata={"help": "quantize the judge base to 8-bit (bitsandbytes)"})
    dtype: str = field(
        default="auto",
        metadata={"help": "auto, float32, bfloat16 or float16; auto: on CPU bfloat16 where the CPU computes it natively "
                  "(else float32), elsewhere the checkpoint's dtype", "choices": DTYPES},
    )  # fmt: skip
    device_map: Any = field(default=None, metadata={"help": "from_pretrained device_map (e.g. 'auto')"})
    device: str | None = field(default=None, metadata={"help": "device without a device_map (default: cuda if available)"})
    batch_size: int = field(default=16, metadata={"help": "judge sequences run together (votes count each)"})
    trust_remote_code: bool = field(default=False, metadata={"help": "allow model code from the hub"})
    attn_implementation: str | None = field(default=None, metadata={"help": "e.g. sdpa, flash_attention_2"})

    def __post_init__(self) -> None:
        if self.load_in_4bit and self.load_in_8bit:
            raise ValueError("load_in_4bit=True and load_in_8bit=True: choose one quantization")
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype={self.dtype!r} is unknown; expected one of {DTYPES}")
        positive_int("batch_size", self.batch_size)
        if self.model is not None and not isinstance(self.model, (str, os.PathLike)):
            raise TypeError(f"model={self.model!r:.60} must be a model id or path; use HFJudge.from_model for a loaded model")
        if isinstance(self.model, os.PathLike):
            self.model = os.fspath(self.model)
        if isinstance(self.adapter, os.PathLike):
            self.adapter = os.fspath(self.adapter)
        post_init_chain(self, HFLoadConfig)


@dataclass
class HFSpeedConfig(SpeedConfig):
    """``SpeedConfig`` plus the in-process switches (same verdicts, see each)."""

    prefix_reuse: bool = field(
        default=True,
        metadata={"help": "compute the prompt prefix common to a batch, then to each run of rows, once (same texts; "
                  "probabilities within float rounding)"},
    )  # fmt: skip
    prefix_memory: bool = field(
        default=True,
        metadata={"help": "with prefix_reuse, keep the key/values of the prefix common to a batch for the next batches "
                  "and calls, while the judge's weights, adapter and modes are unchanged (checked at each use; "
                  "same texts); a judge on a model it does not own (from_model, the policy's) keeps them within one "
                  "call only"},
    )  # fmt: skip
    length_bucketing: bool = field(default=True, metadata={"help": "without prefix_reuse, batch rows longest first"})
    static_cache: bool = field(
        default=True,
        metadata={"help": "decode into a preallocated key/value cache written in place (once per batch with "
                  "model.generate; with continuous_decoding, grown by copying every 32 steps) instead of one that copies "
                  "itself to grow at every step (same texts)"},
    )  # fmt: skip

    reuse_analysis_cache: bool = field(
        default=True,
        metadata={"help": "score the verdict labels (verdict=likelihood) from the key/values the analysis was written "
                  "into, in the same batch, instead of computing prompt and analysis again (probabilities within "
                  "float rounding; holds a copy of a batch's cache meanwhile)"},
    )  # fmt: skip
    continuous_decoding: bool = field(
        default=True,
        metadata={"help": "continuous decoding: each row leaves the batch and its cache as soon as it ends, and the "
                  "call's waiting rows take the freed places, batch_size at a time (same texts)"},
    )  # fmt: skip
    compact_decoding: bool | None = field(
        default=None, metadata={"help": "the old name of continuous_decoding (when set, it sets that)",
                                "alias_of": "continuous_decoding"},
    )  # fmt: skip
    decode_attention: bool = field(
        default=True,
        metadata={"help": "on the CPU, single-token decoding steps attend with the query heads grouped on their "
                  "key/value heads (one batched matmul, no copies of the cache) over the positions written so far, "
                  "instead of the model's attention over the whole cache (texts equal up to float rounding; see "
                  "docs/performance.md)"},
    )  # fmt: skip
    compute_copy: bool = field(
        default=True,
        metadata={"help": "a judge on a borrowed PEFT model (from_model) on the CPU judges on a copy with its adapter "
                  "merged, in bf16 where the CPU computes it natively, while every weight it reads is frozen; checked "
                  "before every call against a sum of every value and remade when one changed (verdicts within "
                  "float rounding; see docs/performance.md)"},
    )  # fmt: skip
    merge_adapter: bool = field(
        default=True,
        metadata={"help": "a judge that loads its own weights merges its LoRA adapter into them once (one matmul a "
                  "layer instead of three, no per-step casts of float32 adapter weights); verdicts within float "
                  "rounding (see docs/performance.md); a judge from_model never merges"},
    )  # fmt: skip

    def __post_init__(self) -> None:
        if self.compact_decoding is not None:
            self.continuous_decoding, self.compact_decoding = bool(self.compact_decoding), None
        post_init_chain(self, HFSpeedConfig)


@dataclass
class HFJudgeConfig(HFLoadConfig, HFSpeedConfig, GenerativeJudgeConfig):
    """Everything that defines an ``HFJudge``: ``HFLoadConfig`` + ``JudgingConfig`` +
    ``HFSpeedConfig`` (see each group for its fields)."""
