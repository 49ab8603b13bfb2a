"""Run by tests/test_reward.py under torchrun (2 processes, gloo, CPU).

Each rank holds 6 of 12 completions (3 prompts x 4 generations): the middle group
straddles the two ranks. Rank 0 writes every rank's rewards and judged-match count.
"""

import json
import sys

import torch.distributed as dist

from trl_rrm import RRMReward
from trl_rrm.testing import NumberJudge, reward_batch

dist.init_process_group("gloo")
rank, size = dist.get_rank(), dist.get_world_size()
tournament, out_path = sys.argv[1], sys.argv[2]

prompts, completions = reward_batch()
per_rank = len(prompts) // size
mine = slice(rank * per_rank, (rank + 1) * per_rank)
judge = NumberJudge()
reward = RRMReward(judge, tournament=tournament, seed=3)
rewards = reward(prompts[mine], completions[mine])
gathered = [None] * size
dist.all_gather_object(gathered, {"rewards": rewards, "judged": judge.judged, "calls": judge.calls})
if rank == 0:
    with open(out_path, "w") as f:
        json.dump(gathered, f)
dist.destroy_process_group()
