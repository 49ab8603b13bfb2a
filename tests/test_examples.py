"""Every example runs: the fast ones on tiny models, the SmolLM2 ones in the model tier."""

from __future__ import annotations

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


@pytest.mark.model
def test_judge_pairs_on_smollm2():
    out = run("judge_pairs.py", "--pairs", "2", "--votes", "1", "--max-new-tokens", "8")
    assert "matches/s" in out
