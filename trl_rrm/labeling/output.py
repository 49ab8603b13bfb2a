"""The output of a labeling run: written incrementally, published atomically, never lost.

Promises, in the order a run keeps them:

1. Nothing is touched before the input is validated and the judge is loaded (the caller).
2. One writer: the run takes ``<output>.lock`` (a second run on the same output stops with
   an error naming the holder: pid, host, start time).
3. No silent replacement: an existing ``<output>`` is replaced only with ``overwrite``;
   work left by an interrupted run is continued only with ``resume`` and only when its
   state matches this run (a fingerprint of the input rows and the settings in
   ``<output>.state.json``, the contents of the judge's weight files included; a state
   of an older ``STATE_VERSION`` is refused); otherwise a clear error, and nothing changes.
4. Incremental and crash-safe: each rank appends a chunk's rows to its work file
   ``<output>.rank<r>-of-<w>.jsonl``, fsyncs, and only then records the chunk in
   ``...progress.jsonl``; a resumed run drops rows of unrecorded chunks (even after
   ``kill -9``) and continues with the chunks not recorded.
5. Atomic publication: rank 0 merges the work files in input order into a temporary file,
   fsyncs it and renames it over ``<output>``; then the work files and the state go.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import socket
import time
from pathlib import Path
from typing import Any

from ..files import sidecar, write_atomically

# The state file's layout and what its fingerprint covers. 2: the judge's weight files'
# contents (``weights_digest``), not only their paths; a state without it is never resumed.
STATE_VERSION = 2


class OutputError(ValueError):
    """The output cannot be written as asked (exists, locked, not resumable, not writable)."""


def check_output_path(data: Any, path: Path) -> None:
    """Raises ``OutputError`` for an output this run must not write, before anything runs:

    - the input file itself (the same path, a symlink to it, a hard link): the pairs
      would replace the prompts;
    - a name whose suffix is not ``.jsonl``: the output is JSON Lines, and a
      ``pairs.parquet`` that holds JSON Lines would mislead every reader;
    - a symbolic link: publishing renames a new file over the path, which would replace
      the link and leave its target with the old content;
    - an existing directory, which publication (after all the judging) could not replace.
    """
    if isinstance(data, (str, os.PathLike)) and Path(data).exists():  # not rows, a dataset, builtin: or a hub id
        source = Path(data)
        if path.resolve() == source.resolve() or (path.exists() and os.path.samefile(path, source)):
            raise OutputError(f"output={str(path)!r} is the input file {str(source)!r}: the pairs would replace the "
                              "prompts; write them to another file")  # fmt: skip
    if path.suffix != ".jsonl":
        raise OutputError(f"output={str(path)!r}: labeling writes JSON Lines, so the name must end in .jsonl "
                          "(convert afterwards, e.g. datasets.Dataset.from_json(path).to_parquet(...))")  # fmt: skip
    if path.is_symlink():
        raise OutputError(f"output={str(path)!r} is a symbolic link (to {os.readlink(path)!r}); publishing would "
                          "replace the link, not its target: name the target itself, or another file")  # fmt: skip
    if path.is_dir():
        raise OutputError(f"output={str(path)!r} is a directory; name a .jsonl file")


def work_file(path: Path, rank: int, size: int) -> Path:
    return sidecar(path, f".rank{rank}-of-{size}.jsonl")


def progress_file(path: Path, rank: int, size: int) -> Path:
    return sidecar(path, f".rank{rank}-of-{size}.progress.jsonl")


def fingerprint(parts: dict[str, Any]) -> str:
    """A stable digest of what a run's output depends on."""
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=repr)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def read_jsonl(path: Path) -> list[Any]:
    """Complete, parseable lines of a jsonl file (a torn last line is ignored)."""
    if not path.exists():
        return []
    data = path.read_bytes()
    out = []
    for line in data[: data.rfind(b"\n") + 1].splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # torn or garbled line: its chunk is not in the progress file anyway
    return out


class OutputLock:
    """``<output>.lock`` held by one run; ``<output>.lock.owner`` says who holds it."""

    def __init__(self, path: Path) -> None:
        from filelock import FileLock

        self.lock = FileLock(str(sidecar(path, ".lock")))
        self.owner = sidecar(path, ".lock.owner")
        self.path = path

    def acquire(self) -> None:
        from filelock import Timeout

        try:
            self.lock.acquire(timeout=0)
        except Timeout:
            try:
                who = json.loads(self.owner.read_text())
                holder = f"pid {who['pid']} of {who['user']} on {who['host']}, started {who['started']}"
            except (OSError, ValueError, KeyError):
                holder = "another process"
            raise OutputError(
                f"output={str(self.path)!r} is being written by {holder} (lock {self.lock.lock_file}); "
                "wait for it, or use another output"
            ) from None
        except OSError as err:
            raise OutputError(f"output={str(self.path)!r}: cannot create its lock file: {err}") from None
        started = time.strftime("%Y-%m-%d %H:%M:%S")
        self.owner.write_text(json.dumps({"pid": os.getpid(), "user": getpass.getuser(), "host": socket.gethostname(),
                                          "started": started}))  # fmt: skip

    def release(self) -> None:
        """Removes the owner note and the lock file, then releases: nothing is left behind
        (removed while held, so a run that opens the name afterwards locks a new file and
        finds this run finished)."""
        if self.lock.is_locked:
            self.owner.unlink(missing_ok=True)
            Path(self.lock.lock_file).unlink(missing_ok=True)
            self.lock.release()


