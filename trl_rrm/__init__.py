"""trl_rrm: reasoning reward models (generative judges) as rewards and preference labels for TRL.

Quick map:
- ``trl_rrm.formats``: the ``rrm``, ``rm_r1``, ``rm_r1_distilled`` and ``principle`` formats.
- ``trl_rrm.parse_verdict`` / ``trl_rrm.parse_ranking``: pure parsers, None on failure.
- ``trl_rrm.HFJudge``: a batched transformers/PEFT judge (LoRA, 4/8-bit, shared-base adapter).
- ``trl_rrm.OpenAIJudge``: the same judging against OpenAI-compatible servers (vLLM, SGLang).
- ``trl_rrm.RRMReward``: a judge + a tournament as a TRL reward function (``AsyncRRMReward``: async).
- ``trl_rrm.tournaments``: who meets whom and how verdicts become rewards (``TOURNAMENTS``:
  knockout, ELO, round robin, Bradley-Terry, swiss, circular, adaptive, anchor, listwise).
- ``trl_rrm.floor``: the noise floor (``min_margin``) shared by the reward and the labeler.
- ``Match`` / ``Verdict`` / ``Grade`` / ``Ranking``: the judge protocol's value types.
- ``trl_rrm.evaluation``: judge accuracy on pairs, best-of-N and rankings (``trl-rrm eval``).

torch-backed names (``HFJudge``, ``HFJudgeConfig``) load on first access.
"""

from typing import Any

from .formats import FORMATS, get_format
from .judges import GenerativeJudge, JudgingConfig, ListwiseJudge, PairwiseJudge, PointwiseJudge
from .parsing import parse_ranking, parse_verdict, strip_think
from .labeling import LabelingSummary, label_preferences
from .evaluation import evaluate_best_of_n, evaluate_listwise, evaluate_pairwise
from .reward import AsyncRRMReward, RRMReward
from .tournaments import get_tournament
from .types import Grade, Match, Ranking, Verdict

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name in ("HFJudge", "HFJudgeConfig", "OpenAIJudge", "OpenAIJudgeConfig"):
        from . import judges

        return getattr(judges, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AsyncRRMReward",
    "FORMATS",
    "GenerativeJudge",
    "HFJudge",
    "HFJudgeConfig",
    "JudgingConfig",
    "LabelingSummary",
    "ListwiseJudge",
    "Match",
    "OpenAIJudge",
    "OpenAIJudgeConfig",
    "PairwiseJudge",
    "PointwiseJudge",
    "RRMReward",
    "Grade",
    "Ranking",
    "Verdict",
    "evaluate_best_of_n",
    "evaluate_listwise",
    "evaluate_pairwise",
    "get_format",
    "get_tournament",
    "label_preferences",
    "parse_ranking",
    "parse_verdict",
    "strip_think",
]
