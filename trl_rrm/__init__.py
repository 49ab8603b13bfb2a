"""trl_rrm: reasoning reward models (generative judges) as rewards and preference labels for TRL.

Quick map:
- ``trl_rrm.formats``: the ``rrm``, ``rm_r1``, ``rm_r1_distilled`` and ``principle`` formats.
- ``trl_rrm.parse_verdict`` / ``trl_rrm.parse_ranking``: pure parsers, None on failure.
- ``trl_rrm.HFJudge``: a batched transformers/PEFT judge (LoRA, 4/8-bit, shared-base adapter).
- ``Match`` / ``Verdict`` / ``Ranking``: the judge protocol's value types.
"""

from .formats import FORMATS, get_format
from .judges import GenerativeJudge, HFJudge, HFJudgeConfig, JudgingConfig, ListwiseJudge, PairwiseJudge
from .parsing import parse_ranking, parse_verdict, strip_think
from .types import Match, Ranking, Verdict

__version__ = "0.1.0"

__all__ = [
    "FORMATS",
    "GenerativeJudge",
    "HFJudge",
    "HFJudgeConfig",
    "JudgingConfig",
    "ListwiseJudge",
    "Match",
    "PairwiseJudge",
    "Ranking",
    "Verdict",
    "get_format",
    "parse_ranking",
    "parse_verdict",
    "strip_think",
]
