"""``trl_rrm.weights_digest``: what a labeling run's fingerprint knows of the judge's weight
files (issue 46 item 3). Small files are hashed whole; large ones by size, modification
time and safetensors header."""

from __future__ import annotations

import json
import os
import shutil
import struct

import pytest

from trl_rrm import weights_digest as module
from trl_rrm.judges.describe import settings
from trl_rrm.judges.hf.config import HFJudgeConfig
from trl_rrm.weights_digest import weights_digest


def _safetensors(path, values: bytes, shape=(2,)):
    header = json.dumps({"w": {"dtype": "U8", "shape": list(shape), "data_offsets": [0, len(values)]}}).encode()
    path.write_bytes(struct.pack("<Q", len(header)) + header + values)


@pytest.fixture()
def folder(tmp_path):
    root = tmp_path / "adapter"
    (root / "sub").mkdir(parents=True)
    _safetensors(root / "adapter_model.safetensors", b"\x01\x02")
    (root / "adapter_config.json").write_text('{"r": 4}')
    (root / "sub" / "tokenizer.json").write_text("{}")
    return root


def test_small_files_are_hashed_whole(folder, tmp_path):
    digest = weights_digest(folder)
    assert digest.startswith("sha256:") and len(digest) == 7 + 64
    assert weights_digest(shutil.copytree(folder, tmp_path / "copy")) == digest  # contents, not paths or times
    os.utime(folder / "adapter_config.json", ns=(1, 1))
    (folder / ".cache").mkdir()
    (folder / ".cache" / "download.metadata").write_text("etag")  # hidden: left out
    assert weights_digest(folder) == digest
    changes = {
        "a weight": lambda: _safetensors(folder / "adapter_model.safetensors", b"\x01\x03"),
        "a config": lambda: (folder / "adapter_config.json").write_text('{"r": 8}'),
        "a file in a subfolder": lambda: (folder / "sub" / "tokenizer.json").write_text('{"a": 1}'),
        "a new file": lambda: (folder / "extra.bin").write_bytes(b""),
        "a renamed file": lambda: (folder / "extra.bin").rename(folder / "other.bin"),
    }
    seen = {digest}
    for name, change in changes.items():
        change()
        assert weights_digest(folder) not in seen, name
        seen.add(weights_digest(folder))
    # one file is digested alone; a name that is neither a path nor a cached hub model: None
    assert weights_digest(folder / "adapter_config.json").startswith("sha256:")
    assert weights_digest(tmp_path / "missing") is None and weights_digest("no-such/model-xyz") is None
    assert weights_digest(None) is None


def test_large_files_by_size_time_and_header(folder, monkeypatch):
    monkeypatch.setattr(module, "EXACT_BYTES", 0)  # every file is "large" here
    weights = folder / "adapter_model.safetensors"
    os.utime(weights, ns=(10**18, 10**18))
    digest = weights_digest(folder)
    assert weights_digest(folder) == digest
    _safetensors(weights, b"\x01\x03")  # same size and header, rewritten: a new time
    assert weights_digest(folder) != digest
    os.utime(weights, ns=(10**18, 10**18))  # the time set back on purpose: what this cannot see
    assert weights_digest(folder) == digest
    _safetensors(weights, b"\x01", shape=(1,))  # another header
    os.utime(weights, ns=(10**18, 10**18))
    assert weights_digest(folder) != digest


def test_a_judge_description_holds_its_weights_digests(tiny_dir, tiny_adapter):
    class Judge:
        def __init__(self, **load):
            self.config = HFJudgeConfig(**load)

    described = settings(Judge(model=str(tiny_dir), adapter=str(tiny_adapter)))
    assert described["weights"] == {"model": weights_digest(tiny_dir), "adapter": weights_digest(tiny_adapter)}
    assert None not in described["weights"].values()
    assert settings(Judge(model="<in-memory>"))["weights"] == {"model": None, "adapter": None}
