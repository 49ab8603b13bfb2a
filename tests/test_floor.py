"""The noise floor (trl_rrm.floor) in RRMReward and the labeler; the audit metric; judge time."""

from __future__ import annotations

import math
import re
import time

import pytest

from trl_rrm import RRMReward, Verdict, label_preferences
from trl_rrm.driver import Group, run_tournament
from trl_rrm.floor import SOFT_MIN_MARGIN, NoiseFloor, floor_verdict, resolve_min_margin, separated
from trl_rrm.hacking import audit_agreement
from trl_rrm.labeling import LabelingConfig
from trl_rrm.labeling import config as labeling_config
from trl_rrm.testing import NoiseJudge, NumberJudge, SoftNumberJudge, reward_batch
from trl_rrm.testing.judges import _number
from trl_rrm.tournaments import get_tournament

TOURNAMENTS = ["circular", "round_robin", "bradley_terry", "elo", "knockout", "swiss", "anchor"]


def call(reward, prompts, completions, **columns):
    metrics = {}
    rewards = reward(prompts, completions, log_metric=metrics.__setitem__, **columns)
    return rewards, {key.split("/", 1)[1]: value for key, value in metrics.items()}


def groups_of(rewards, n):
    return [rewards[i : i + n] for i in range(0, len(rewards), n)]


def noisy_batch(n=5):
    """3 prompts x n completions (odd n gives knockout a bye)."""
    prompts = [f"prompt {p}" for p in range(3) for _ in range(n)]
    return prompts, [f"answer {p}-{c}: {c * 7 % n}" for p in range(3) for c in range(n)]


# ------------------------------------------------------------------ a judge that knows nothing


@pytest.mark.parametrize("tournament", TOURNAMENTS)
@pytest.mark.parametrize("n", [4, 5])
def test_a_judge_that_knows_nothing_gives_flat_groups(tournament, n):
    prompts, completions = noisy_batch(n)
    rewards, metrics = call(RRMReward(NoiseJudge(), tournament, num_generations=n), prompts, completions)
    for group in groups_of(rewards, n):
        assert len({r for r in group if r is not None}) == 1  # exactly equal, not 0.5 +- noise
        # knockout's bye of a group of 5 never plays (its round-1 opponents tied out): None
        assert group.count(None) == (tournament == "knockout" and n % 2)
    assert metrics["flat_group_rate"] == 1.0 and metrics["below_floor_rate"] == 1.0
    # without the floor the same judge's noise reaches the rewards: what the floor removes
    raw, raw_metrics = call(RRMReward(NoiseJudge(), tournament, num_generations=n, min_margin=0), prompts, completions)
    assert any(len(set(group)) > 1 for group in groups_of(raw, n))
    assert raw_metrics["flat_group_rate"] == 0.0 and raw_metrics["below_floor_rate"] == 0.0


def test_a_flat_group_has_exactly_zero_advantage_in_float32():
    torch = pytest.importorskip("torch")
    from trl_rrm.tournaments import AnchorTournament

    def advantages(rewards, n):  # TRL's GRPO: (r - group mean) / (group std + 1e-4), in float32
        grouped = torch.tensor(rewards, dtype=torch.float32).view(-1, n)
        return (grouped - grouped.mean(dim=1, keepdim=True)) / (grouped.std(dim=1, keepdim=True) + 1e-4)

    control = []
    for n in range(2, 17):  # every member beats the reference by 0.8: a flat group at 0.8
        reward = RRMReward(SoftNumberJudge(0.3), AnchorTournament(anchor="reference"), num_generations=n)
        rewards = reward(["p"] * n, ["9"] * n, reference=["1"] * n)
        assert advantages(rewards, n).abs().max().item() == 0.0
        control.append(advantages([0.8] * n, n).abs().max().item())
    assert max(control) > 0  # 0.8 itself is not exact in float32 sums: the grid is what makes it 0


