"""The recipes. Slow tier: end to end on the tiny model, train_judge -> grpo_rrm (the one GRPO
training of the tiny tier besides tests/test_async_grpo.py) -> dpo_rrm, driven by
recipes/proof.py, which also resumes and prints the table. Fast tier: the GRPO recipe's
flags and the reward it hands the trainer for each ``reward`` setting, launched in this
process with a stand-in trainer. The real-model tier runs the GRPO recipe on SmolLM2
judged by its own base weights."""

from __future__ import annotations

import json
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _write_yaml(path: Path, lines: dict) -> Path:
    path.write_text("".join(f"{k}: {json.dumps(v)}\n" for k, v in lines.items()))
    return path


def _proof_config(tmp_path: Path, tiny_dir: Path) -> Path:
    tiny = str(tiny_dir)
    judge = _write_yaml(
        tmp_path / "judge.yaml",
        {
            "judge_base": tiny, "task": "constraints", "per_type": 1, "sampled_per_type": 1, "held_out_per_type": 1, "attack_share": 0.0,
            "samples_per_problem": 2, "sample_max_new_tokens": 6, "sft_steps": 2, "sft_batch_size": 4, "lora_layers": 1, "lora_r": 2, "eval_max_new_tokens": 4,
            "max_steps": 1, "per_device_train_batch_size": 4, "num_generations": 2, "max_completion_length": 8,
            "learning_rate": 1e-4, "use_cpu": True, "report_to": "none", "save_strategy": "no", "output_dir": "unused",
            "activation_checkpointing": False,
        },
    )  # fmt: skip
    grpo_args = ["--policy_model", tiny, "--num_train_prompts", "8", "--max_steps", "1", "--per_device_train_batch_size", "4",
                 "--num_generations", "4", "--max_completion_length", "6", "--judge_max_new_tokens", "4",
                 "--eval_max_new_tokens", "4", "--eval_limit", "4", "--score_steps", "1", "--final_audit_prompts", "2"]  # fmt: skip
    dpo_args = ["--policy_model", tiny, "--judge_model", tiny, "--num_prompts", "4", "--num_candidates", "3", "--max_steps", "1",
                "--policy_max_new_tokens", "6", "--judge_verdict", "direct", "--max_length", "128", "--eval_limit", "4",
                "--eval_max_new_tokens", "4"]  # fmt: skip
    return _write_yaml(
        tmp_path / "proof.yaml",
        {
            "output_dir": str(tmp_path / "proof"), "seeds": [0], "train_judge": True, "judge_config": str(judge),
            "judge_held_out_per_type": 1, "grpo_args": grpo_args, "dpo_args": dpo_args,
        },
    )  # fmt: skip


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True, timeout=900)


