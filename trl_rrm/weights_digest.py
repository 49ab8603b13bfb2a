"""A digest of the files a model or an adapter loads from: it changes whenever they do.

A labeling run records it for its judge (``judges.describe.settings``), so that
``--resume`` refuses a judge retrained, or another adapter copied, into the same folder:
the path alone says nothing about what is in it.

Every regular file under the folder counts (hidden ones aside: a ``.cache`` of download
metadata, a ``.git``), by its path inside the folder and

- up to ``EXACT_BYTES`` (configs, tokenizers, a LoRA adapter of a small model): its bytes;
- larger (a base model's shards, a large adapter): its size, its modification time and,
  for safetensors, its header (every tensor's name, dtype, shape and offsets). Hashing
  15 GB of shards would take minutes at every start; saving or copying a file gives it a
  new modification time. What this misses is a larger file rewritten in place with its
  size, header and modification time kept (set back on purpose).

A name that is no local path is looked up in the Hugging Face cache, offline: the
snapshot ``revision`` resolves to there (the model a judge loaded is in it). None where
nothing is found (a served model's name, an in-memory model).

Pure Python (``huggingface_hub`` is imported only to look a name up).
"""

from __future__ import annotations

import hashlib
import os
import struct
from pathlib import Path

EXACT_BYTES = 64 * 2**20  # files up to this size are hashed whole
_CHUNK = 2**20
_MAX_HEADER = 100 * 2**20  # a larger safetensors header is not one


def weights_digest(name: str | os.PathLike | None, revision: str | None = None) -> str | None:
    """``"sha256:<hex>"`` of the files at ``name`` (a local folder or file, else the
    cached hub snapshot of ``name`` at ``revision``); None when there are none."""
    if name is None:
        return None
    path = Path(name) if os.path.exists(name) else _cached_snapshot(os.fspath(name), revision)
    if path is None:
        return None
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file() and not _hidden(p, path))
    digest = hashlib.sha256()
    for file in files:
        digest.update(f"{file.relative_to(path) if file != path else file.name}\0".encode("utf-8", "surrogateescape"))
        digest.update(_file_digest(file))
    return f"sha256:{digest.hexdigest()}"


def _hidden(file: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in file.relative_to(root).parts)


def _file_digest(file: Path) -> bytes:
    """The file's bytes hashed (small), or its size, modification time and safetensors
    header (large)."""
    stat = file.stat()
    digest = hashlib.sha256()
    with file.open("rb") as f:
        if stat.st_size <= EXACT_BYTES:
            digest.update(b"bytes\0")
            while chunk := f.read(_CHUNK):
                digest.update(chunk)
        else:
            digest.update(f"size {stat.st_size} mtime {stat.st_mtime_ns}\0".encode())
            if file.suffix == ".safetensors":
                (length,) = struct.unpack("<Q", f.read(8))
                if length <= min(_MAX_HEADER, stat.st_size - 8):
                    digest.update(f.read(length))
    return digest.digest()


def _cached_snapshot(name: str, revision: str | None) -> Path | None:
    """The folder of the cached hub snapshot of ``name`` at ``revision`` (offline), or None."""
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(repo_id=name, revision=revision, local_files_only=True))
    except Exception:  # noqa: BLE001 - not a repo id, not cached, no huggingface_hub: nothing to read
        return None


__all__ = ["EXACT_BYTES", "weights_digest"]