def test_a_flat_groups_reward_is_its_mean_on_the_grid():
    # all four members beat the reference by the same margin: flat, and the level is kept
    from trl_rrm.tournaments import AnchorTournament

    prompts, completions = ["p"] * 4, ["9", "9", "9", "9"]
    reward = RRMReward(SoftNumberJudge(0.3), AnchorTournament(anchor="reference"), num_generations=4)
    rewards, metrics = call(reward, prompts, completions, reference=["1"] * 4)
    assert rewards == [819 / 1024] * 4  # 0.8 rounded to 1/1024
    assert metrics["flat_group_rate"] == 1.0


def test_failed_members_stay_none_in_a_flat_group():
    prompts, completions = ["p"] * 4, ["a 1", "b 1", "c 1", "no number"]
    rewards, metrics = call(RRMReward(NumberJudge(), "round_robin"), prompts, completions)
    assert rewards == [0.5, 0.5, 0.5, None]
    assert metrics["flat_group_rate"] == 1.0  # hard verdicts: all ties, exactly equal points


# ------------------------------------------------------------------ a judge that knows


@pytest.mark.parametrize("tournament", TOURNAMENTS)
def test_a_confident_judge_is_unaffected(tournament):
    prompts, completions = reward_batch()
    for judge in (NumberJudge, SoftNumberJudge):
        floored, metrics = call(RRMReward(judge(), tournament, num_generations=4), prompts, completions)
        raw = RRMReward(judge(), tournament, num_generations=4, min_margin=0)(prompts, completions)
        assert floored == raw
        assert metrics["flat_group_rate"] == 0.0 and metrics["below_floor_rate"] == 0.0


class TableJudge:
    """Soft verdicts from a table of p(first better) per pair of responses."""

    def __init__(self, table: dict[tuple[str, str], float]):
        self.table = table

    def compare(self, matches):
        verdicts = []
        for match in matches:
            a, b = match.responses
            p = self.table[(a, b)] if (a, b) in self.table else 1.0 - self.table[(b, a)]
            winner = None if p == 0.5 else int(p < 0.5)
            verdicts.append(Verdict(winner=winner, tie=winner is None, votes=(0,), p_first=p))
        return verdicts


def test_a_group_within_the_floor_is_flat_though_its_matches_are_above_it():
    # a > b and b > c at 0.7 (margin 0.4), a ~ c: win rates 0.6, 0.5, 0.4, a group margin of 0.2
    judge = TableJudge({("a", "b"): 0.7, ("b", "c"): 0.7, ("a", "c"): 0.5})
    prompts, completions = ["p"] * 3, ["a", "b", "c"]
    rewards, metrics = call(RRMReward(judge, "round_robin", min_margin=0.1), prompts, completions)
    assert rewards == pytest.approx([0.6, 0.5, 0.4]) and metrics["flat_group_rate"] == 0.0
    rewards, metrics = call(RRMReward(judge, "round_robin", min_margin=0.3), prompts, completions)
    assert rewards == [0.5, 0.5, 0.5] and metrics["flat_group_rate"] == 1.0
    assert metrics["below_floor_rate"] == 0.0  # no match was under the floor: the group was


def test_match_floor_makes_the_whole_verdict_a_tie():
    verdict = Verdict(winner=0, votes=(0, 1), p_first=0.53, order_agreement=False, position_bias=0.46, rationale="r")
    tie = floor_verdict(verdict, 0.1)
    assert (tie.winner, tie.tie, tie.p_first, tie.share) == (None, True, 0.5, None)
    assert (tie.order_agreement, tie.position_bias, tie.rationale, tie.votes) == (False, 0.46, "r", (0, 1))
    for p in (0.55, 0.45, 0.9, 0.1):  # margin |2p - 1| >= 0.1: kept, on both sides alike
        kept = Verdict(winner=int(p < 0.5), p_first=p)
        assert floor_verdict(kept, 0.1) is kept
    hard, failed = Verdict(winner=1, votes=(1,)), Verdict(winner=None, votes=(None,))
    assert floor_verdict(hard, 0.5) is hard and floor_verdict(failed, 0.5) is failed


def test_knockout_sees_the_floored_tie_too():
    # winner and p_first change together: knockout (which reads winner) eliminates both
    prompts, completions = ["p"] * 2, ["a", "b"]
    judge = TableJudge({("a", "b"): 0.52})
    assert RRMReward(judge, "knockout", min_margin=0)(prompts, completions) in ([1.0, 0.0], [0.0, 1.0])
    assert RRMReward(judge, "knockout")(prompts, completions) == [0.5, 0.5]


