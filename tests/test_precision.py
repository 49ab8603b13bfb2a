"""bf16 on CPU follows the detection: the detector (never raises), ``dtype="auto"`` of a
judge, and the trainers' ``bf16`` default the recipes set."""

from __future__ import annotations

import logging

import pytest
import torch

from trl_rrm import HFJudge, Match, precision
from trl_rrm.judges.hf.config import HFLoadConfig
from trl_rrm.judges.hf.loading import load_dtype

# Captured at collection, before conftest's autouse fixture pins the detector to False.
REAL_DETECTOR = precision.cpu_computes_bf16

X86 = "processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Platinum 8480+\nflags\t\t: fpu sse2 avx512f {}amx_tile\n\n"
ARM = "processor\t: 0\nBogoMIPS\t: 2100.00\nFeatures\t: fp asimd sve {}i8mm\nCPU implementer\t: 0x41\n"


@pytest.fixture()
def detector(monkeypatch):
    """The real detector with empty caches, restored and cleared afterwards."""
    monkeypatch.setattr(precision, "cpu_computes_bf16", REAL_DETECTOR)
    REAL_DETECTOR.cache_clear()
    yield REAL_DETECTOR
    REAL_DETECTOR.cache_clear()


def _native(monkeypatch, native: bool) -> None:
    monkeypatch.setattr(precision, "cpu_computes_bf16", lambda: native)


@pytest.mark.parametrize(
    ("text", "flags"),
    [
        (X86.format("avx512_bf16 amx_bf16 "), ("amx_bf16", "avx512_bf16")),
        (X86.format("avx512_bf16 ") * 4, ("avx512_bf16",)),  # one block per core
        (X86.format(""), ()),
        (X86.format("avx512_bf16x xavx512_bf16 AVX512_BF16 "), ()),  # whole, exact flags only
        (ARM.format("bf16 "), ("bf16",)),
        (ARM.format(""), ()),
        ("flags:", ()),
        ("", None),
        ("model name : something\nvendor_id : x\n", None),  # no flags line: unknown, not "no bf16"
        ("flags avx512_bf16 without a colon", None),
        ("\x00\xff\ufffd::::\n\n\t:", None),
        (":" * 10_000 + "\n" + "flags : " + "x " * 50_000, ()),
    ],
)
def test_flags_of_cpuinfo_text(text, flags):
    assert precision.cpu_bf16_flags(text) == flags


@pytest.mark.parametrize(
    "content",
    [b"", b"\xff\xfe\x00garbage\n", b"flags\t: \xff\xfeavx512_bf16\n", b"Features : bf16\x00\n", b"\n" * 1000],
)
@pytest.mark.parametrize("probe", [True, False])
def test_detector_never_raises_on_odd_cpuinfo(detector, monkeypatch, tmp_path, content, probe):
    path = tmp_path / "cpuinfo"
    path.write_bytes(content)
    monkeypatch.setattr(precision, "CPUINFO", str(path))
    monkeypatch.setattr(precision, "_torch_probe", lambda: probe)
    flags = precision.cpu_bf16_flags()
    # No flags line: torch's probe answers; a flags line: the flags answer, the probe is not asked.
    assert detector() is (probe if flags is None else bool(flags))


@pytest.mark.parametrize("where", ["missing", "directory"])
def test_unreadable_cpuinfo_falls_back_to_torch(detector, monkeypatch, tmp_path, where):
    path = tmp_path / "cpuinfo"
    if where == "directory":
        path.mkdir()
    monkeypatch.setattr(precision, "CPUINFO", str(path))
    monkeypatch.setattr(precision, "_torch_probe", lambda: True)
    assert precision.cpu_bf16_flags() is None and precision.cpu_model_name() is None
    assert detector() is True


def test_torch_probe_that_raises_means_no_bf16(detector, monkeypatch, tmp_path):
    def broken() -> bool:
        raise RuntimeError("no cpuinfo on this build")

    monkeypatch.setattr(precision, "CPUINFO", str(tmp_path / "absent"))
    for name in precision._TORCH_PROBES:
        monkeypatch.setattr(torch.cpu, name, broken, raising=False)
    assert detector() is False


def test_detection_is_cached(detector, monkeypatch, tmp_path):
    path = tmp_path / "cpuinfo"
    path.write_text(X86.format("amx_bf16 "))
    monkeypatch.setattr(precision, "CPUINFO", str(path))
    assert detector() is True
    path.write_text(X86.format(""))
    assert detector() is True  # read once per process
    detector.cache_clear()
    assert detector() is False


def test_model_name():
    assert precision.cpu_model_name(X86.format("")) == "Intel(R) Xeon(R) Platinum 8480+"
    assert precision.cpu_model_name(ARM.format("")) is None


