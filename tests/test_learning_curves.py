"""The proof's plot and summaries: mean curves over seeds, the PNG, step summaries, the
held-out rows an audit reads, and the proof table's spread column."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from trl_rrm.evaluation import plot_learning_curves
from trl_rrm.evaluation.learning_curves import mean_curve

from tasks import get_task

RECIPES = Path(__file__).resolve().parent.parent / "recipes"


def test_mean_curve_keeps_the_steps_every_seed_has():
    curves = [[(0, 0.2), (5, 0.4), (10, 0.6)], [(0, 0.4), (10, 0.8)]]
    assert mean_curve(curves) == [(0, pytest.approx(0.3), 0.2, 0.4), (10, pytest.approx(0.7), 0.6, 0.8)]
    assert mean_curve([]) == []


def test_plot_learning_curves_writes_a_png_and_refuses_nothing_to_draw(tmp_path):
    pytest.importorskip("matplotlib")
    path = plot_learning_curves({"truth": [[(0, 0.3), (5, 0.5)], [(0, 0.3), (5, 0.4)]], "judge": [[(0, 0.3), (5, 0.35)]]},
                                tmp_path / "c.png", baseline=0.3)  # fmt: skip
    assert path.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="no learning curve"):
        plot_learning_curves({"truth": [[]]}, tmp_path / "empty.png")
    assert not (tmp_path / "empty.png").exists()


def test_held_out_rows_are_the_scored_prompts_with_their_labels():
    task = get_task("constraints")
    rows = task.held_out_rows(3)
    assert len(rows) == 3 and all(row["prompt"][0]["role"] == "user" for row in rows)
    labels = [r["constraints"] for r in rows]
    # the first three held-out prompts (a fixed order): at most 8 words; the word 'friend'; end with a question
    types = [json.loads(label)["constraints"][0]["type"] for label in labels]
    assert types == ["max_words", "include_word", "end_question"]
    # "x" is one word without 'friend' or '?': it meets the first only
    assert task.reward(completions=["x"] * 3, constraints=labels) == [1.0, 0.0, 0.0]
    meets = ["Airports are busy.", "A friend saves energy.", "Is the ocean deep?"]
    assert task.reward(completions=meets, constraints=labels) == [1.0, 1.0, 1.0]
    assert task.reward(completions=["one two three four five six seven eight nine"], constraints=labels[:1]) == [0.0]
    assert "constraints" not in task.train_rows(4, seed=0, labels=False)[0]
    assert "constraints" in task.train_rows(4, seed=0, labels=True)[0]
    sums = get_task("small_sums").held_out_rows(2)
    assert len(sums) == 2 and {"prompt", "answer"} <= sums[0].keys()


@pytest.fixture()
def recipes_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(RECIPES))
    yield
    for name in ("grpo_rrm", "proof"):
        sys.modules.pop(name, None)


def test_step_summary_means_judge_share_and_audit(recipes_on_path):
    from grpo_rrm import step_summary

    log = [{"step_time": 10.0, "rrm_reward/judge_seconds": 4.0, "rrm_reward/audit_agreement": 0.5},
           {"step_time": 20.0, "rrm_reward/judge_seconds": 11.0}]  # fmt: skip
    assert step_summary(log) == {"step_seconds": 15.0, "judge_share": 0.5, "audit_agreement": 0.5}
    assert step_summary([{"step_time": 3.0}]) == {"step_seconds": 3.0}
    # reward: verified, two steps: judged matches and the share of groups the checker settled, averaged
    verified = [{"step_time": 2.0, "rrm_reward/matches": 6.0, "rrm_reward/verified_group_rate": 0.5},
                {"step_time": 4.0, "rrm_reward/matches": 12.0, "rrm_reward/verified_group_rate": 0.0}]  # fmt: skip
    assert step_summary(verified) == {"step_seconds": 3.0, "matches": 9.0, "verified_group_rate": 0.25}


def test_grpo_recipe_attaches_labels_only_for_the_checker_or_the_audit(recipes_on_path):
    from grpo_rrm import RRMGRPOConfig, build_dataset

    audited = build_dataset(RRMGRPOConfig(num_train_prompts=4), seed=0)
    assert "constraints" in audited.column_names
    blind = build_dataset(RRMGRPOConfig(num_train_prompts=4, audit=False), seed=0)
    assert blind.column_names == ["prompt"]
    with pytest.raises(ValueError, match="final_audit_prompts=-1"):
        RRMGRPOConfig(final_audit_prompts=-1)


def test_proof_table_has_a_spread_column_and_the_gain_share(recipes_on_path):
    from proof import table_rows, to_markdown

    def row(before, truth, judged):
        return {"grpo_ground_truth": {"before": {"rate": before}, "after": {"rate": truth}},
                "grpo_rrm": {"after": {"rate": judged}, "judge_share": 0.4}}  # fmt: skip

    lines = table_rows({0: row(0.3, 0.5, 0.4), 1: row(0.3, 0.4, 0.3)})
    share = next(line for line in lines if line["quantity"].startswith("RRMReward gain as a share"))
    assert share["values"] == {0: pytest.approx(0.5), 1: pytest.approx(0.0)}
    text = to_markdown(lines, [0, 1])
    assert "| quantity | seed 0 | seed 1 | mean | sd |" in text
    assert "| GRPO + RRMReward: judge share of a step | 0.400 | 0.400 | 0.400 | 0.000 |" in text
    assert json.dumps(lines)  # plain data


def test_proof_shows_every_stage_progress_bar(recipes_on_path):
    from proof import _progress

    assert _progress("labeling:  33%|███▎      | 8/24 [01:10<02:20, 8.78s/prompt, rows=13]")  # DPO's labeling
    assert _progress(" 50%|█████     | 5/10 [03:26<03:25, 41.05s/it]")
    assert _progress("INFO grpo_rrm: step 5: held-out score 0.422")
    assert not _progress("some warning text")
