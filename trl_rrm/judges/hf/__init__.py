"""The in-process judge: ``HFJudge`` on a transformers causal LM (+ PEFT, + bitsandbytes).

Read top to bottom: ``judge`` (``HFJudge``: the engine's ``generate`` and ``score`` on one
runner) -> ``runner`` (``HFRunner``: owns the model, tokenizer and prefix memory; prompt
ids, prefill, label scoring, decoding as batched operations) -> ``generating`` (a call's
rows into fixed batches or continuous decoding) -> ``continuous`` (continuous decoding),
``stopping`` (stop strings, progress, the texts rows wrote), ``label_scoring`` (verdict-label
log-probabilities), ``attention`` (single-query attention on key/value heads) ->
``kv_cache``, ``prefix_plan``, ``prefix_memory`` (key/value caches and shared prefixes) ->
``loading``, ``adapters`` (weights, quantization, LoRA) and ``config``.

``HFJudge`` imports on first access, so ``config`` imports without torch.
"""

from typing import Any

from .config import HFJudgeConfig, HFLoadConfig, HFSpeedConfig


def __getattr__(name: str) -> Any:
    if name in ("HFJudge", "HFRunner"):
        import importlib

        module = importlib.import_module(f".{'judge' if name == 'HFJudge' else 'runner'}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["HFJudge", "HFJudgeConfig", "HFLoadConfig", "HFRunner", "HFSpeedConfig"]
