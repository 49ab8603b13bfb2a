"""The recipes' results, typed (issue 25 item 4): what the proof reads of each stage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trl_rrm.recipe_results import JudgeResults, PolicyResults, Satisfaction, read_results, write_results

ROOT = Path(__file__).resolve().parent.parent


def test_committed_results_read_as_typed_values():
    # files the recipes wrote before these types existed
    grpo = PolicyResults.from_dict(json.loads((ROOT / "docs/results/grpo_ground_truth_seed0.json").read_text()))
    assert grpo.reward == "ground_truth" and grpo.before.rate == 0.34375 and grpo.after.rate == 0.5
    assert grpo.curve == ((0, 0.34375), (5, 0.390625), (10, 0.5)) and grpo.train_seconds == 1492.8
    assert grpo.judge_share is None and grpo.final_audit_agreement is None  # not a judged run
    judge = JudgeResults.read(ROOT / "recipes/adapters/smollm2-constraint-judge")
    assert judge.held_out_pairs == {"test": 60, "test_types": 35}
    assert judge.metric("after", "test", "generate", "both_order_accuracy") == pytest.approx(0.5667, abs=1e-4)
    assert judge.metric("before", "test", "generate", "accuracy") is None  # the base was not measured there


def test_missing_and_malformed_values_read_as_none():
    policy = PolicyResults.from_dict({"before": {"rate": None}, "after": "oops", "final_audit": {"agreement": 0.75},
                                      "judge_share": True, "train_pairs": 12, "curve": [{"step": 1, "rate": None}]})  # fmt: skip
    assert policy.before is None and policy.after is None and policy.curve == ()
    assert policy.judge_share is None and policy.final_audit_agreement == 0.75 and policy.train_pairs == 12
    assert Satisfaction.from_dict({"rate": 0.5, "n": 8, "per_type": {"lowercase": 1.0}}) == Satisfaction(0.5, 8, {"lowercase": 1.0})
    assert JudgeResults.from_dict({"before": None, "after": {"test": {"direct": {"accuracy": 0.5}}}}).metric(
        "after", "test", "direct", "accuracy") == 0.5  # fmt: skip


def test_results_are_published_whole(tmp_path, monkeypatch):
    path = write_results(tmp_path / "stage", {"after": {"rate": 0.5, "n": 4}})
    assert read_results(tmp_path / "stage") == {"after": {"rate": 0.5, "n": 4}}
    assert sorted(p.name for p in path.parent.iterdir()) == ["results.json"]  # nothing partial left beside it

    def crash(*_):
        raise OSError("disk full")

    monkeypatch.setattr("trl_rrm.recipe_results.os.replace", crash)
    with pytest.raises(OSError, match="disk full"):
        write_results(tmp_path / "stage", {"after": {"rate": 0.9, "n": 4}})
    assert read_results(tmp_path / "stage") == {"after": {"rate": 0.5, "n": 4}}  # the finished stage is untouched