def test_the_driver_applies_the_floor_once_and_counts_it_in_judge_stats():
    # group 0: a > b at 0.52 (under the floor: a tie), b ~ c, a > c at 0.9: win rates
    # (0.5 + 0.9) / 2, (0.5 + 0.5) / 2, (0.5 + 0.1) / 2 = 0.7, 0.5, 0.3 (margin 0.4: kept);
    # group 1: d > e at 0.6, e > f at 0.6, f > d at 0.6: 0.5 each (flat, no match under the floor)
    judge = TableJudge({("a", "b"): 0.52, ("b", "c"): 0.5, ("a", "c"): 0.9,
                        ("d", "e"): 0.6, ("e", "f"): 0.6, ("f", "d"): 0.6})  # fmt: skip
    groups = [Group("p", ("a", "b", "c")), Group("q", ("d", "e", "f"))]
    outcome = run_tournament(groups, judge, get_tournament("round_robin"), floor=NoiseFloor())
    assert outcome.scores[0] == pytest.approx([0.7, 0.5, 0.3]) and outcome.scores[1] == [0.5, 0.5, 0.5]
    stats = outcome.stats
    assert (stats.matches, stats.below_floor, stats.rated_groups, stats.flat_groups) == (6, 1, 2, 1)
    assert stats.metrics()["below_floor_rate"] == 1 / 6 and stats.metrics()["flat_group_rate"] == 0.5
    raw = run_tournament(groups, judge, get_tournament("round_robin"))  # no floor: as the tournament scores
    assert raw.scores[0] == pytest.approx([0.71, 0.49, 0.3]) and (raw.stats.below_floor, raw.stats.rated_groups) == (0, 0)
    assert "flat_group_rate" not in raw.stats.metrics() and raw.stats.metrics()["below_floor_rate"] == 0.0


# ------------------------------------------------------------------ one definition for both


def test_the_floor_is_declared_once_for_reward_and_labeler():
    assert labeling_config.SOFT_MIN_MARGIN is SOFT_MIN_MARGIN == 0.1
    assert resolve_min_margin(None, soft=True) == SOFT_MIN_MARGIN and resolve_min_margin(None, soft=False) == 0.0
    assert resolve_min_margin(0.25, soft=False) == 0.25
    assert separated(0.1, 0.1) and not separated(0.0999, 0.1) and not separated(1e-13, 0.0)
    for make in (lambda: LabelingConfig(min_margin=-0.1), lambda: RRMReward(NumberJudge(), min_margin=-0.1)):
        with pytest.raises(ValueError, match=r"min_margin=-0.1 must be >= 0 \(or None: the default\)"):
            make()


@pytest.mark.parametrize("bad", ["0.1", True, [0.1]], ids=["str", "bool", "list"])
def test_a_min_margin_that_is_not_a_number_is_named(bad):
    """Issue 46 item 7: min_margin="0.1" once raised a bare TypeError from a comparison."""
    for make in (lambda: LabelingConfig(min_margin=bad), lambda: RRMReward(NumberJudge(), min_margin=bad)):
        with pytest.raises(TypeError, match=rf"min_margin={re.escape(repr(bad))} \({type(bad).__name__}\) must be a "
                                            r"number >= 0 \(or None: the default\)"):  # fmt: skip
            make()


def test_labeler_resolves_the_same_default():
    rows = [{"prompt": "p", "completions": ["a 1", "b 2", "c 3"]}]
    assert label_preferences(rows, SoftNumberJudge(0.4)).min_margin == SOFT_MIN_MARGIN
    assert label_preferences(rows, NumberJudge()).min_margin == 0.0
    # the labeler keeps its own rule: no match floor, pairs under the margin dropped
    summary = label_preferences(rows, SoftNumberJudge(0.03), min_margin=None)
    assert summary.rows_written == 0 and summary.dropped["low_margin"] == 1


# ------------------------------------------------------------------ audit agreement


