"""Verdicts a speed switch changes: a committed judge adapter on its held-out pairs, the
switches on against off, the verdict-label probability of every flip (its margin).

    python benchmarks/verdict_flips.py                  # the pointwise constraint judge
    python benchmarks/verdict_flips.py --adapter recipes/adapters/smollm2-constraint-judge --format rrm

The judge loads its own weights (bf16 where the CPU computes it natively), once with
``--switches`` off and once with the defaults, and judges every held-out pair (pairwise:
both orders; pointwise: each response) with ``verdict="likelihood"`` (the analysis
written greedily, then the verdict labels' probabilities read after it), ``--limit``
pairs at most. A flip is a verdict on the other side of 0.5 (a pointwise judge's grade,
a pairwise judge's probability that the first-shown response is better); its margin is
how far from 0.5 each side put it. Texts that differ are counted too: bf16 rounds the
merged weights and the attention differently, so greedy analyses can part at near-ties.
"""

from __future__ import annotations

import json
from pathlib import Path

from _common import parser, setup, table, write

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    p = parser(__doc__.splitlines()[0], model=False)
    p.add_argument("--adapter", default=str(ROOT / "recipes/adapters/smollm2-constraint-judge-pointwise"))
    p.add_argument("--format", default="pointwise")
    p.add_argument("--max-new-tokens", type=int, default=192)
    p.add_argument("--batch-size", type=int, default=48)
    p.add_argument("--limit", type=int, default=95, help="held-out pairs judged (the file's first)")
    p.add_argument("--switches", nargs="+", default=["decode_attention", "merge_adapter"],
                   help="speed switches turned off in the reference judge")  # fmt: skip
    args = p.parse_args()
    setup(args)
    from trl_rrm import HFJudge, Match
    from trl_rrm.embedded import smollm2_path

    pairs = [json.loads(line) for line in (Path(args.adapter) / "held_out_pairs.jsonl").read_text().splitlines()]
    pairs = pairs[: args.limit]
    options = dict(format=args.format, verdict="likelihood", max_new_tokens=args.max_new_tokens,
                   batch_size=args.batch_size, temperature=0.0)  # fmt: skip
    reference = HFJudge(smollm2_path(), adapter=args.adapter, **options, **dict.fromkeys(args.switches, False))
    fast = HFJudge(smollm2_path(), adapter=args.adapter, **options)
    pointwise = reference.format.name.startswith("pointwise")
    if pointwise:
        matches = [Match(r["prompt"], (text,)) for r in pairs for text in (r["chosen"], r["rejected"])]
    else:
        matches = [Match(r["prompt"], pair) for r in pairs for pair in ((r["chosen"], r["rejected"]),
                                                                         (r["rejected"], r["chosen"]))]  # fmt: skip
    out = {}
    for name, judge in (("reference", reference), ("fast", fast)):
        print(f"[{name}] judging {len(matches)} {'responses' if pointwise else 'matches'}", flush=True)
        results = judge.grade(matches) if pointwise else judge.compare(matches)
        out[name] = [(r.value if pointwise else r.p_first, r.raw[0] if r.raw else None) for r in results]
    flips, texts = [], 0
    for i, ((a, ta), (b, tb)) in enumerate(zip(out["reference"], out["fast"])):
        texts += ta != tb
        if a is not None and b is not None and (a > 0.5) != (b > 0.5):
            flips.append({"item": i, "reference": a, "fast": b})
    missing = sum((a is None) != (b is None) for (a, _), (b, _) in zip(out["reference"], out["fast"]))
    payload = {"config": {"adapter": args.adapter, "format": args.format, "max_new_tokens": args.max_new_tokens,
                          "switches_off_in_reference": args.switches, "items": len(matches)},
               "flips": flips, "texts_differing": texts, "verdicts_missing_in_one": missing}  # fmt: skip
    md = "\n".join([
        f"### Verdicts the switches {', '.join(args.switches)} change ({Path(args.adapter).name}, {len(matches)} items)",
        "", table(["items", "texts differing", "flips", "missing in one only", "flip margins (reference / fast)"],
                  [[len(matches), texts, len(flips), missing,
                    "; ".join(f"{f['reference']:.2f} / {f['fast']:.2f}" for f in flips) or "-"]]),
    ])  # fmt: skip
    write(f"verdict_flips_{Path(args.adapter).name}", args, payload, md)


if __name__ == "__main__":
    main()
