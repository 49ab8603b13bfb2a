"""Every example runs: the fast ones on tiny models, the SmolLM2 ones in the model tier."""

from __future__ import annotations

import json
import os
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


@pytest.mark.slow
def test_grpo_with_rrm_reward_tiny(tmp_path):
    out = run("grpo_with_rrm_reward.py", "--tiny", "--steps", "2", "--output-dir", str(tmp_path), cwd=tmp_path)
    assert "mean step" in out and "judging" in out


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


def test_pointwise_judge_tiny():
    out = run("pointwise_judge.py", "--tiny")
    assert "rewards: [" in out and "judged: 4.0 grades" in out