@pytest.mark.parametrize("native", [True, False])
def test_auto_dtype_follows_the_detection_on_cpu_only(monkeypatch, native):
    _native(monkeypatch, native)
    expected = "bfloat16" if native else "float32"
    assert precision.auto_dtype("cpu") == precision.auto_dtype("cpu:0") == expected
    assert precision.auto_dtype("cuda") == precision.auto_dtype("cuda:1") == precision.auto_dtype("mps") == "auto"


def test_the_cpu_choice_is_logged_once(monkeypatch, caplog):
    _native(monkeypatch, True)
    precision._announce.cache_clear()
    with caplog.at_level(logging.INFO, logger="trl_rrm.precision"):
        for _ in range(3):
            precision.auto_dtype("cpu")
    assert [r.getMessage() for r in caplog.records if r.name == "trl_rrm.precision"] == [
        f"CPU precision: dtype='auto' loads bfloat16 (bf16 flags: {', '.join(precision.cpu_bf16_flags() or ()) or 'none found'})"
    ]


@pytest.mark.parametrize(
    ("load", "cuda", "native", "expected"),
    [
        ({"device": "cpu"}, True, True, torch.bfloat16),
        ({"device": "cpu"}, True, False, torch.float32),
        ({}, False, True, torch.bfloat16),  # no device and no CUDA: CPU
        ({}, True, True, "auto"),  # CUDA: the checkpoint's dtype, as before
        ({"device_map": "auto"}, False, True, torch.bfloat16),
        ({"device_map": "auto"}, True, True, "auto"),
        ({"device_map": {"": "cpu"}}, True, False, torch.float32),
        ({"device_map": {"": 0}}, True, True, "auto"),
        ({"device_map": {"a": "cpu", "b": 0}}, True, True, "auto"),
        ({"dtype": "float32"}, False, True, torch.float32),  # explicit dtypes as given
        ({"dtype": "bfloat16"}, False, False, torch.bfloat16),
        ({"dtype": "float16", "device": "cpu"}, False, True, torch.float16),
    ],
)
def test_load_dtype(monkeypatch, load, cuda, native, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    _native(monkeypatch, native)
    assert load_dtype(HFLoadConfig(model="m", **load)) == expected


@pytest.mark.parametrize(("native", "expected"), [(True, torch.bfloat16), (False, torch.float32)])
def test_hf_judge_auto_on_cpu_loads_what_the_cpu_computes(tiny_dir, monkeypatch, native, expected):
    _native(monkeypatch, native)
    judge = HFJudge(tiny_dir, dtype="auto", device="cpu", verdict="direct", both_orders=True)
    assert judge.model.dtype == expected
    assert all(p.dtype == expected for p in judge.model.parameters())
    verdicts = judge.compare([Match("What is 2+3?", ("5", "6")), Match("Say hi", ("hi", "hello"))])
    assert len(verdicts) == 2 and all(len(v.votes) == 2 for v in verdicts)


def test_hf_judge_explicit_dtype_is_kept(tiny_dir, monkeypatch):
    _native(monkeypatch, True)
    assert HFJudge(tiny_dir, dtype="float32", device="cpu").model.dtype == torch.float32


@pytest.mark.parametrize(("accelerator", "native", "expected"), [(False, True, True), (False, False, False), (True, True, None)])
def test_default_bf16(monkeypatch, accelerator, native, expected):
    monkeypatch.setattr(precision, "_has_accelerator", lambda: accelerator)
    _native(monkeypatch, native)
    assert precision.default_bf16() is expected


@pytest.mark.parametrize(
    ("native", "given", "expected"),
    [
        (True, [], True),
        (False, [], False),
        (True, ["--bf16", "false"], False),  # a flag wins
        (False, ["--bf16", "true"], True),
        (False, ["yaml"], True),  # bf16: true in the YAML wins
    ],
)
def test_recipe_parser_default(monkeypatch, tmp_path, native, given, expected):
    """What the recipes do: the parser's bf16 default from ``default_bf16()``; YAML and flags win."""
    from trl import DPOConfig, GRPOConfig, TrlParser

    monkeypatch.setattr(precision, "_has_accelerator", lambda: False)
    _native(monkeypatch, native)
    yaml = tmp_path / "c.yaml"
    yaml.write_text(f"output_dir: {tmp_path}\nuse_cpu: true\nreport_to: none\nbf16: true\n")
    args = ["--config", str(yaml)] if given == ["yaml"] else ["--output_dir", str(tmp_path), "--use_cpu", "true", *given]
    for config_class in (GRPOConfig, DPOConfig):
        parser = TrlParser((config_class,))
        parser.set_defaults(bf16=precision.default_bf16())
        (training,) = parser.parse_args_and_config(args=args)
        assert training.bf16 is expected
