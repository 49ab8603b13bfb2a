"""Judges: the protocol, the generative-judge engine, and backends.

``HFJudge`` (torch/transformers) is imported on first access, so the pure parts of the
package (formats, parsing, tournaments, protocol) import without torch.
"""

from typing import Any

from .base import (
    Generation,
    GenerationRequest,
    GenerativeJudge,
    JudgingConfig,
    ListwiseJudge,
    PairwiseJudge,
    ScoreRequest,
    combine_votes,
    stable_seed,
)

_LAZY = {"HFJudge", "HFJudgeConfig"}
_LAZY_OPENAI = {"OpenAIJudge", "OpenAIJudgeConfig", "JudgeServerError"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from . import hf

        return getattr(hf, name)
    if name in _LAZY_OPENAI:
        from . import openai

        return getattr(openai, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Generation",
    "GenerationRequest",
    "GenerativeJudge",
    "HFJudge",
    "HFJudgeConfig",
    "JudgeServerError",
    "JudgingConfig",
    "ListwiseJudge",
    "OpenAIJudge",
    "OpenAIJudgeConfig",
    "PairwiseJudge",
    "ScoreRequest",
    "combine_votes",
    "stable_seed",
]
