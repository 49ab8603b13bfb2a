"""Runs every benchmark; one JSON (and one markdown table) per benchmark in benchmarks/results/.

    python benchmarks/run_all.py                    # SmolLM2 on CPU (over 25 minutes on 2 idle cores)
    python benchmarks/run_all.py --model tiny       # tiny model built in code (a few minutes)
    python benchmarks/run_all.py --only judge_throughput,prefix_reuse

Each benchmark runs in its own process (clean memory, one failure does not stop the
others) and prints JSON and a markdown summary; this script then prints all summaries.
``benchmarks/openai_vs_hf.py`` is run too when it exists (it is optional).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = ("judge_throughput", "decode_step", "prefix_reuse", "tournament_cost", "memory", "grpo_step", "precision",
              "train_step")
OPTIONAL = ("openai_vs_hf",)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="embedded", help="tiny | embedded | a local path")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--only", default=None, help="comma-separated benchmark names")
    args = p.parse_args()
    names = [*BENCHMARKS, *(n for n in OPTIONAL if (HERE / f"{n}.py").is_file())]
    if args.only:
        names = [n for n in names if n in args.only.split(",")]
    summaries, failed = [], []
    for name in names:
        cmd = [sys.executable, str(HERE / f"{name}.py"), "--threads", str(args.threads)]
        if name in BENCHMARKS:
            cmd += ["--repeats", str(args.repeats)]
            if name != "tournament_cost":
                cmd += ["--model", args.model]
        elif args.model != "embedded":  # an optional benchmark takes a path, and prints JSON only
            sys.path.insert(0, str(HERE))
            from _common import model_path

            cmd += ["--model", model_path(args.model)]
        print(f"== {name}: {' '.join(cmd[1:])}", flush=True)
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=HERE.parent, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        print(f"   {'ok' if proc.returncode == 0 else 'FAILED'} in {seconds:.0f}s", flush=True)
        md = HERE / "results" / f"{name}.md"
        if name in OPTIONAL and proc.returncode == 0:
            md.parent.mkdir(exist_ok=True)
            (HERE / "results" / f"{name}.json").write_text(proc.stdout)
            md.write_text(f"### {name}\n\n```json\n{proc.stdout.strip()}\n```\n")
        if proc.returncode == 0 and md.is_file():
            summaries.append(md.read_text())
        else:
            failed.append(name)
            summaries.append(f"### {name}: FAILED\n\n```\n{proc.stderr[-2000:]}\n```\n")
    print()
    print("\n".join(summaries))
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
