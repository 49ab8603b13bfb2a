"""RRMReward with deterministic judges: grouping, layouts, metrics, pickling, 2 processes."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from trl_rrm import HFJudge, RRMReward
from trl_rrm.testing import NumberJudge, reward_batch
from trl_rrm.types import Verdict

# round robin, by hand: group (3, 9, 1, 5) -> wins 1, 3, 0, 2 of 3 matches;
# (7, 2, 8, 4) -> 2, 0, 3, 1; (6, 6, 1, 3) -> 6s draw each other: 2.5, 2.5, 0, 1
ROUND_ROBIN = [1 / 3, 1, 0, 2 / 3, 2 / 3, 0, 1, 1 / 3, 2.5 / 3, 2.5 / 3, 0, 1 / 3]


def test_round_robin_rewards_by_hand():
    prompts, completions = reward_batch()
    rewards = RRMReward(NumberJudge(), tournament="round_robin")(prompts, completions)
    assert rewards == pytest.approx(ROUND_ROBIN)


def test_conversational_layout_gives_the_same_rewards():
    prompts, completions = reward_batch()
    conv_prompts = [[{"role": "user", "content": p}] for p in prompts]
    conv_completions = [[{"role": "assistant", "content": c}] for c in completions]
    rewards = RRMReward(NumberJudge(), tournament="round_robin")(conv_prompts, conv_completions)
    assert rewards == pytest.approx(ROUND_ROBIN)


def test_online_dpo_layout_groups_by_prompt():
    # OnlineDPO: all first completions, then all second ones.
    prompts = ["a", "b", "c", "a", "b", "c"]
    completions = ["1", "5", "3", "2", "4", "3"]
    judge = NumberJudge()
    rewards = RRMReward(judge, tournament="round_robin")(prompts, completions)
    assert rewards == [0.0, 1.0, 0.5, 1.0, 0.0, 0.5]
    assert judge.judged == 3 and judge.calls == 1


def test_num_generations_chunks_consecutively():
    prompts = ["same"] * 4
    completions = ["1", "2", "3", "4"]
    rewards = RRMReward(NumberJudge(), tournament="round_robin", num_generations=2)(prompts, completions)
    assert rewards == [0.0, 1.0, 0.0, 1.0]  # two groups of 2, not one of 4
    with pytest.raises(ValueError, match="num_generations=3 does not divide the gathered batch of 4"):
        RRMReward(NumberJudge(), tournament="round_robin", num_generations=3)(prompts, completions)


def test_one_judge_call_per_round():
    prompts, completions = reward_batch()
    judge = NumberJudge()
    RRMReward(judge, tournament="round_robin")(prompts, completions)
    assert judge.calls == 1 and judge.judged == 3 * 6
    knockout_judge = NumberJudge()
    RRMReward(knockout_judge, tournament="knockout")(prompts, completions)
    # n-1 = 3 matches per group of 4, except when the two 6s draw in round 1: both are
    # out, and the other semifinal's winner has no final to play (3 + 3 + 2 = 8)
    assert knockout_judge.calls == 2 and knockout_judge.judged in (8, 9)


def test_knockout_champion_is_the_best_completion():
    prompts, completions = reward_batch()
    rewards = RRMReward(NumberJudge(), tournament="knockout")(prompts, completions)
    assert rewards[1] == 1.0 and rewards[6] == 1.0  # 9 and 8 win their brackets
    assert rewards[2] == 0.0 and rewards[5] == 0.0  # 1 and 2 lose their first match


class FailingJudge:
    def compare(self, matches):
        return [Verdict(winner=None, votes=(None, None)) for _ in matches]


@pytest.mark.parametrize("tournament", ["knockout", "elo", "round_robin", "bradley_terry"])
def test_all_failures_give_none_and_metrics(tournament):
    prompts, completions = reward_batch()
    metrics, extras = {}, {}
    rewards = RRMReward(FailingJudge(), tournament=tournament, name="judge")(
        prompts, completions, log_metric=metrics.__setitem__, log_extra=extras.__setitem__
    )
    assert rewards == [None] * 12
    assert metrics["judge/parse_failure_rate"] == 1.0
    assert metrics["judge/none_reward_rate"] == 1.0
    # 3 groups of 4: every pair once (opponents=None) is 6 matches a group; a knockout's first
    # round is 2 a group, and with every match failed no one goes on to a second round
    assert metrics["judge/matches"] == {"knockout": 6, "elo": 18, "round_robin": 18, "bradley_terry": 18}[tournament]
    assert extras == {"judge_rationale": [""] * 12}


def test_missing_numbers_are_none_not_zero():
    prompts = ["p"] * 3
    completions = ["5", "no number here", "7"]
    rewards = RRMReward(NumberJudge(), tournament="round_robin")(prompts, completions)
    assert rewards == [0.0, None, 1.0]


def test_metrics_and_rationales_reach_the_trainer():
    prompts, completions = reward_batch()
    metrics, extras = {}, {}
    RRMReward(NumberJudge(), tournament="round_robin")(
        prompts, completions, log_metric=metrics.__setitem__, log_extra=extras.__setitem__, trainer_state=None
    )
    assert metrics["rrm_reward/matches"] == 18
    assert metrics["rrm_reward/tie_rate"] == pytest.approx(1 / 18)
    assert metrics["rrm_reward/parse_failure_rate"] == 0
    assert "rrm_reward/judge_seconds" in metrics
    rationales = extras["rrm_reward_rationale"]
    assert len(rationales) == 12 and all(r for r in rationales)


def test_principle_from_constructor_and_column():
    seen = []

    class Recorder(NumberJudge):
        def compare(self, matches):
            seen.extend(m.principle for m in matches)
            return super().compare(matches)

    reward = RRMReward(Recorder(), tournament="round_robin", principle="default rule")
    reward(["a", "a", "b", "b"], ["1", "2", "3", "4"], principle=["be brief", "be brief", None, None])
    assert seen == ["be brief", "default rule"]


def test_keyword_columns_are_checked_before_judging():
    """Issue 24 point 3: a short column gave one reward for four completions; a group whose
    rows carry different references used the first; a non-string principle failed in a regex."""
    from trl_rrm.tournaments import AnchorTournament

    judge = NumberJudge()
    prompts, completions = ["a"] * 4, ["1", "2", "3", "4"]
    with pytest.raises(ValueError, match=r"column 'principle' has 1 values for 4 completions"):
        RRMReward(judge, tournament="round_robin")(prompts, completions, principle=["be brief"])
    with pytest.raises(TypeError, match=r"column 'principle', row 2: 7 \(int\) must be a string or None"):
        RRMReward(judge, tournament="round_robin")(prompts, completions, principle=["x", "x", 7, "x"])
    with pytest.raises(TypeError, match=r"column 'principle' must be a list"):
        RRMReward(judge, tournament="round_robin")(prompts, completions, principle="be brief")
    with pytest.raises(ValueError, match=r"column 'principle' differs within one group: row 0 has 'x', row 2 has 'y'"):
        RRMReward(judge, tournament="round_robin")(prompts, completions, principle=["x", "x", "y", "y"])
    anchored = RRMReward(judge, tournament=AnchorTournament(anchor="reference"))
    with pytest.raises(ValueError, match=r"column 'reference' differs within one group: row 0 has '5', row 2 has '3'"):
        anchored(prompts, completions, reference=["5", "5", "3", "3"])
    with pytest.raises(ValueError, match=r"column 'reference' has 3 values for 4 completions"):
        anchored(prompts, completions, reference=["5", "5", "5"])
    assert judge.calls == 0  # every error came before any judging
    assert anchored(prompts, completions, reference=["5"] * 4) == [0.0, 0.0, 0.0, 0.0]


def test_verifier_settles_the_groups_it_separates_and_the_judge_ranks_the_rest():
    """Issue 26 item 5, on the constraints task's checker: a mixed batch of three prompts."""
    from tasks.constraints import constraint_prompts, constraint_reward, dataset_rows

    rows = dataset_rows(constraint_prompts(3, "train", seed=0, types=["end_question"]))
    completions = ["Is it 3?", "It is 9.", "Is it 1?", "It is 5.",  # the checker separates: 1 0 1 0
                   "Is it 2?", "Is it 8?", "Is it 4?", "Is it 6?",  # all satisfy: the judge ranks
                   "It is 7.", "It is 1.", "It is 3.", "It is 5."]  # fmt: skip # all fail: the judge ranks
    prompts = [r["prompt"] for r in rows for _ in range(4)]
    constraints = [r["constraints"] for r in rows for _ in range(4)]
    metrics = {}
    judge = NumberJudge()
    reward = RRMReward(judge, tournament="round_robin", num_generations=4, verifier=constraint_reward)
    rewards = reward(prompts, completions, constraints=constraints, log_metric=metrics.__setitem__)
    assert rewards[:4] == [1.0, 0.0, 1.0, 0.0]  # the checker's, although the judge prefers 9 and 5
    assert rewards[4:] == pytest.approx([0, 1, 1 / 3, 2 / 3, 1, 0, 1 / 3, 2 / 3])  # round robin on the numbers
    assert judge.judged == 12 and metrics["rrm_reward/matches"] == 12  # 2 groups x 6 matches, not 3 x 6
    assert metrics["rrm_reward/verified_group_rate"] == pytest.approx(1 / 3)
    # without the verifier every group is judged
    unverified = NumberJudge()
    RRMReward(unverified, tournament="round_robin", num_generations=4)(prompts, completions, constraints=constraints)
    assert unverified.judged == 18
    # a member without a verdict (None or NaN) leaves its group to the judge; bad values are named
    gappy = RRMReward(NumberJudge(), tournament="round_robin", num_generations=4,
                      verifier=lambda prompts, completions, **_: [1.0, float("nan"), 0.0, 0.0] * 3)  # fmt: skip
    assert gappy(prompts, completions)[:4] == pytest.approx([1 / 3, 1, 0, 2 / 3])
    with pytest.raises(TypeError, match=r"verifier reward of row 1: 'yes' \(str\) must be a number or None"):
        RRMReward(NumberJudge(), verifier=lambda prompts, completions, **_: [1, "yes"] + [0] * 10)(prompts, completions)
    with pytest.raises(ValueError, match="verifier returned 2 rewards for 12 completions"):
        RRMReward(NumberJudge(), verifier=lambda prompts, completions, **_: [1, 0])(prompts, completions)
    with pytest.raises(TypeError, match="verifier=3 must be a reward function"):
        RRMReward(NumberJudge(), verifier=3)


