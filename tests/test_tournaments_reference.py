"""``anchor="reference"`` through the driver (``Group.reference``) and the reward
(``reference_column``), with a number-comparing fake judge.

The driver's collectives import torch.distributed on first use (a few seconds), which is
why these tests live apart from the pure tournament tests.
"""

from __future__ import annotations

import pytest

from trl_rrm import RRMReward
from trl_rrm.driver import Group, run_tournament
from trl_rrm.tournaments import AnchorTournament, get_tournament
from trl_rrm.types import Verdict

TIE = Verdict(winner=None, tie=True)


class NumberJudge:
    """As ``trl_rrm.testing.NumberJudge`` (the larger number wins, equal is a tie), without
    importing that module's torch/transformers: counts calls and matches judged."""

    def __init__(self):
        self.calls = self.judged = 0

    def compare(self, matches):
        self.calls += 1
        self.judged += len(matches)
        out = []
        for match in matches:
            a, b = (int(r) for r in match.responses)
            out.append(TIE if a == b else Verdict(winner=int(b > a), rationale=f"{max(a, b)} is larger"))
        return out


def test_run_tournament_appends_the_reference():
    # The reference is the last completion of each schedule group (index 3 and 2 here),
    # compared with every completion once; scores and rationales cover the completions.
    groups = [Group("p", ("1", "7", "5"), reference="5"), Group("q", ("2", "9"), reference="4")]
    judge = NumberJudge()
    outcome = run_tournament(groups, judge, AnchorTournament(anchor="reference"))
    assert outcome.scores == [[0.0, 1.0, 0.5], [0.0, 1.0]]
    assert outcome.rationales == [["5 is larger", "7 is larger", None], ["4 is larger", "9 is larger"]]
    assert judge.calls == 1 and judge.judged == 5  # one match per completion, one round
    assert sorted((p.group, *sorted((p.first, p.second))) for p, _ in outcome.results) == [
        (0, 0, 3), (0, 1, 3), (0, 2, 3), (1, 0, 2), (1, 1, 2)
    ]
    with pytest.raises(ValueError, match=r"needs a reference response, but group 1 \(prompt 'q'\) has reference=None"):
        run_tournament([groups[0], Group("q", ("2", "9"))], NumberJudge(), AnchorTournament(anchor="reference"))
    # Other tournaments ignore the reference.
    plain = run_tournament(groups, NumberJudge(), get_tournament("round_robin"))
    assert plain.scores == [[0.0, 1.0, 0.5], [0.0, 1.0]]


def test_reward_reads_the_reference_column():
    prompts = ["a"] * 4 + ["b"] * 4
    completions = ["3", "9", "5", "6", "1", "2", "8", "2"]
    reference = ["5"] * 4 + ["2"] * 4
    reward = RRMReward(NumberJudge(), tournament=AnchorTournament(anchor="reference"))
    assert reward(prompts, completions, reference=reference) == [0.0, 1.0, 0.5, 1.0, 0.0, 0.5, 1.0, 0.5]
    assert reward.judge.judged == 8 and reward.judge.calls == 1
    renamed = RRMReward(NumberJudge(), tournament=AnchorTournament(anchor="reference"), reference_column="gold",
                        num_generations=4)
    assert renamed(prompts, completions, gold=reference) == [0.0, 1.0, 0.5, 1.0, 0.0, 0.5, 1.0, 0.5]
    with pytest.raises(ValueError, match="needs a reference response, but group 0"):
        reward(prompts, completions)
    # A tournament without a reference ignores the column.
    swiss = RRMReward(NumberJudge(), tournament="swiss", num_generations=4)
    rewards = swiss(prompts, completions, reference=reference)
    assert rewards == swiss.__class__(NumberJudge(), tournament="swiss", num_generations=4)(prompts, completions)
    assert rewards[1] == max(rewards[:4]) and rewards[6] == max(rewards[4:])
    assert all(r is not None for r in rewards)
