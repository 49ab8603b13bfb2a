"""bf16 where the CPU computes it natively: detected, not assumed.

A CPU with bf16 instructions (x86 ``avx512_bf16`` / ``amx_bf16``, Arm ``bf16``) runs bf16
matmuls at up to twice the fp32 rate (AMX: far more); one without them emulates bf16 and
is slower than fp32. So on CPU, ``dtype="auto"`` and an unset trainer ``bf16`` follow the
hardware; on accelerators nothing changes.

- ``cpu_computes_bf16()``: the detection (``/proc/cpuinfo`` flags; elsewhere torch's CPU
  feature probe), cached per process, never raises.
- ``auto_dtype(device)``: the dtype name ``"auto"`` means on ``device``.
- ``default_bf16()``: the default of a TRL trainer's ``bf16`` on this machine; recipes set it
  with ``parser.set_defaults(bf16=default_bf16())`` so an explicit YAML key or flag wins.

torch is imported only when ``/proc/cpuinfo`` cannot answer, or to look for an accelerator.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Literal

logger = logging.getLogger(__name__)

CPUINFO = "/proc/cpuinfo"
# Instruction-set flags that mean the CPU multiplies bf16 itself (x86 flags, Arm features).
BF16_FLAGS = ("avx512_bf16", "amx_bf16", "bf16")
# torch's own probe (pytorch/cpuinfo), used where /proc/cpuinfo is absent (macOS, Windows).
_TORCH_PROBES = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")


def _fields(cpuinfo: str | None, names: tuple[str, ...]) -> list[str] | None:
    """The values of the ``names`` lines of ``cpuinfo`` (default: ``/proc/cpuinfo``); None
    when it cannot be read."""
    if cpuinfo is None:
        try:
            cpuinfo = Path(CPUINFO).read_text(errors="replace")
        except (OSError, ValueError):
            return None
    lines = (line.partition(":") for line in str(cpuinfo).splitlines())
    return [value for key, colon, value in lines if colon and key.strip().lower() in names]


def cpu_bf16_flags(cpuinfo: str | None = None) -> tuple[str, ...] | None:
    """The bf16 flags in ``cpuinfo`` (default: the text of ``/proc/cpuinfo``), sorted.

    Returns None, never raises, when the text cannot be read or has no ``flags`` /
    ``Features`` line to look in (then nothing is known, which is not "no bf16").
    """
    lines = _fields(cpuinfo, ("flags", "features"))
    if not lines:
        return None
    return tuple(sorted({flag for line in lines for flag in line.split() if flag in BF16_FLAGS}))


def cpu_model_name(cpuinfo: str | None = None) -> str | None:
    """The CPU's ``model name`` in ``cpuinfo`` (default: ``/proc/cpuinfo``); None if unknown."""
    names = _fields(cpuinfo, ("model name",))
    return names[0].strip() if names else None


def _torch_probe() -> bool:
    try:
        import torch.cpu

        return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in _TORCH_PROBES)
    except Exception:  # an old or odd torch build: no answer means no native bf16
        return False


@functools.cache
def cpu_computes_bf16() -> bool:
    """Whether this CPU has bf16 instructions (``cpu_bf16_flags``; where ``/proc/cpuinfo``
    cannot tell, torch's CPU feature probe). Cached; never raises; False when unsure.

    ``torch.backends.cpu.get_cpu_capability()`` is not enough: it names the vector width
    (``"AVX512"``) and is the same on CPUs with and without bf16.
    """
    flags = cpu_bf16_flags()
    return bool(flags) if flags is not None else _torch_probe()


@functools.cache
def _announce(choice: str) -> None:  # cached: once per process and choice
    flags = cpu_bf16_flags()
    logger.info("CPU precision: %s (bf16 flags: %s)", choice, ", ".join(flags) if flags else "none found")


def auto_dtype(device: str) -> Literal["auto", "bfloat16", "float32"]:
    """What ``dtype="auto"`` loads on ``device`` (``"cpu"``, ``"cuda:0"``, ...): on CPU
    ``"bfloat16"`` where ``cpu_computes_bf16()``, else ``"float32"``; elsewhere ``"auto"``
    (the checkpoint's own dtype, as ``from_pretrained`` reads it). The CPU choice is logged
    once per process."""
    if str(device).split(":")[0] != "cpu":
        return "auto"
    choice: Literal["bfloat16", "float32"] = "bfloat16" if cpu_computes_bf16() else "float32"
    _announce(f"dtype='auto' loads {choice}")
    return choice


def _has_accelerator() -> bool:
    import torch

    xpu = getattr(torch, "xpu", None)
    mps = getattr(torch.backends, "mps", None)
    return bool(
        torch.cuda.is_available()
        or (xpu is not None and xpu.is_available())
        or (mps is not None and mps.is_available())
    )


def default_bf16() -> bool | None:
    """The default of a TRL trainer's ``bf16`` here: with no accelerator (CUDA, XPU, MPS),
    ``cpu_computes_bf16()``; otherwise None, TRL's own default (bf16 unless fp16).

    Use it as the parser default, so that ``bf16:`` in YAML or ``--bf16`` still wins::

        parser = TrlParser((RecipeConfig, GRPOConfig))
        parser.set_defaults(bf16=default_bf16())
    """
    if _has_accelerator():
        return None
    native = cpu_computes_bf16()
    _announce(f"training bf16={native}")
    return native
