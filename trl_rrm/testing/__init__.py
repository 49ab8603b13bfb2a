"""Test helpers: tiny models built in code (``models``) and deterministic judges (``judges``).

``NumberJudge`` (and its soft variant ``SoftNumberJudge``), ``NoiseJudge`` (a judge that
knows nothing) and ``reward_batch`` are pure Python and import at once (a CLI test can
load ``--judge trl_rrm.testing:NumberJudge`` without torch); the model builders import
torch, transformers and PEFT on first access.
"""

from typing import Any

from .judges import GradeNumberJudge, NoiseJudge, NumberJudge, SoftNumberJudge, reward_batch

_MODELS = {
    "EOS_TOKEN", "add", "build_tiny_model", "build_tiny_tokenizer", "end_rows_early", "make_lora_adapter",
    "save_tiny_model",
}  # fmt: skip


def __getattr__(name: str) -> Any:
    if name in _MODELS:
        from . import models

        return getattr(models, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "GradeNumberJudge", "NoiseJudge", "NumberJudge", "SoftNumberJudge", "add", "build_tiny_model", "build_tiny_tokenizer", "end_rows_early",
    "make_lora_adapter", "reward_batch", "save_tiny_model",
]  # fmt: skip
