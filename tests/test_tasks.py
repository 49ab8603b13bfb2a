"""The recipes' toy tasks (recipes/tasks): one registry for every ``builtin:<name>``, and
the same data for the same seed as before they left the library (issue 43 item 2)."""

from __future__ import annotations

import hashlib
import json

import pytest

from trl_rrm.formats import get_format

from tasks import CHECKED_TASKS, EVALUATION_SETS, TASKS, TRAINING_TASKS, get_task
from tasks.constraints import constraint_prompts, judge_trace, response_trace, templated_pairs
from tasks.eval_sets import best_of_n_set, constraint_set, listwise_set, pairwise_set
from tasks.sums import judge_pairs, small_sums, templated_samples
from tasks.sums import judge_trace as sums_trace


def test_one_registry_names_every_part():
    assert list(TASKS) == ["pairs", "best_of_n", "listwise", "constraints", "small_sums", "arithmetic"]
    assert EVALUATION_SETS == ("pairs", "best_of_n", "listwise", "constraints", "arithmetic")
    assert TRAINING_TASKS == ("constraints", "small_sums", "arithmetic")
    assert CHECKED_TASKS == ("constraints", "small_sums")
    assert get_task("builtin:constraints") is get_task("constraints") is TASKS["constraints"]
    assert get_task("constraints").label_column == "constraints" and get_task("small_sums").label_column == "answer"


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: get_task("builtin:nope"), r"task='builtin:nope' is unknown; expected one of \['builtin:pairs'"),
        (lambda: get_task("small_sums").rows(2), r"builtin:small_sums has no evaluation set; sets: \['builtin:pairs'"),
        (lambda: get_task("pairs").train_rows(2, 0, False), r"builtin:pairs has no training prompts; tasks: \['builtin:cons"),
        (lambda: get_task("arithmetic").score(None, None), r"builtin:arithmetic has no checker; checked tasks: \['builtin:c"),
        (lambda: get_task("listwise").held_out_rows(2), r"builtin:listwise has no checker"),
    ],
)
def test_a_part_a_task_lacks_is_an_error_naming_it(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_the_arithmetic_task_is_the_demos_pairs_and_dpos_prompts():
    rows = get_task("arithmetic").rows(2, seed=3)
    assert rows == [
        {"prompt": "What is 85 + 79? Answer with the result.", "chosen": "85 + 79 = 164", "rejected": "85 + 79 = 162",
         "subset": "arithmetic", "category": "numbers"},
        {"prompt": "What is 87 - 70? Answer with the result.", "chosen": "87 - 70 = 17", "rejected": "87 - 70 = 27",
         "subset": "arithmetic", "category": "numbers"},
    ]  # fmt: skip
    assert rows[0] == pairwise_set(1, seed=3)[0] and len(get_task("arithmetic").rows()) == 32  # pairs' arithmetic subset
    prompts = get_task("arithmetic").train_rows(2, 3, labels=True)
    assert prompts == [{"prompt": [{"role": "user", "content": r["prompt"]}]} for r in rows]  # no checker: no label


def _digest(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:16]


def _traces(seed: int) -> list[str]:
    pairs = templated_pairs(constraint_prompts(30, "train", seed=seed), seed=seed)[:8]
    return [judge_trace(p, get_format(f), walk=w) for p in pairs for f in ("rrm", "rm_r1") for w in (False, True)]


def _pointwise_traces(seed: int) -> list[list]:
    pairs = templated_pairs(constraint_prompts(30, "train", seed=seed), seed=seed)[:8]
    return [list(response_trace(p.problem, p.first, get_format("pointwise"), walk=w)) for p in pairs for w in (False, True)]


def _sums_traces(seed: int) -> list[str]:
    problems = small_sums(30, seed=seed)
    pairs = judge_pairs(problems, templated_samples(problems, seed=seed), seed=seed)[:6]
    return [sums_trace(p, get_format(f)) for p in pairs for f in ("rrm", "rm_r1", "rm_r1_distilled")]


# Digests of what trl_rrm.tasks generated before the move (commit 36ad3d4): seeded_rng, the
# registry and the format objects give the same data for the same seed.
@pytest.mark.parametrize(
    "make, digest",
    [
        (lambda: pairwise_set(24, seed=7), "cbe84db4e48916a7"),
        (lambda: best_of_n_set(8, 4, seed=1), "7a389c41f3f18e12"),
        (lambda: listwise_set(8, 5, seed=7), "9d705c72ef739100"),
        (lambda: constraint_set(40, seed=1), "18cb24610138cb7c"),
        (lambda: get_task("constraints").train_rows(20, 7, True), "9dd295be3e1296bb"),
        (lambda: get_task("small_sums").train_rows(20, 1, True), "c16dd5fe11d77326"),
        (lambda: get_task("constraints").held_out_rows(16), "3502e57a0a1f6e01"),
        (lambda: _traces(0), "5593341ee3168920"),
        (lambda: _pointwise_traces(1), "4d880c0b2880aeb2"),
        (lambda: _sums_traces(1), "9999fdf281def501"),
    ],
    ids=["pairs", "best_of_n", "listwise", "constraint_set", "constraint_prompts", "sums_prompts", "held_out",
         "traces", "pointwise_traces", "sums_traces"],
)  # fmt: skip
def test_the_same_seed_gives_the_same_data_as_before_the_move(make, digest):
    assert _digest(make()) == digest
