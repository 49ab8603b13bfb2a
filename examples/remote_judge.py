"""A judge behind an OpenAI-compatible server, as an async GRPO-style reward.

Start a server, then point the example at it:

    transformers serve /path/to/judge --host 127.0.0.1 --port 8000 --device cpu
    python examples/remote_judge.py --base-url http://127.0.0.1:8000/v1 --model /path/to/judge

    vllm serve my-org/rrm-7b --tensor-parallel-size 4 --port 8000          # on the judge node(s)
    python examples/remote_judge.py --base-url http://judge-0:8000/v1 http://judge-1:8000/v1 --model my-org/rrm-7b

Or let the example start ``transformers serve`` on loopback for the embedded
SmolLM2-135M-Instruct (``--launch``), or for a tiny random model (``--launch --tiny``, a
few seconds, gibberish verdicts: the metrics show the failures).

It checks the servers, then scores groups of arithmetic answers with ``AsyncRRMReward``
(what GRPOTrainer awaits) and prints the rewards, the reward's metrics and the judge's
request counters as JSON.
"""

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from trl_rrm import AsyncRRMReward, OpenAIJudge
from trl_rrm.inputs import builtin_rows

parser = argparse.ArgumentParser()
parser.add_argument("--base-url", nargs="+", help="server API roots, e.g. http://127.0.0.1:8000/v1")
parser.add_argument("--model", help="the served model name")
parser.add_argument("--launch", action="store_true", help="start `transformers serve` on loopback for this run")
parser.add_argument("--tiny", action="store_true", help="with --launch: a tiny random model instead of SmolLM2")
parser.add_argument("--prompts", type=int, default=2)
parser.add_argument("--generations", type=int, default=4)
parser.add_argument("--max-new-tokens", type=int, default=32)
parser.add_argument("--max-concurrency", type=int, default=8)
args = parser.parse_args()


def launch(model: str) -> tuple[subprocess.Popen, str]:
    """``transformers serve MODEL`` on a free loopback port; returns the process and its URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cli = Path(sys.executable).with_name("transformers")
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_HUB_DISABLE_UPDATE_CHECK="1")
    proc = subprocess.Popen(
        [str(cli), "serve", model, "--host", "127.0.0.1", "--port", str(port), "--device", "cpu"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1"
    judge = OpenAIJudge(url, model=model, retries=0)
    for _ in range(600):  # the model loads before the server listens
        if proc.poll() is not None:
            sys.exit(f"transformers serve exited with {proc.returncode}")
        try:
            judge.check()
            return proc, url
        except ConnectionError:
            time.sleep(0.5)
    proc.kill()
    sys.exit("transformers serve did not come up in 5 minutes")


server = None
if args.launch:
    if args.tiny:
        from trl_rrm.testing import save_tiny_model

        args.model = str(save_tiny_model(Path(tempfile.mkdtemp()) / "tiny"))
    elif args.model is None:
        from trl_rrm.embedded import smollm2_path

        args.model = str(smollm2_path())
    server, url = launch(args.model)
    args.base_url = [url]
elif not args.base_url or not args.model:
    parser.error("give --base-url and --model of a running server, or --launch")

try:
    judge = OpenAIJudge(
        args.base_url,
        model=args.model,
        both_orders=True,
        temperature=0.0,
        max_new_tokens=args.max_new_tokens,
        max_concurrency=args.max_concurrency,
        timeout=120,
    )
    judge.check()  # unreachable server, model not served, 4xx: a clear error now, not mid-run
    reward = AsyncRRMReward(judge, tournament="round_robin", num_generations=args.generations)

    prompts, completions = [], []
    for pair in builtin_rows("builtin:arithmetic", args.prompts):  # a toy set of the checkout
        for g in range(args.generations):  # half right, half wrong answers per prompt
            prompts.append(pair["prompt"])
            completions.append(pair["chosen"] if g % 2 == 0 else pair["rejected"])
    metrics: dict[str, float] = {}
    start = time.perf_counter()
    rewards = asyncio.run(reward(prompts=prompts, completions=completions, log_metric=metrics.__setitem__))
    seconds = time.perf_counter() - start
    print(json.dumps({
        "rewards": rewards,
        "metrics": metrics,
        "judge_requests": judge.stats,
        "matches_per_second": metrics["rrm_reward/matches"] / seconds,
    }, indent=2))  # fmt: skip
finally:
    if server is not None:
        server.kill()
        server.wait()