def test_listwise_tournament():
    prompts, completions = reward_batch()
    rewards = RRMReward(NumberJudge(), tournament="listwise")(prompts, completions)
    # no scores: 1 - position / (k - 1); group 0 order 9, 5, 3, 1
    assert rewards[:4] == pytest.approx([1 / 3, 1, 0, 2 / 3])


def test_name_and_pickling(tmp_path):
    judge = HFJudge(str(tmp_path / "not-loaded-yet"), both_orders=True)
    reward = RRMReward(judge, tournament="elo", name="my_rrm")
    assert reward.__name__ == "my_rrm"
    clone = pickle.loads(pickle.dumps(reward))
    assert clone.__name__ == "my_rrm" and not clone.judge.runner.loaded
    assert clone.judge.config.both_orders


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_generations=1"):
        RRMReward(NumberJudge(), num_generations=1)
    with pytest.raises(TypeError, match="none of compare"):
        RRMReward(object())
    with pytest.raises(ValueError, match="pyramid"):
        RRMReward(NumberJudge(), tournament="pyramid")


def test_steps_use_different_brackets():
    prompts, completions = ["p"] * 8, [str(v) for v in range(8)]
    seen = []

    class Recorder(NumberJudge):
        def compare(self, matches):
            seen.append(sorted(tuple(sorted((m.responses[0], m.responses[1]))) for m in matches))
            return super().compare(matches)

    reward = RRMReward(Recorder(), tournament="knockout")
    reward(prompts, completions)
    first_round_step1 = seen[0]
    reward(prompts, completions)
    assert seen[3] != first_round_step1  # round 1 of step 2 (3 rounds per step)


