"""DPO preference labels from a judge: prompts (and candidates) in, TRL preference rows out.

    from trl_rrm import HFJudge, label_preferences

    judge = HFJudge("judge", adapter="judge-lora", both_orders=True, verdict="forced")
    summary = label_preferences("prompts.jsonl", judge, output="pairs.jsonl", policy="policy", num_candidates=4)
    summary.dataset        # prompt / chosen / rejected (+ scores, margin, order_agreement, rationale)

- ``run``: ``label_preferences`` (the chunk loop, several processes, summaries).
- ``config``: ``LabelingConfig`` (the options, declared once) and ``LabelingSummary``.
- ``pairs``: which candidate pairs become rows, and the rows.
- ``output``: the file promises (lock, no silent overwrite, exact resume, atomic publish).
- ``sampler``: candidates sampled from a policy.
"""

from ..inputs import InputError
from .config import DROP_REASONS, LabelingConfig, LabelingSummary
from .output import OutputError
from .run import label_preferences, validate_rows
from .sampler import PolicySampler

# The labeler's name for the one input error type.
LabelingInputError = InputError

__all__ = [
    "DROP_REASONS",
    "InputError",
    "LabelingConfig",
    "LabelingInputError",
    "LabelingSummary",
    "OutputError",
    "PolicySampler",
    "label_preferences",
    "validate_rows",
]