@pytest.mark.slow
def test_proof_pipeline_on_the_tiny_model_runs_every_recipe_and_resumes(tmp_path, tiny_dir):
    config = _proof_config(tmp_path, tiny_dir)
    # one GRPO training: the ground-truth arm is the same recipe with the checker as reward
    # (its wiring: test_grpo_recipe_hands_the_trainer_the_reward_it_was_asked_for)
    config.write_text(config.read_text() + 'stages: ["judge", "grpo_rrm", "dpo"]\n')
    first = _run("recipes/proof.py", "--config", str(config))
    assert first.returncode == 0, first.stderr[-4000:]
    out = tmp_path / "proof"
    judge = json.loads((out / "judge_seed0" / "results.json").read_text())
    assert (out / "judge_seed0" / "adapter_model.safetensors").is_file()
    assert judge["train_pairs"] >= 12 and judge["held_out_pairs"] == {"test": 12, "test_types": 7}
    assert set(judge["after"]["test_types"]) == {"direct"}  # the proof's judge_verdicts
    for mode in ("direct",):
        result = judge["after"]["test_types"][mode]
        assert {"accuracy", "both_order_accuracy", "order_agreement", "tie_rate", "failed_rate"} <= result.keys()
        assert set(result["by_type"]) == {"capitals", "min_words", "avoid_word", "end_with", "end_exclamation",
                                          "no_digits", "lines"}  # stratified: every held-out type  # fmt: skip
    assert [h["step"] for h in judge["warm_start"]] == [2]
    assert (out / "judge_seed0" / "held_out_pairs.jsonl").is_file()
    rrm = json.loads((out / "grpo_rrm_seed0" / "results.json").read_text())
    assert not (out / "grpo_ground_truth_seed0").exists()
    assert rrm["reward"] == "rrm" and rrm["before"]["n"] == rrm["after"]["n"] == 4
    assert [point["step"] for point in rrm["curve"]] == [0, 1]  # untrained, then score_steps [1] = the last step
    # the judge is the trained adapter on the policy's own base (the proof passes --judge_adapter), inside a real
    # GRPOTrainer: batch 4 of 4 generations is one group a step, round robin (the CPU YAML) 6 matches, each read
    # by `direct` (a probability every time), so the group's round-robin rewards sum to 6 matches / 3 each = 2
    (entry,) = rrm["train_log"]
    assert entry["rrm_reward/matches"] == 6 and entry["rrm_reward/failed_match_rate"] == 0
    assert entry["rrm_reward/none_reward_rate"] == 0 and entry["rewards/rrm_reward/mean"] == pytest.approx(0.5)
    # the step summary: means over the logged steps (one here)
    assert rrm["step_seconds"] == entry["step_time"] and rrm["matches"] == 6
    assert rrm["judge_share"] == pytest.approx(entry["rrm_reward/judge_seconds"] / entry["step_time"])
    # the judge audited against the checker after training: 2 held-out prompts x 4 answers, 2 groups x 6 matches;
    # the recipe's agreement (its rewards against a second call of the checker) is the reward's own audit metric
    audit = rrm["final_audit"]
    assert (audit["prompts"], audit["answers"], audit["matches"]) == (2, 8, 12)
    assert audit["agreement"] == audit.get("audit_agreement") and (audit["checker_rate"] * 8).is_integer()
    assert (out / "learning_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    dpo = json.loads((out / "dpo_seed0" / "results.json").read_text())
    assert dpo["after"]["n"] == 4 and (out / "dpo_seed0" / "preferences.jsonl").is_file()
    report = json.loads((out / "proof.json").read_text())
    quantities = [row["quantity"] for row in report["rows"]]
    assert "policy satisfaction, GRPO + RRMReward (no labels)" in quantities
    assert "policy satisfaction, DPO on judge-labelled pairs" in quantities
    assert "judge both-order accuracy (direct), trained adapter, unseen constraint types" in quantities
    assert "GRPO + RRMReward: judge share of a step" in quantities
    assert "| quantity | seed 0 | mean |" in first.stdout

    # A second run reuses every finished stage (nothing is trained again) and prints the same table.
    stamps = {p: p.stat().st_mtime for p in out.glob("*/results.json")}
    second = _run("recipes/proof.py", "--config", str(config))
    assert second.returncode == 0, second.stderr[-3000:]
    assert {p: p.stat().st_mtime for p in out.glob("*/results.json")} == stamps
    assert second.stdout == first.stdout


def _launch_grpo_recipe(monkeypatch, *flags: str) -> None:
    """``python recipes/grpo_rrm.py FLAGS`` in this process: its ``__main__`` block, the parser
    reading flags and YAML as a user's launch does, its folder first on the path as a script's is."""
    monkeypatch.chdir(REPO)
    monkeypatch.syspath_prepend(str(REPO / "recipes"))
    monkeypatch.setattr(sys, "argv", ["grpo_rrm.py", *flags])
    runpy.run_path(str(REPO / "recipes" / "grpo_rrm.py"), run_name="__main__")


def test_grpo_recipe_rejects_bad_settings_by_name(monkeypatch, capsys):
    with pytest.raises(SystemExit) as exit_:
        _launch_grpo_recipe(monkeypatch, "--reward", "labels", "--output_dir", "/tmp/unused")
    assert exit_.value.code == 2 and "--reward: invalid choice: 'labels'" in capsys.readouterr().err
    with pytest.raises(ValueError, match=r"reward='ground_truth' needs a built-in dataset \(got dataset='x.jsonl'\)"):
        _launch_grpo_recipe(monkeypatch, "--reward", "ground_truth", "--dataset", "x.jsonl", "--output_dir", "/tmp/unused")


class _TrainerBuilt(Exception):
    """Raised by the stand-in GRPOTrainer: the recipe got as far as building its trainer."""


def _reward_of_the_recipe(monkeypatch, tmp_path, tiny_dir, reward: str) -> tuple:
    """The reward function and training set the GRPO recipe hands ``GRPOTrainer`` for ``--reward reward``
    (CPU YAML, the tiny policy, its base as judge in one order a match); nothing trains (the slow tier's
    proof run does)."""
    import trl

    built = {}

    def stand_in(**kwargs):
        built.update(kwargs)
        raise _TrainerBuilt

    monkeypatch.setattr(trl, "GRPOTrainer", stand_in)
    with pytest.raises(_TrainerBuilt):
        _launch_grpo_recipe(
            monkeypatch, "--config", "recipes/configs/grpo_rrm_cpu.yaml", "--output_dir", str(tmp_path / reward),
            "--policy_model", str(tiny_dir), "--reward", reward, "--num_train_prompts", "8", "--eval_limit", "2",
            "--eval_max_new_tokens", "2", "--judge_max_new_tokens", "4", "--judge_both_orders", "false",
        )  # fmt: skip
    return built["reward_funcs"], built["train_dataset"]


# Two groups of 4 answers to the first two training prompts (seed 0): "include a number written in
# digits", then "end your answer with a question". Every answer of the first meets its constraint
# (1 1 1 1: a flat group the checker cannot settle); the checker separates the second (1 0 1 0).
ANSWERS = ["Exams take 3 hours.", "I sat 2 exams.", "Exam 1 is hard.", "Exams end at 5.",
           "Is it red?", "It is red.", "Is it sweet?", "It is sweet."]  # fmt: skip


def test_grpo_recipe_hands_the_trainer_the_reward_it_was_asked_for(monkeypatch, tmp_path, tiny_dir):
    checker, data = _reward_of_the_recipe(monkeypatch, tmp_path, tiny_dir, "ground_truth")
    assert checker.__name__ == "constraints"  # TRL logs rewards/constraints/mean
    assert data.column_names == ["prompt", "constraints"]
    rows = data.select(range(2))
    assert [json.loads(c)["constraints"][0]["type"] for c in rows["constraints"]] == ["include_number", "end_question"]
    prompts = [p for p in rows["prompt"] for _ in range(4)]
    labels = [c for c in rows["constraints"] for _ in range(4)]
    truth = checker(prompts=prompts, completions=ANSWERS, constraints=labels)
    assert truth == [1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 1.0, 0.0]

    # verified: the judge ranks group 0 (round robin, the YAML: 6 matches), the checker settles group 1
    verified, data = _reward_of_the_recipe(monkeypatch, tmp_path, tiny_dir, "verified")
    assert data.column_names == ["prompt", "constraints"]
    logged = {}
    rewards = verified(prompts=prompts, completions=ANSWERS, constraints=labels, log_metric=logged.__setitem__)
    assert rewards[4:] == truth[4:]
    assert sum(rewards[:4]) == pytest.approx(2.0)  # 6 matches' points over 3 matches each, every verdict a probability
    assert logged["rrm_reward/verified_group_rate"] == 0.5 and logged["rrm_reward/matches"] == 6
    assert "rrm_reward/audit_agreement" not in logged  # the checker is in the reward: no second call to audit it

    # rrm: the judge ranks both groups; the checker only audits, through the label column the judge never reads
    judged, data = _reward_of_the_recipe(monkeypatch, tmp_path, tiny_dir, "rrm")
    assert data.column_names == ["prompt", "constraints"]
    logged = {}
    rewards = judged(prompts=prompts, completions=ANSWERS, constraints=labels, log_metric=logged.__setitem__)
    assert logged["rrm_reward/matches"] == 12 and "rrm_reward/verified_group_rate" not in logged
    assert sum(rewards[:4]) == pytest.approx(2.0) and sum(rewards[4:]) == pytest.approx(2.0)
    # agreement, by hand: the pairs the checker separates are group 1's (4, 5), (4, 7), (6, 5), (6, 7), the first
    # member better in each; 1 point when the judge's rewards order them so, 0.5 for a tie, 0 when reversed
    points = [1.0 if rewards[i] > rewards[j] else 0.5 if rewards[i] == rewards[j] else 0.0
              for i, j in [(4, 5), (4, 7), (6, 5), (6, 7)]]  # fmt: skip
    assert logged["rrm_reward/audit_agreement"] == pytest.approx(sum(points) / 4)
    # the untrained tiny judge (one order a match, seeded; greedy) agrees on two pairs and reverses two: no tie
    # hides in the hand count (with both orders its verdicts cancel under the noise floor: every group flat)
    assert points == [1.0, 0.0, 1.0, 0.0]


@pytest.mark.slow
@pytest.mark.model
def test_grpo_recipe_on_smollm2_judged_by_its_own_base(tmp_path):
    out = tmp_path / "grpo"
    result = _run(
        "recipes/grpo_rrm.py", "--config", "recipes/configs/grpo_rrm_cpu.yaml", "--output_dir", str(out),
        "--max_steps", "1", "--num_train_prompts", "4", "--per_device_train_batch_size", "8", "--eval_limit", "8",
        "--final_audit_prompts", "4",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    results = json.loads((out / "results.json").read_text())
    assert results["before"]["n"] == results["after"]["n"] == 8
    (entry,) = [e for e in results["train_log"] if "rewards/rrm_reward/mean" in e]
    # round robin over 2 groups of 4 (batch 8, 4 generations): 12 matches, each read by `direct`
    assert entry["rrm_reward/matches"] == 12 and entry["rrm_reward/failed_match_rate"] == 0
    assert entry["rrm_reward/none_reward_rate"] == 0 and entry["rrm_reward/judge_tokens"] == 0
    # every match read: each group's round-robin rewards sum to 6 matches / 3 each = 2, a mean of 0.5
    assert entry["rewards/rrm_reward/mean"] == pytest.approx(0.5)
    audit = results["final_audit"]  # the judge against the checker on the trained policy's answers
    assert (audit["prompts"], audit["answers"], audit["matches"], audit["failed_match_rate"]) == (4, 16, 24, 0)
    # the checker's rate is a count of the 16 answers; the recipe's agreement (its rewards against a second call
    # of the checker) is the reward's own audit metric on the same answers (absent, like it, when no group separates)
    assert (audit["checker_rate"] * 16).is_integer()
    assert audit["agreement"] == audit.get("audit_agreement")
    if audit["checker_rate"] in (0, 1):
        assert audit["agreement"] is None


@pytest.mark.slow
def test_proof_judges_with_the_untrained_base_when_no_adapter_is_given(tmp_path, tiny_dir):
    config = _proof_config(tmp_path, tiny_dir)
    text = config.read_text().replace('"train_judge": true', '"train_judge": false')
    config.write_text(text.replace("train_judge: true", "train_judge: false") + 'stages: ["judge"]\n')
    result = _run("recipes/proof.py", "--config", str(config))
    assert result.returncode == 0, result.stderr[-4000:]
    judge = json.loads((tmp_path / "proof" / "judge_eval" / "results.json").read_text())
    assert judge["adapter"] is None and judge["after"] is None
    assert judge["held_out_pairs"] == {"test": 12, "test_types": 7}
    assert "judge both-order accuracy (direct), base (untrained), unseen topics" in result.stdout
    assert "trained adapter" not in result.stdout
