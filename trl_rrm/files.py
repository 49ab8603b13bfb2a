"""Writing files so that nothing a user asked for is lost: durable appends, atomic replaces."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def sidecar(path: Path, suffix: str) -> Path:
    """``<path><suffix>`` beside ``path`` (``out.jsonl`` -> ``out.jsonl.lock``)."""
    return path.with_name(path.name + suffix)


def write_durably(handle: Any, lines: Iterable[str]) -> None:
    """Appends ``lines``, flushes and fsyncs: on disk when this returns.

    Raises:
        OSError: as the write raised it, with the file's name (a full disk says which file).
    """
    try:
        handle.write("".join(lines))
        handle.flush()
        os.fsync(handle.fileno())
    except OSError as err:
        name(err, getattr(handle, "name", None))
        raise


def name(err: OSError, path: Any) -> None:
    """Gives ``err`` the file name ``path`` when it names none, so its message says which
    file (``[Errno 28] No space left on device: 'pairs.jsonl.rank0-of-1.jsonl'``)."""
    if err.filename is None and path is not None:
        err.filename = str(path)


def write_atomically(path: Path, lines: Iterable[str] | bytes) -> None:
    """Writes ``path`` through a temporary file and one rename: all or nothing."""
    tmp = sidecar(path, f".tmp-{os.getpid()}")
    try:
        if isinstance(lines, bytes):
            with tmp.open("wb") as f:
                f.write(lines)
                f.flush()
                os.fsync(f.fileno())
        else:
            with tmp.open("w", encoding="utf-8") as f:
                write_durably(f, lines)
        os.replace(tmp, path)
    except OSError as err:
        name(err, path)
        raise
    finally:
        tmp.unlink(missing_ok=True)


def check_writable(folder: Path) -> None:
    """Creates ``folder`` if needed and proves a file can be written there.

    Raises:
        OSError: the folder cannot be created or written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    probe = folder / f".trl_rrm-write-test-{os.getpid()}"
    try:
        probe.write_bytes(b"")
    finally:
        probe.unlink(missing_ok=True)