DISTRIBUTED_LABELS = [3, 9, 1, 5, 7, 2, 8, 4, 1, 1, 6, 3]  # as tests/_distributed_reward.py


@pytest.mark.multiprocess
@pytest.mark.parametrize("tournament", ["knockout", "round_robin", "listwise"])
def test_two_processes_match_one_process(tmp_path, tournament):
    if not shutil.which("torchrun") and not _has_torch_run():
        pytest.skip("torch.distributed.run unavailable")
    out = tmp_path / "out.json"
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         str(Path(__file__).with_name("_distributed_reward.py")), tournament, str(out)],
        check=True,
        env=env,
        timeout=300,
        capture_output=True,
    )
    ranks = json.loads(out.read_text())
    prompts, completions = reward_batch()
    single_judge = NumberJudge()
    metrics = {}
    audit = lambda prompts, completions, label, **kwargs: label  # noqa: E731
    single = RRMReward(single_judge, tournament=tournament, seed=3, audit=audit)
    expected = single(prompts, completions, label=DISTRIBUTED_LABELS, log_metric=metrics.__setitem__)
    assert ranks[0]["rewards"] + ranks[1]["rewards"] == pytest.approx(expected)
    # each rank audits its own slice; the middle group straddles them and is scored whole
    assert ranks[0]["audit"] == ranks[1]["audit"] == pytest.approx(metrics["rrm_reward/audit_agreement"])
    judged = [r["judged"] for r in ranks]
    assert sum(judged) == single_judge.judged
    assert max(judged) - min(judged) <= single_judge.calls  # each round splits within one match
    assert ranks[0]["calls"] == ranks[1]["calls"] == single_judge.calls


