"""A merged (bf16 where native) copy of borrowed weights, for judging (``HFSpeedConfig.compute_copy``).

A judge on the policy's own model (``HFJudge.from_model``: the judge adapter on the
policy's base, or the bare base) runs on the trainer's weights: float32 on a CPU, with the
judge's LoRA unmerged (three matmuls a layer, and PEFT's casts of its float32 adapter
weights when the base is bf16). On a CPU that computes bf16 natively, the same judge on
bf16 weights with its adapter merged decoded the proof's GRPO judging 1.6-1.7x faster than
on float32 weights (docs/performance.md). ``ComputeCopy`` keeps such a copy: the model
deep-copied, the judge's adapter merged (or every adapter removed, ``disable_adapters``),
in bf16 where the CPU computes it natively (else the weights' dtype: merging alone).

It is never served stale. It is made only when every weight the judge reads is frozen
(``requires_grad`` False: LoRA training leaves the base and the judge adapter alone), and
before every call it is checked against a fingerprint of exactly those weights taken when
it was made: each one's storage, in-place version counter and the float64 sum of every
value (not samples: a write through ``.data`` that moves no counter changes a sum). A
mismatch, or a weight that became trainable, makes a new copy (or none). Reading every
value costs about 0.1 s a call for 135M weights on 2 cores, against 15-20 s saved.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

import torch

from ... import precision

logger = logging.getLogger(__name__)


def _judged_weights(model: Any, adapter_name: str | None, disable_adapters: bool) -> list[tuple[str, torch.Tensor]]:
    """The parameters the judge computes with: the base's, plus its own adapter's."""
    out = []
    for name, param in model.named_parameters():
        if ".lora_" in name:
            if disable_adapters or adapter_name is None or f".{adapter_name}." not in f"{name}.":
                continue
        out.append((name, param))
    return out


def _fingerprint(weights: list[tuple[str, torch.Tensor]]) -> tuple:
    with torch.no_grad():
        sums = torch.stack([p.detach().double().sum() for _, p in weights]).tolist() if weights else []
    return tuple((name, p.data_ptr(), p._version) for name, p in weights), tuple(sums)


def copy_dtype(model: Any, adapter_name: str | None, disable_adapters: bool,
               weights: list[tuple[str, torch.Tensor]] | None = None) -> torch.dtype | None:  # fmt: skip
    """The dtype of the copy that can stand in for ``model`` as the judge, or None where none
    can: a PEFT model on the CPU with every weight the judge reads frozen; bf16 on a CPU
    with native bf16 (from float32 or bf16 weights), else the weights' own dtype (a copy
    then only merges the adapter). ``weights``: ``_judged_weights``, when the caller has them."""
    from peft import PeftModel

    if not isinstance(model, PeftModel) or not (adapter_name is not None or disable_adapters):
        return None
    weights = _judged_weights(model, adapter_name, disable_adapters) if weights is None else weights
    dtypes = {p.dtype for _, p in weights}
    if not weights or weights[0][1].device.type != "cpu" or any(p.requires_grad for _, p in weights):
        return None
    if not dtypes <= {torch.float32, torch.bfloat16}:
        return None
    if precision.cpu_computes_bf16():
        return torch.bfloat16
    return torch.float32 if torch.float32 in dtypes else torch.bfloat16


class ComputeCopy:
    """The merged judge copy of a borrowed model; ``get`` gives it (new or checked)."""

    def __init__(self) -> None:
        self.model: Any = None
        self._made_from: tuple | None = None
        self.copies_made = 0  # a running total (tests, benchmarks)

    def get(self, model: Any, adapter_name: str | None, disable_adapters: bool) -> Any | None:
        """The copy to judge with, made again if a weight it was made from changed; None
        where no copy applies (then the judge runs on ``model`` itself)."""
        weights = _judged_weights(model, adapter_name, disable_adapters)
        dtype = copy_dtype(model, adapter_name, disable_adapters, weights)
        if dtype is None:
            self.model = self._made_from = None
            return None
        fingerprint = _fingerprint(weights), dtype
        if self.model is None or fingerprint != self._made_from:
            self.model, self._made_from = self._make(model, adapter_name, disable_adapters, dtype), fingerprint
            self.copies_made += 1
        return self.model

    @staticmethod
    def _make(model: Any, adapter_name: str | None, disable_adapters: bool, dtype: torch.dtype) -> Any:
        with torch.no_grad():
            twin = copy.deepcopy(model)
            for param in twin.parameters():
                param.grad = None
            for module in twin.modules():
                # a trainer wraps forward on the instance (accelerate's autocast wrapper under
                # bf16): a deep copy keeps that closure, which calls the original model
                for name in ("forward", "_original_forward"):
                    module.__dict__.pop(name, None)
            if disable_adapters:
                twin = twin.unload()  # the bare base
            else:
                for other in [name for name in twin.peft_config if name != adapter_name]:
                    twin.delete_adapter(other)
                twin.set_adapter(adapter_name)
                twin = twin.merge_and_unload()
            twin = twin.to(dtype).eval()
            twin.requires_grad_(False)
        logger.info("judge: a %s copy of the borrowed weights, adapter %s merged", str(dtype).removeprefix("torch."),
                    "none" if disable_adapters else repr(adapter_name))  # fmt: skip
        return twin
