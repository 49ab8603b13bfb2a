"""Every example runs: the fast ones on tiny models, the SmolLM2 ones in the model tier."""

from __future__ import annotations

import json
import os
import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(script: str, *args: str, cwd: Path | None = None) -> str:
    env = dict(os.environ, OMP_NUM_THREADS="2")
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args], capture_output=True, text=True, timeout=900, env=env, cwd=cwd
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_parse_and_plug():
    out = run("parse_and_plug.py")
    assert "rrm, decided                 -> 0" in out and "rrm, hedged                  -> None" in out
    assert "[0, None]" in out


@pytest.mark.slow
def test_shared_base_judge_tiny():
    assert "policy adapter active and trainable again; judge adapter frozen: True" in run("shared_base_judge.py")


def test_grpo_with_rrm_reward_tiny(tmp_path, monkeypatch, capsys):
    """The example in this process with a stand-in GRPOTrainer that runs its callbacks and calls its
    reward once a step on one group of fixed answers: the example's judge, reward, timer and report.
    GRPO itself on the tiny model runs once in the slow tier (tests/test_recipes.py's proof run)."""
    import trl

    answers = ["4", "5", "It is 4.", "four"]

    class OneGroupTrainer:
        def __init__(self, *, model, reward_funcs, args, train_dataset, processing_class, callbacks):
            self.reward, self.args, self.data, self.callbacks = reward_funcs, args, train_dataset, callbacks

        def train(self):
            for step in range(self.args.max_steps):
                for callback in self.callbacks:
                    callback.on_step_begin(self.args, None, None)
                prompt = self.data[step]["prompt"]
                rewards = self.reward(prompts=[prompt] * len(answers), completions=answers)
                assert len(rewards) == len(answers)
                for callback in self.callbacks:
                    callback.on_step_end(self.args, None, None)

    monkeypatch.setattr(trl, "GRPOTrainer", OneGroupTrainer)
    argv = ["grpo_with_rrm_reward.py", "--tiny", "--steps", "2", "--judge-tokens", "8", "--output-dir", str(tmp_path)]
    monkeypatch.setattr(sys, "argv", argv)
    runpy.run_path(str(EXAMPLES / "grpo_with_rrm_reward.py"), run_name="__main__")
    out = capsys.readouterr().out
    report = r"^mean step \d+\.\d\ds: judging \d+\.\d\ds \(\d+%\), generation \+ loss \+ backward"
    assert re.search(report, out, re.MULTILINE)
    # the untrained tiny judge never writes a verdict and never stops early: each of a knockout's first-round
    # matches (2 for 4 answers) is read in both orders (`likelihood`) after 8 tokens, 2 x 2 x 8 = 32 tokens;
    # its two orders cancel under the noise floor, so both matches are ties and no final is played
    assert "last step: 2 matches, 32 judge tokens, parse failures 100%" in out


@pytest.mark.slow
def test_remote_judge_on_a_loopback_server():
    pytest.importorskip("fastapi", reason="transformers serve needs the serving extra")
    out = run("remote_judge.py", "--launch", "--tiny")
    result = json.loads(out[out.index("{"):])
    assert len(result["rewards"]) == 8 and result["metrics"]["rrm_reward/matches"] == 12.0
    assert result["judge_requests"]["requests"] > 0 and result["judge_requests"]["failed_requests"] == 0


@pytest.mark.slow
def test_evaluate_judge_tiny(tmp_path):
    out = run("evaluate_judge.py", "--tiny", "--pairs", "4", "--prompts", "2", "--budgets", "4", "8", "--votes", "1", "2",
              "--output-dir", str(tmp_path))
    assert "## Pairwise evaluation" in out and "| oracle |" in out and "Kendall tau" in out
    assert (tmp_path / "pairwise" / "curves.png").stat().st_size > 0


@pytest.mark.model
def test_judge_pairs_on_smollm2():
    out = run("judge_pairs.py", "--pairs", "2", "--votes", "1", "--max-new-tokens", "8")
    assert "matches/s" in out


def test_pointwise_judge_tiny(monkeypatch, capsys):
    # in this process (runpy, as `python examples/pointwise_judge.py --tiny`): a subprocess spent 5 s importing torch
    monkeypatch.setattr(sys, "argv", ["pointwise_judge.py", "--tiny"])
    runpy.run_path(str(EXAMPLES / "pointwise_judge.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "rewards: [" in out and "judged: 4.0 grades" in out
