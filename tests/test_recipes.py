"""The recipes end to end on the tiny model: train_judge -> grpo_rrm (judge / ground truth) -> dpo_rrm,
driven by recipes/proof.py, which also resumes and prints the table. The real-model tier
runs the GRPO recipe on SmolLM2 judged by its own base weights."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


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


def test_proof_pipeline_on_the_tiny_model_runs_every_recipe_and_resumes(tmp_path, tiny_dir):
    config = _proof_config(tmp_path, tiny_dir)
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
    truth = json.loads((out / "grpo_ground_truth_seed0" / "results.json").read_text())
    assert rrm["reward"] == "rrm" and truth["reward"] == "ground_truth"
    assert rrm["before"]["n"] == truth["after"]["n"] == 4
    assert [point["step"] for point in truth["curve"]] == [0, 1]
    assert any("rewards/rrm_reward/mean" in entry for entry in rrm["train_log"])
    assert any("rewards/constraints/mean" in entry for entry in truth["train_log"])
    # the judge audited against the checker: on training groups (logged where a group separates) and after training
    assert rrm["final_audit"]["prompts"] == 2 and rrm["final_audit"]["answers"] == 8
    assert 0 < rrm["judge_share"] < 1 and rrm["step_seconds"] > 0 and "judge_share" not in truth
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


def test_grpo_recipe_rejects_bad_settings_by_name():
    result = _run("recipes/grpo_rrm.py", "--reward", "labels", "--output_dir", "/tmp/unused")
    assert result.returncode != 0 and "--reward: invalid choice: 'labels'" in result.stderr
    result = _run("recipes/grpo_rrm.py", "--reward", "ground_truth", "--dataset", "x.jsonl", "--output_dir", "/tmp/unused")
    assert result.returncode != 0 and "dataset='x.jsonl'" in result.stderr


def test_grpo_recipe_verified_reward_logs_what_the_checker_settled(tmp_path, tiny_dir):
    out = tmp_path / "grpo"
    result = _run(
        "recipes/grpo_rrm.py", "--config", "recipes/configs/grpo_rrm_cpu.yaml", "--output_dir", str(out),
        "--policy_model", str(tiny_dir), "--reward", "verified", "--max_steps", "2", "--num_train_prompts", "8",
        "--per_device_train_batch_size", "8", "--max_completion_length", "6", "--judge_max_new_tokens", "4",
        "--eval_max_new_tokens", "4", "--eval_limit", "4", "--score_steps", "1", "--final_audit_prompts", "0",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    results = json.loads((out / "results.json").read_text())
    assert results["reward"] == "verified"
    logged = [e for e in results["train_log"] if "rrm_reward/verified_group_rate" in e]
    assert len(logged) == 2 and all(0 <= e["rrm_reward/verified_group_rate"] <= 1 for e in logged)
    # round robin, 2 groups of 4 a step: 6 matches for each group the checker did not settle
    assert all(e["rrm_reward/matches"] == 6 * round(2 * (1 - e["rrm_reward/verified_group_rate"])) for e in logged)
    assert 0 <= results["verified_group_rate"] <= 1 and "matches" in results
    assert "audit_agreement" not in results  # the checker is in the reward: no second call to audit it


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
    assert entry["rewards/rrm_reward/mean"] is not None  # the base judge gave verdicts
    audit = results["final_audit"]  # the judge against the checker on the trained policy's answers
    assert audit["prompts"] == 4 and audit["answers"] == 16 and 0 <= audit["checker_rate"] <= 1
    assert audit["agreement"] is None or 0 <= audit["agreement"] <= 1


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
