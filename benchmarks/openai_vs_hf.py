"""Matches per second: OpenAIJudge over loopback HTTP vs the in-process HFJudge, same model.

    OMP_NUM_THREADS=2 python benchmarks/openai_vs_hf.py                 # embedded SmolLM2-135M-Instruct
    python benchmarks/openai_vs_hf.py --pairs 16 --max-new-tokens 64 --threads 2 --continuous-batching
    python benchmarks/openai_vs_hf.py --vllm --pairs 16 --max-new-tokens 256   # the LoRA judge served by vLLM

``--vllm``: vLLM's CPU build (``.venv-vllm``: ``bash .ci/vllm_env.sh``) serves the embedded
model with the committed constraint judge as a LoRA adapter (``tests/vllm_server.py``,
float32 and bfloat16 runs), against ``HFJudge`` with the same adapter, on the held-out
constraint pairs the adapter was measured on; ``transformers serve`` (no LoRA) is skipped.

Both judges judge the same arithmetic pairs in both orders, greedy, with the same
budget. The server is ``transformers serve`` on 127.0.0.1 with the same thread count,
started before timing and idle while the in-process judge runs. Prints JSON: matches/s
of each, and how many judgments came out the same (greedy decoding is deterministic,
but a batched, left-padded forward pass may round differently from a single one).
"""

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import time
from pathlib import Path

import torch

from trl_rrm import HFJudge, Match, OpenAIJudge
from trl_rrm.inputs import builtin_rows

parser = argparse.ArgumentParser()
parser.add_argument("--model", default=None, help="judge path (default: embedded SmolLM2-135M-Instruct)")
parser.add_argument("--pairs", type=int, default=16)
parser.add_argument("--max-new-tokens", type=int, default=64)
parser.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "2")))
parser.add_argument("--batch-size", type=int, default=16, help="HFJudge batch size")
parser.add_argument("--max-concurrency", type=int, default=16, help="OpenAIJudge requests in flight")
parser.add_argument(
    "--continuous-batching", action="store_true", help="also time `transformers serve --continuous-batching`"
)
parser.add_argument("--vllm", action="store_true", help="vLLM serving the committed LoRA judge instead (see above)")
args = parser.parse_args()
ADAPTER = Path(__file__).resolve().parent.parent / "recipes" / "adapters" / "smollm2-constraint-judge"

if args.model is None:
    from trl_rrm.embedded import smollm2_path

    args.model = str(smollm2_path())
torch.set_num_threads(args.threads)
settings = {"both_orders": True, "temperature": 0.0, "max_new_tokens": args.max_new_tokens}
if args.vllm:
    rows = [json.loads(line) for line in (ADAPTER / "held_out_pairs.jsonl").read_text().splitlines()]
    matches = [Match(r["prompt"], (r["chosen"], r["rejected"])) for r in rows if r["split"] == "test"][: args.pairs]
else:
    matches = [Match(p["prompt"], (p["chosen"], p["rejected"])) for p in builtin_rows("builtin:arithmetic", args.pairs)]


def serve(extra: list[str]) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), HF_HUB_OFFLINE="1", HF_HUB_DISABLE_UPDATE_CHECK="1")
    cli = Path(sys.executable).with_name("transformers")
    proc = subprocess.Popen(
        [str(cli), "serve", args.model, "--host", "127.0.0.1", "--port", str(port), "--device", "cpu", *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1"
    probe = OpenAIJudge(url, model=args.model, retries=0)
    for _ in range(600):
        if proc.poll() is not None:
            sys.exit(f"transformers serve {' '.join(extra)} exited with {proc.returncode}")
        try:
            probe.check()  # also loads the model and runs one generation: a warm server
            return proc, url
        except ConnectionError:
            time.sleep(0.5)
    proc.kill()
    sys.exit("transformers serve did not come up")


def timed(judge) -> tuple[float, list]:
    judge.compare(matches[:1])  # warm-up: load, first forward
    start = time.perf_counter()
    verdicts = judge.compare(matches)
    return time.perf_counter() - start, verdicts


results: dict = {
    "model": Path(args.model).name,
    "pairs": len(matches),
    "judgments": 2 * len(matches),
    "max_new_tokens": args.max_new_tokens,
    "threads": args.threads,
    "cpu": platform.processor() or platform.machine(),
    "torch": torch.__version__,
}
adapter = {"adapter": str(ADAPTER)} if args.vllm else {}
references = {}
for dtype in ("float32", "bfloat16") if args.vllm else ("float32",):
    seconds, references[dtype] = timed(HFJudge(args.model, batch_size=args.batch_size, device="cpu", dtype=dtype,
                                               **adapter, **settings))  # fmt: skip
    results[f"hf_in_process_{dtype}" if args.vllm else "hf_in_process"] = {
        "matches_per_second": len(matches) / seconds,
        "seconds": seconds,
        "batch_size": args.batch_size,
        **adapter,
    }
reference = references["float32"]


def served_vllm(dtype: str):
    """vLLM serving the embedded model and the adapter as the model "judge"."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from vllm_server import VLLMServer

    server = VLLMServer(args.model, dtype=dtype, log=Path(f"/tmp/trl_rrm_bench_vllm_{dtype}.log"),
                       env={"OMP_NUM_THREADS": str(args.threads)})  # fmt: skip
    server.start()
    return server, server.url


runs = [(f"openai_vllm_lora_{d}", d) for d in ("float32", "bfloat16")] if args.vllm else [("openai_transformers_serve", [])]
if args.continuous_batching and not args.vllm:
    runs.append(("openai_transformers_serve_cb", ["--continuous-batching"]))
for name, extra in runs:
    if args.vllm:
        server, url = served_vllm(extra)
        reference = references[extra]
    else:
        proc, url = serve(extra)
    try:
        model = "judge" if args.vllm else args.model
        judge = OpenAIJudge(url, model=model, max_concurrency=args.max_concurrency, timeout=600, **settings)
        seconds, verdicts = timed(judge)
    finally:
        if args.vllm:
            server.stop()
        else:
            proc.kill()
            proc.wait()
    same = sum(a == b for v, r in zip(verdicts, reference) for a, b in zip(v.raw, r.raw))
    results[name] = {
        "matches_per_second": len(matches) / seconds,
        "seconds": seconds,
        "max_concurrency": args.max_concurrency,
        "same_judgment_text_as_hf": f"{same}/{2 * len(matches)}",
        "same_winner_as_hf": f"{sum(v.winner == r.winner for v, r in zip(verdicts, reference))}/{len(matches)}",
        "failed_requests": judge.stats["failed_requests"],
    }
print(json.dumps(results, indent=2))