def number_audit(sign=1):
    def audit(prompts, completions, **kwargs):
        assert "log_metric" not in kwargs and "log_extra" not in kwargs
        return [None if _number(c) is None else sign * _number(c) for c in completions]

    return audit


@pytest.mark.parametrize("tournament", ["round_robin", "circular", "knockout"])
def test_audit_agreement_is_one_for_an_agreeing_judge_and_zero_for_a_reversed_one(tournament):
    prompts, completions = reward_batch()
    agree, reverse = (
        call(RRMReward(NumberJudge(), tournament, num_generations=4, audit=number_audit(sign)), prompts, completions)[1]
        for sign in (1, -1)
    )
    if tournament == "knockout":  # first-round losers tie at 0: half points on those pairs
        assert 0.5 < agree["audit_agreement"] < 1.0 and 0.0 < reverse["audit_agreement"] < 0.5
        assert agree["audit_agreement"] + reverse["audit_agreement"] == pytest.approx(1.0)
    else:
        assert agree["audit_agreement"] == 1.0 and reverse["audit_agreement"] == 0.0


def test_audit_agreement_is_one_half_for_a_judge_that_knows_nothing():
    prompts, completions = reward_batch()
    _, metrics = call(RRMReward(NoiseJudge(), num_generations=4, audit=number_audit()), prompts, completions)
    assert metrics["audit_agreement"] == 0.5 and metrics["flat_group_rate"] == 1.0


def test_audit_reads_its_column_and_counts_pairs_by_hand():
    prompts, completions = reward_batch()
    labels = [3, 9, 1, 5, 7, 2, 8, 4, 1, 1, 6, 3]  # group 3 relabelled: the judge's 6, 6, 1, 3 reversed

    def audit(prompts, completions, label, **kwargs):
        return list(label)

    _, metrics = call(RRMReward(NumberJudge(), "round_robin", num_generations=4, audit=audit), prompts, completions,
                      label=labels)  # fmt: skip
    # groups 1, 2: 6 pairs agree each; group 3: the audit (1, 1, 6, 3) separates 5 pairs and
    # the judge's (2.5, 2.5, 0, 1) / 3 orders all 5 the other way -> 12 / 17
    assert metrics["audit_agreement"] == pytest.approx(12 / 17)


def test_audit_agreement_table():
    assert audit_agreement([[1.0, 0.0]], [[1, 0]]) == 1.0
    assert audit_agreement([[1.0, 0.0]], [[0, 1]]) == 0.0
    assert audit_agreement([[0.5, 0.5]], [[0, 1]]) == 0.5  # a judge tie counts half
    assert audit_agreement([[1.0, 0.0]], [[1, 1]]) is None  # the audit does not separate them
    assert audit_agreement([[None, 0.0, 1.0]], [[5, 1, math.nan]]) is None  # missing either side
    assert audit_agreement([[0.9, 0.1, 0.5], [0.2, 0.8]], [[1, 0, 0], [1, 0]]) == pytest.approx(2 / 3)


def test_audit_must_return_one_reward_per_completion():
    prompts, completions = reward_batch()
    reward = RRMReward(NumberJudge(), num_generations=4, audit=lambda prompts, completions, **kw: [1.0])
    with pytest.raises(ValueError, match="audit returned 1 rewards for 12 completions"):
        reward(prompts, completions)
    with pytest.raises(TypeError, match="audit=.* must be a reward function"):
        RRMReward(NumberJudge(), audit="checker")


# ------------------------------------------------------------------ judge time


class SleepyJudge(NumberJudge):
    def compare(self, matches):
        time.sleep(0.2)
        return super().compare(matches)


def test_judge_seconds_is_the_wall_time_of_the_judging_only():
    prompts, completions = reward_batch()

    def slow_audit(prompts, completions, **kwargs):
        time.sleep(1.0)
        return [0.0] * len(completions)

    _, metrics = call(RRMReward(SleepyJudge(), "knockout", num_generations=4, audit=slow_audit), prompts, completions)
    assert 0.4 <= metrics["judge_seconds"] < 1.0  # two rounds of 0.2 s; the audit's second is not judging
