"""RRMReward under TRL's experimental AsyncGRPOTrainer calling pattern.

The trainer pickles its reward functions into a *spawned* rollout process and scores
one prompt group at a time (``AsyncRolloutWorker._score_group``): every reward function
gets ``completions``, ``prompts`` (conversations), ``completion_ids`` and the dataset's
extra columns as keywords; an async function is awaited, a plain one runs through
``asyncio.to_thread``, all of them under one ``asyncio.gather``. This test replays that
pattern in a spawned process with a real HFJudge (tiny model) and checks the rewards
equal those of the same reward objects called in the trainer's own process.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import pickle

import pytest

pytestmark = pytest.mark.multiprocess

GROUP = 4


def _groups() -> list[dict]:
    answers = [["It is 12.", "12", "13, I think.", "The answer is 11."], ["Paris.", "Lyon", "Paris, France.", "Rome."]]
    questions = ["What is 7 + 5?", "What is the capital of France?"]
    return [
        {
            "prompts": [[{"role": "user", "content": q}]] * GROUP,
            "completions": [[{"role": "assistant", "content": a}] for a in group],
            "completion_ids": [[1, 2, 3]] * GROUP,
            "task": ["qa"] * GROUP,  # an extra dataset column, as the trainer forwards them
        }
        for q, group in zip(questions, answers)
    ]


def _score(reward_funcs: list, groups: list[dict]) -> list[list[list[float | None]]]:
    """``_score_group``'s calls: one gather per group, async awaited, sync in a thread."""
    from trl.trainer.utils import is_async_callable

    async def one(group):
        return await asyncio.gather(
            *[f(**group) if is_async_callable(f) else asyncio.to_thread(f, **group) for f in reward_funcs]
        )

    return [asyncio.run(one(group)) for group in groups]


def _in_rollout_process(payload: bytes, groups: list[dict]) -> list:
    return _score(pickle.loads(payload), groups)


def test_rrm_rewards_pickled_into_a_spawned_rollout_process_score_groups_like_async_grpo(tiny_dir):
    from trl_rrm import AsyncRRMReward, HFJudge, RRMReward

    def judge():
        return HFJudge(tiny_dir, verdict="direct", both_orders=True, max_new_tokens=4)

    funcs = [
        RRMReward(judge(), tournament="circular", num_generations=GROUP),
        AsyncRRMReward(judge(), tournament="round_robin", num_generations=GROUP),
    ]
    payload = pickle.dumps(funcs)  # what AsyncRolloutWorker checks before it spawns
    with mp.get_context("spawn").Pool(1) as pool:
        remote = pool.apply_async(_in_rollout_process, (payload, _groups())).get(timeout=600)
    local = _score(funcs, _groups())
    assert len(remote) == 2 and all(len(per_func) == 2 for per_func in remote)
    for group in remote:
        for rewards in group:
            assert len(rewards) == GROUP
            assert any(r is not None for r in rewards)
    assert remote == local  # the same rewards in the rollout process as in the trainer's
