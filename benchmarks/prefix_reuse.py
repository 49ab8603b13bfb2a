"""Prefix reuse: the system prompt and query shared by all matches of a group, computed once.

    python benchmarks/prefix_reuse.py                 # SmolLM2, 8 groups of 4, round robin, both orders
    python benchmarks/prefix_reuse.py --model tiny

Every match of a group renders the same judge system prompt and query (and, in a round
robin, often the same first response), so a batch of its rows shares a long token
prefix. ``HFJudge(prefix_reuse=True)`` runs that prefix once and repeats its key/value
cache for the rows. Measured in ``direct`` mode (one forward per row: the prefill is
everything) and in ``generate`` mode (prefill + ``--max-new-tokens`` of decoding), with
reuse on and off, interleaved, best of ``--repeats``. Reports the prompt tokens computed,
the share saved, the time ratio, and the equivalence (largest probability difference;
whether generated verdicts and texts are identical).
"""

from __future__ import annotations

from _common import groups_workload, interleaved, load, parser, setup, table, write


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--groups", type=int, default=8)
    p.add_argument("--size", type=int, default=4, help="completions per group (round robin: size*(size-1)/2 matches)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--max-new-tokens", type=int, default=16)
    args = p.parse_args()
    setup(args)
    from trl_rrm import HFJudge, Match

    model, tokenizer = load(args.model)
    matches = [
        Match(prompt, (c[i], c[j]))
        for prompt, c in groups_workload(args.groups, args.size)
        for i in range(args.size)
        for j in range(i + 1, args.size)
    ]
    common = dict(both_orders=True, temperature=0, max_new_tokens=args.max_new_tokens, batch_size=args.batch_size,
                  cache_identical=False)  # every row is computed, so the saving is prefix reuse's alone
    summary, rows = {}, []
    for mode in ("direct", "generate"):
        judges = {reuse: HFJudge.from_model(model, tokenizer, verdict=mode, prefix_reuse=reuse, **common)
                  for reuse in (True, False)}
        judges[True].compare(matches[:2])  # warm-up
        judges[True].prefix_tokens_saved = 0
        times, results = interleaved(args.repeats, {r: (lambda j=j: j.compare(matches)) for r, j in judges.items()})
        fmt = judges[True].format
        prompt_tokens = sum(
            len(tokenizer.apply_chat_template(fmt.render(m.prompt, *order), add_generation_prompt=True,
                                              tokenize=True, return_dict=False))
            for m in matches for order in (m.responses, m.responses[::-1])
        )
        saved = judges[True].prefix_tokens_saved // args.repeats
        on, off = results[True], results[False]
        entry = {
            "seconds_reuse": times[True],
            "seconds_no_reuse": times[False],
            "speedup": times[False] / times[True],
            "prompt_tokens": prompt_tokens,
            "prefix_tokens_saved": saved,
            "share_saved": saved / prompt_tokens,
            "winners_equal": [v.winner for v in on] == [v.winner for v in off],
        }
        if mode == "direct":
            entry["max_abs_p_difference"] = max(abs(a.p_first - b.p_first) for a, b in zip(on, off))
        else:
            entry["texts_equal"] = [v.raw for v in on] == [v.raw for v in off]
        summary[mode] = entry
        rows.append([mode, prompt_tokens, saved, entry["share_saved"], entry["speedup"],
                     entry.get("max_abs_p_difference", entry.get("texts_equal"))])
    payload = {
        "config": {"groups": args.groups, "size": args.size, "matches": len(matches), "rows": 2 * len(matches),
                   "batch_size": args.batch_size, "max_new_tokens": args.max_new_tokens},
        "results": summary,
    }
    md = "\n".join([
        f"### Prefix reuse ({args.model}, {args.groups} groups of {args.size}, round robin, both orders: "
        f"{2 * len(matches)} rows, batch {args.batch_size})", "",
        table(["mode", "prompt tokens", "prefix tokens saved", "share saved", "speedup", "equivalence"], rows),
        "", "equivalence: direct = largest |p_first difference|; generate = identical texts.",
    ])
    write("prefix_reuse", args, payload, md)


if __name__ == "__main__":
    main()
