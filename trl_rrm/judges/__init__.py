"""Judges: the protocol, the generative-judge engine, and its backends.

Read top to bottom: ``protocol`` (what callers use) -> ``config`` (the options) ->
``engine`` (``GenerativeJudge.compare``/``rank`` as a pipeline over ``presenting``,
``requests`` and ``votes``) -> backends that only turn requests into texts or
probabilities: ``hf/`` (in-process transformers: ``HFJudge`` on one ``HFRunner``) and
``served/`` (OpenAI-compatible servers). ``flags/``: the options as ``judge_*`` flags.

``HFJudge`` and ``OpenAIJudge`` import on first access, so the pure parts of the package
(formats, parsing, tournaments, the protocol and the engine) import without torch.
"""

from typing import Any

from ..seeds import stable_seed
from .config import VERDICT_MODES, GenerativeJudgeConfig, JudgingConfig, SpeedConfig
from .engine import GenerativeJudge
from .protocol import Judge, ListwiseJudge, PairwiseJudge, PointwiseJudge, check_judge, is_pointwise
from .requests import Generation, GenerationRequest, LabelScoring, ScoreRequest
from .votes import combine_votes

_LAZY = {
    "HFJudge": "hf.judge",
    "HFJudgeConfig": "hf.config",
    "HFLoadConfig": "hf.config",
    "HFSpeedConfig": "hf.config",
    "OpenAIJudge": "served.openai",
    "OpenAIJudgeConfig": "served.openai",
    "JudgeServerError": "served.http",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "VERDICT_MODES",
    "Generation",
    "GenerationRequest",
    "GenerativeJudge",
    "GenerativeJudgeConfig",
    "HFJudge",
    "HFJudgeConfig",
    "HFLoadConfig",
    "HFSpeedConfig",
    "Judge",
    "JudgeServerError",
    "JudgingConfig",
    "LabelScoring",
    "ListwiseJudge",
    "OpenAIJudge",
    "OpenAIJudgeConfig",
    "PairwiseJudge",
    "PointwiseJudge",
    "ScoreRequest",
    "SpeedConfig",
    "check_judge",
    "combine_votes",
    "stable_seed",
]
