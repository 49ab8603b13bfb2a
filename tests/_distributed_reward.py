"""Run by tests/test_reward.py under torchrun (2 processes, gloo, CPU).

Each rank holds 6 of 12 completions (3 prompts x 4 generations): the middle group
straddles the two ranks. Rank 0 writes every rank's rewards, judged-match count and
``audit_agreement`` (an audit on the ``label`` column: each rank audits its own slice).
"""

import json
import sys

import torch.distributed as dist

from trl_rrm import RRMReward
from trl_rrm.testing import NumberJudge, reward_batch

dist.init_process_group("gloo")
rank, size = dist.get_rank(), dist.get_world_size()
tournament, out_path = sys.argv[1], sys.argv[2]
LABELS = [3, 9, 1, 5, 7, 2, 8, 4, 1, 1, 6, 3]  # as tests/test_reward.py: the last group reversed


def audit(prompts, completions, label, **kwargs):
    return list(label)


prompts, completions = reward_batch()
per_rank = len(prompts) // size
mine = slice(rank * per_rank, (rank + 1) * per_rank)
judge = NumberJudge()
reward = RRMReward(judge, tournament=tournament, seed=3, audit=audit)
metrics = {}
rewards = reward(prompts[mine], completions[mine], label=LABELS[mine], log_metric=metrics.__setitem__)
gathered = [None] * size
agreement = metrics.get("rrm_reward/audit_agreement")
dist.all_gather_object(gathered, {"rewards": rewards, "judged": judge.judged, "calls": judge.calls, "audit": agreement})
if rank == 0:
    with open(out_path, "w") as f:
        json.dump(gathered, f)
dist.destroy_process_group()