def begin(path: Path, digest: str, size: int, *, resume: bool, overwrite: bool) -> None:
    """Rank 0, under the lock: checks what is there against ``resume``/``overwrite`` and
    records this run's state (see the module doc, point 3).

    Raises:
        OutputError: the output exists (without ``overwrite``), interrupted work exists
            (without ``resume`` or ``overwrite``), there is nothing to resume, the state
            belongs to another input or settings, or the folder is not writable.
    """
    state = sidecar(path, ".state.json")
    leftovers = sorted(path.parent.glob(path.name + ".rank*-of-*.jsonl"))
    if resume:
        if not state.exists():
            what = "the output is complete" if path.exists() else "no interrupted run left any state"
            raise OutputError(f"--resume: nothing to resume for {path} ({what}: {state.name} is missing); "
                              "use --overwrite to label it again")  # fmt: skip
        try:
            recorded = json.loads(state.read_text())
        except (OSError, ValueError) as err:
            raise OutputError(f"--resume: {state} is unreadable ({err}); use --overwrite to start over") from None
        if recorded.get("version") != STATE_VERSION:
            raise OutputError(
                f"--resume: {path} was started by an older trl_rrm (its state {state.name} has no version "
                f"{STATE_VERSION}): its fingerprint does not cover the contents of the judge's weight files, so this "
                "run cannot be checked against it; use --overwrite to label it again"
            )
        if recorded.get("fingerprint") != digest:
            raise OutputError(
                f"--resume: {path} was started with another input or other settings (its state {state.name} "
                "does not match this run's input rows, judge, labeling settings, seed and process count); "
                "rerun with the same ones, or use --overwrite to start over"
            )
        return
    if state.exists() or leftovers:
        if not overwrite:
            raise OutputError(f"{path}: an interrupted run left {state.name if state.exists() else leftovers[0].name}; "
                              "use --resume to continue it, or --overwrite to start over")  # fmt: skip
    elif path.exists() and not overwrite:
        raise OutputError(f"output={str(path)!r} exists; use --overwrite to replace it (or another output)")
    for stale in leftovers:
        stale.unlink()
    try:
        write_atomically(state, [json.dumps({"fingerprint": digest, "processes": size, "version": STATE_VERSION}) + "\n"])
    except OSError as err:
        raise OutputError(f"output={str(path)!r}: cannot write in {path.parent}: {err}") from None


def prepare_work_file(path: Path, rank: int, size: int, resume: bool, chunk_of: dict[int, int], complete: set[int]) -> int:
    """Leaves this rank's work file with only the rows of complete chunks and its progress
    file with only those chunks; returns the number of rows kept."""
    work, progress = work_file(path, rank, size), progress_file(path, rank, size)
    if not resume:
        for stale in (work, progress):
            stale.unlink(missing_ok=True)
        return 0
    kept = [r for r in read_jsonl(work) if chunk_of.get(r.get("source_index")) in complete]
    chunks = [entry for entry in read_jsonl(progress) if entry.get("chunk") in complete]
    write_atomically(work, [json.dumps(r, ensure_ascii=False) + "\n" for r in kept])
    write_atomically(progress, [json.dumps(entry) + "\n" for entry in chunks])
    return len(kept)


def recorded_chunks(path: Path, rank: int, size: int) -> set[int]:
    return {entry["chunk"] for entry in read_jsonl(progress_file(path, rank, size)) if "chunk" in entry}


def publish(path: Path, size: int) -> list[dict[str, Any]]:
    """Rank 0: merges every rank's work file into ``path`` (input order), atomically, then
    removes the work files and the state. Returns the rows."""
    rows = [row for r in range(size) for row in read_jsonl(work_file(path, r, size))]
    rows.sort(key=lambda row: row["source_index"])  # stable: a prompt's pairs keep their order
    write_atomically(path, [json.dumps(row, ensure_ascii=False) + "\n" for row in rows])
    for r in range(size):
        work_file(path, r, size).unlink(missing_ok=True)
        progress_file(path, r, size).unlink(missing_ok=True)
    sidecar(path, ".state.json").unlink(missing_ok=True)
    return rows