def _has_torch_run() -> bool:
    import importlib.util

    return importlib.util.find_spec("torch.distributed.run") is not None


def test_soft_verdicts_report_position_bias():
    class SoftJudge:
        def compare(self, matches):
            return [Verdict(winner=0, p_first=0.8, position_bias=0.1, order_agreement=True, votes=(0, 0)) for _ in matches]

    metrics = {}
    RRMReward(SoftJudge(), tournament="knockout")(["p", "p"], ["a", "b"], log_metric=metrics.__setitem__)
    assert metrics["rrm_reward/position_bias"] == pytest.approx(0.1)
    assert metrics["rrm_reward/order_disagreement_rate"] == 0


def test_audit_agreement_measures_the_judge_only_where_the_judge_ranked():
    """Issue 46 item 6: a judge that orders every pair backwards logged 0.0 alone and 0.706
    when a verifier settled 2 of 3 groups (the verifier's own groups agreed with the audit)."""
    prompts = ["a"] * 3 + ["b"] * 3 + ["c"] * 3
    completions = ["1", "2", "3"] * 3
    truth = [1.0, 2.0, 3.0] * 3  # the audit: larger is better, as the verifier says
    verifier = lambda prompts, completions, **kw: truth[:6] + [float("nan")] * 3  # noqa: E731
    audit = lambda prompts, completions, **kw: truth  # noqa: E731

    class Backwards(NumberJudge):  # the smaller number wins: every pair reversed
        def compare(self, matches):
            from dataclasses import replace

            return [replace(v, winner=None if v.winner is None else 1 - v.winner) for v in super().compare(matches)]

    for verifier_or_none, settled in ((None, 0.0), (verifier, 2 / 3)):
        logged = {}
        reward = RRMReward(Backwards(), tournament="round_robin", num_generations=3, verifier=verifier_or_none, audit=audit)
        reward(prompts, completions, log_metric=lambda k, v: logged.__setitem__(k, v))
        assert logged["rrm_reward/audit_agreement"] == 0.0
        assert logged.get("rrm_reward/verified_group_rate", 0.0) == settled
