"""Reading a verifier's (or an audit's) rewards: ``trl_rrm.verifier.verifier_values``.

Issue 46 items 2 and 5: an infinite reward once passed through as a reward (GRPO's
advantages of its group all NaN), and a function returning None, a scalar or a dict once
failed with a bare ``'NoneType' object is not iterable`` or was read as its keys.
"""

from __future__ import annotations

import math

import pytest

from trl_rrm import RRMReward
from trl_rrm.testing import NumberJudge, reward_batch
from trl_rrm.verifier import settled_groups, verifier_values

INF = float("inf")


def test_infinite_and_nan_rewards_are_no_verdict():
    assert verifier_values([-INF, 0, 1, INF, math.nan, None, 0.25], 7) == [None, 0.0, 1.0, None, None, None, 0.25]
    # a group with an infinite member is not separated: the judge ranks it
    assert settled_groups([verifier_values([-INF, 0, 1, 0], 4), verifier_values([1, 0, 1, 0], 4)]) == [
        None,
        [1.0, 0.0, 1.0, 0.0],
    ]


def test_an_infinite_verifier_reward_leaves_its_group_to_the_judge():
    prompts, completions = reward_batch()
    verified = RRMReward(NumberJudge(), tournament="round_robin", num_generations=4,
                         verifier=lambda prompts, completions, **_: [-INF, 0.0, 1.0, 0.0] * 3)  # fmt: skip
    rewards = verified(prompts, completions)
    # the judge's round robin on the numbers, as without the verifier: every reward finite
    assert rewards == RRMReward(NumberJudge(), tournament="round_robin", num_generations=4)(prompts, completions)
    assert rewards[:4] == pytest.approx([1 / 3, 1, 0, 2 / 3]) and all(math.isfinite(r) for r in rewards)


@pytest.mark.parametrize(
    "returned, message",
    [
        (None, r"audit returned None \(NoneType\); it must return a list with one reward"),
        (0.5, r"audit returned 0.5 \(float\); it must return a list with one reward"),
        ({"a": 1.0, "b": 0.0}, r"audit returned \{'a': 1.0, 'b': 0.0\} \(dict\); it must return a list"),
        ("10", r"audit returned '10' \(str\); it must return a list"),
        ({1.0, 0.0}, r"audit returned \{0.0, 1.0\} \(set\); it must return a list"),
    ],
    ids=["None", "scalar", "dict", "str", "set"],
)
def test_what_is_not_a_list_of_rewards_is_named(returned, message):
    with pytest.raises(TypeError, match=message):
        verifier_values(returned, 2, "audit")


@pytest.mark.parametrize("what", ["audit", "verifier"])
def test_a_reward_that_is_not_a_number_names_the_function_and_the_row(what):
    with pytest.raises(TypeError, match=rf"{what} reward of row 1: False \(bool\) must be a number or None"):
        verifier_values([1.0, False], 2, what)
    with pytest.raises(TypeError, match=rf"{what} reward of row 0: '1' \(str\) must be a number or None"):
        verifier_values(["1", 0.0], 2, what)
    # any sized iterable of numbers is read: a tuple, numpy values, a generator
    np = pytest.importorskip("numpy")
    assert verifier_values(np.array([1.0, 0.0]), 2, what) == [1.0, 0.0]
    assert verifier_values((x for x in (1, None)), 2, what) == [1.0, None]


def test_a_verifier_returning_none_is_named_in_the_reward():
    prompts, completions = reward_batch()
    reward = RRMReward(NumberJudge(), num_generations=4, verifier=lambda prompts, completions, **_: None)
    with pytest.raises(TypeError, match=r"verifier returned None \(NoneType\); it must return a list"):
        reward(prompts, completions)


def test_an_audit_of_bools_fails_before_anything_is_judged():
    """Issue 46 item 5: the TypeError once came after the whole tournament was judged."""
    prompts, completions = reward_batch()
    judge = NumberJudge()
    reward = RRMReward(judge, num_generations=4, audit=lambda prompts, completions, **_: [True] * len(completions))
    with pytest.raises(TypeError, match=r"audit reward of row 0: True \(bool\) must be a number or None"):
        reward(prompts, completions)
    assert judge.judged == 0
