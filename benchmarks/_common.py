"""Shared helpers of the benchmarks: models, workloads, timing, results.

Timings on a shared machine are noisy, so every benchmark compares configurations
measured in the same run, interleaved and repeated (the best of ``--repeats`` is kept),
and reports ratios next to the raw seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without install


def parser(description: str, model: bool = True) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    if model:
        p.add_argument("--model", default="embedded", help="tiny | embedded (SmolLM2-135M-Instruct) | a local path")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--repeats", type=int, default=3, help="repetitions per timing; the best is kept")
    p.add_argument("--out", default=None, help="JSON output path (default benchmarks/results/<name>.json)")
    return p


def setup(args: argparse.Namespace) -> None:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch

    torch.set_num_threads(args.threads)
    import transformers

    transformers.logging.set_verbosity_error()
    import warnings

    warnings.filterwarnings("ignore")


def model_path(name: str) -> str:
    """A from_pretrained-loadable folder for ``--model``."""
    if name == "tiny":
        from trl_rrm.testing import save_tiny_model

        path = Path(os.environ.get("TRL_RRM_BENCH_TINY", "/tmp/trl_rrm_bench_tiny"))
        if not (path / "config.json").is_file():
            save_tiny_model(path)
        return str(path)
    if name == "embedded":
        from trl_rrm.embedded import smollm2_path

        return str(smollm2_path())
    return name


def load(name: str) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = model_path(name)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype="float32")
    model.eval()
    return model, tokenizer


def native_precision(model: Any, fp32: bool = False) -> tuple[Any, bool]:
    """``model`` in bf16 where the CPU computes it natively (``trl_rrm.precision``), unless
    ``fp32``; and whether it is bf16."""
    from trl_rrm.precision import cpu_computes_bf16

    bf16 = cpu_computes_bf16() and not fp32
    if bf16:
        import torch

        model = model.to(torch.bfloat16)
    return model, bf16


def matmul_gflops(dtype: Any, size: int = 1024, repeats: int = 5) -> float:
    """This machine's rate on one ``size``-cube matmul in ``dtype`` (the best of ``repeats``):
    the yardstick printed beside every absolute time."""
    import torch

    a, b = torch.randn(size, size).to(dtype), torch.randn(size, size).to(dtype)
    a @ b
    seconds, _ = best_of(repeats, lambda: a @ b)
    return 2 * size**3 / seconds / 1e9


def groups_workload(groups: int, size: int, seed: int = 0) -> list[tuple[str, list[str]]]:
    """``groups`` arithmetic prompts with ``size`` candidate answers each (right, near
    misses, one duplicate per group as GRPO groups often have), as a policy would write."""
    from trl_rrm.inputs import builtin_rows

    rng = random.Random(seed)
    out = []
    for pair in builtin_rows("builtin:arithmetic", groups, seed=seed):  # "a + b = right" vs a near miss
        stem, right = pair["chosen"].rsplit("=", 1)
        right = int(right)
        candidates = [pair["chosen"], pair["rejected"]]
        while len(candidates) < size:
            style = rng.randrange(3)
            value = right + rng.choice([-10, -2, -1, 0, 1, 2, 10])
            if style == 0:
                candidates.append(f"{stem}= {value}")
            elif style == 1:
                candidates.append(f"Let me compute step by step. {stem}is {value}. So the answer is {value}.")
            else:
                candidates.append(f"The result is {value}.")
        if size >= 4:
            candidates[-1] = candidates[0]  # a duplicate completion
        out.append((pair["prompt"], candidates[:size]))
    return out


def matches_workload(n: int, seed: int = 0) -> list:
    """``n`` pairwise matches from groups of 8 (first knockout round: 4 per group)."""
    from trl_rrm import Match

    matches = []
    for prompt, candidates in groups_workload((n + 3) // 4, 8, seed):
        matches.extend(Match(prompt, (candidates[2 * k], candidates[2 * k + 1])) for k in range(4))
    return matches[:n]


def pairs_workload(path: str, n: int, seed: int = 0) -> list:
    """``n`` matches from a JSONL of prompt/chosen/rejected pairs: the pairs shuffled
    (``seed``), each shown in both orders."""
    from trl_rrm import Match

    pairs = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    random.Random(seed).shuffle(pairs)
    matches = []
    for row in pairs:
        matches += [Match(row["prompt"], (row["chosen"], row["rejected"])),
                    Match(row["prompt"], (row["rejected"], row["chosen"]))]  # fmt: skip
    return matches[:n]


def best_of(repeats: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    """The fastest of ``repeats`` runs of ``fn`` (seconds) and the last result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def interleaved(repeats: int, fns: dict[str, Callable[[], Any]]) -> tuple[dict[str, float], dict[str, Any]]:
    """Runs every configuration once per repeat, in turn, so load on the shared machine
    hits them alike; keeps the best time of each."""
    times = {k: float("inf") for k in fns}
    results: dict[str, Any] = {}
    for _ in range(repeats):
        for key, fn in fns.items():
            start = time.perf_counter()
            results[key] = fn()
            seconds = time.perf_counter() - start
            times[key] = min(times[key], seconds)
            print(f"[{key}] {seconds:.1f} s", file=sys.stderr, flush=True)  # progress: a row can take minutes
    return times, results


def environment(args: argparse.Namespace) -> dict[str, Any]:
    import torch
    import transformers

    from trl_rrm.precision import cpu_bf16_flags, cpu_model_name

    return {
        "model": getattr(args, "model", None),
        "cpu": cpu_model_name(),
        "cpu_bf16_flags": cpu_bf16_flags(),
        "threads": args.threads,
        "repeats": args.repeats,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
    }


def write(name: str, args: argparse.Namespace, payload: dict[str, Any], markdown: str) -> Path:
    """Writes the JSON result and prints it, then the markdown summary."""
    path = Path(args.out) if args.out else RESULTS / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"benchmark": name, "environment": environment(args), **payload}
    path.write_text(json.dumps(payload, indent=2) + "\n")
    print(json.dumps(payload, indent=2))
    print()
    print(markdown)
    (path.with_suffix(".md")).write_text(markdown + "\n")
    return path


def table(headers: list[str], rows: list[list[Any]]) -> str:
    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"
        return str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
