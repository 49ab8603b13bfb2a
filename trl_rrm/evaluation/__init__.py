"""Judge evaluation: accuracy on preference pairs, best-of-N picks and reference rankings.

- ``evaluate_pairwise``: accuracy per subset / category (RewardBench sections optional),
  both-order accuracy, order agreement, ties and failures on their own lines, and
  accuracy vs ``num_votes`` / ``max_new_tokens`` curves.
- ``evaluate_best_of_n``: top-pick accuracy and judge matches per tournament, beside a
  random pick and the oracle.
- ``evaluate_listwise``: Kendall tau, NDCG and top-1 accuracy against reference rankings.
- ``evaluate_robustness``: attacks on the wrong response of each pair (master keys,
  self-declared verdicts, forged sections, spelled control tokens, padding, refusals)
  and how often they make the judge prefer it.
- ``write_report``: report.json, report.md and curves.png; ``plot_learning_curves``: a
  policy's held-out score against training step, per arm and seed (the proof's plot).
- Built-in sets (``builtin:pairs``, ``builtin:best_of_n``, ``builtin:listwise``) come from
  the toy tasks of the checkout (``recipes/tasks``: ``trl_rrm.inputs.builtin_rows``), so
  everything runs offline.

Plain Python apart from the judge: any object with ``compare`` (and ``rank``) works.
"""

from ..inputs import load_rows
from .best_of_n import BestOfNResult, evaluate_best_of_n
from .data import CandidateList, EvaluationInputError, PairExample
from .learning_curves import plot_learning_curves
from .listwise import ListwiseResult, evaluate_listwise
from .metrics import kendall_tau, kendall_tau_b, ndcg, rewardbench_sections, top1_correct
from .pairwise import PairwiseResult, evaluate_pairwise, score_pairs
from .report import plot_curves, write_report
from .robustness import ATTACKS, RobustnessResult, evaluate_robustness

__all__ = [
    "ATTACKS",
    "RobustnessResult",
    "evaluate_robustness",
    "BestOfNResult",
    "CandidateList",
    "EvaluationInputError",
    "ListwiseResult",
    "PairExample",
    "PairwiseResult",
    "evaluate_best_of_n",
    "evaluate_listwise",
    "evaluate_pairwise",
    "kendall_tau",
    "kendall_tau_b",
    "load_rows",
    "ndcg",
    "plot_curves",
    "plot_learning_curves",
    "rewardbench_sections",
    "score_pairs",
    "top1_correct",
    "write_report",
]
