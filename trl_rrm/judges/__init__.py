"""Judges: the protocol, the generative-judge engine, and backends."""

from .base import (
    Generation,
    GenerationRequest,
    GenerativeJudge,
    JudgingConfig,
    ListwiseJudge,
    PairwiseJudge,
    combine_votes,
    stable_seed,
)
from .hf import HFJudge, HFJudgeConfig

__all__ = [
    "Generation",
    "GenerationRequest",
    "GenerativeJudge",
    "HFJudge",
    "HFJudgeConfig",
    "JudgingConfig",
    "ListwiseJudge",
    "PairwiseJudge",
    "combine_votes",
    "stable_seed",
]
