"""One decoding step against the rows it decodes: does a step cost in proportion to its rows?

    python benchmarks/decode_step.py                  # SmolLM2-135M-Instruct (embedded), CPU
    python benchmarks/decode_step.py --model tiny     # tiny model built in code (seconds)

For each batch size in ``--rows``: a prompt of ``--context`` random tokens per row is
prefilled, then ``--steps`` single-token steps decode from its key/value cache; the mean
seconds of a step (the first one left out) and the seconds per row. Where a step costs
in proportion to its rows, dropping finished rows (``continuous_decoding``) pays; where a
fixed cost dominates (weights read once per step), keeping the batch full does. The model
runs in bf16 where the CPU computes it natively (``trl_rrm.precision``; ``--fp32`` forces
float32).
"""

from __future__ import annotations

import time

from _common import load, native_precision, parser, setup, table, write


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, nargs="+", default=[1, 4, 16, 32])
    p.add_argument("--context", type=int, default=300, help="cached tokens per row before the timed steps")
    p.add_argument("--steps", type=int, default=6, help="timed steps per batch size (the first is warm-up)")
    p.add_argument("--fp32", action="store_true", help="float32 even where the CPU computes bf16 natively")
    args = p.parse_args()
    if min(args.rows) < 1 or args.context < 1 or args.steps < 2:
        raise SystemExit(f"--rows {args.rows} and --context {args.context} must be >= 1, --steps {args.steps} >= 2")
    setup(args)
    import torch

    from trl_rrm.judges.hf.kv_cache import cache_argument, generated_cache

    model, bf16 = native_precision(load(args.model)[0], args.fp32)
    name = cache_argument(model)
    vocab = model.config.vocab_size
    generator = torch.Generator().manual_seed(0)
    results = {}
    with torch.no_grad():
        for rows in args.rows:
            ids = torch.randint(0, vocab, (rows, args.context), generator=generator)
            cache = generated_cache(model(input_ids=ids, use_cache=True))
            token = torch.randint(0, vocab, (rows, 1), generator=generator)
            seconds = []
            for _ in range(args.steps):
                start = time.perf_counter()
                out = model(input_ids=token, use_cache=True, **{name: cache})
                seconds.append(time.perf_counter() - start)
                cache = generated_cache(out)
            step = sum(seconds[1:]) / len(seconds[1:])
            results[rows] = {"step_seconds": step, "seconds_per_row": step / rows}
            print(f"[{rows} rows] {step:.3f} s a step", flush=True)
    first = results[min(results)]
    for r in results.values():
        r["x_smallest_batch"] = r["step_seconds"] / first["step_seconds"]
    payload = {"config": {"context": args.context, "steps": args.steps, "dtype": "bfloat16" if bf16 else "float32"},
               "results": {str(k): v for k, v in results.items()}}  # fmt: skip
    rows_table = [[k, v["step_seconds"], v["seconds_per_row"], v["x_smallest_batch"]] for k, v in results.items()]
    md = "\n".join([
        f"### One decoding step by rows ({args.model}, {args.context} cached tokens a row, "
        f"{'bf16' if bf16 else 'fp32'}, {args.threads} threads)", "",
        table(["rows", "seconds a step", "seconds a row", "x the smallest batch"], rows_table),
    ])  # fmt: skip
    write("decode_step", args, payload, md)


if __name__ == "__main__":
    main()
