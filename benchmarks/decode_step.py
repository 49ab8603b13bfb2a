"""One decoding step of the judge, split into where its time goes, beside its matmul floor.

    python benchmarks/decode_step.py                  # SmolLM2-135M-Instruct (embedded), CPU
    python benchmarks/decode_step.py --model tiny     # tiny model built in code (seconds)

For each batch size in ``--rows`` (default 1, 16, 48, 128): a prompt of ``--context``
random tokens per row (one row left-padded, as a judge batch is) is prefilled into a
static key/value cache with 32 free positions, as continuous decoding holds it; then
single-token steps decode from it, with the model's own attention (``own``) and with the
judge's (``decode_attention``, ``trl_rrm.judges.hf.attention``), interleaved, the median
step kept. One profiled pass of the judge's steps splits a step into matmuls (the linear
layers and the vocabulary head), attention, copies (cat, index, copy_, casts) and the
rest of the operators; what no operator accounts for is Python and dispatch. The floor
is the step's arithmetic (2 x weights x rows, the head, attention over the context) at
this machine's 1024^3 matmul rate (``matmul_gflops``, measured here). The model runs in
bf16 where the CPU computes it natively (``--fp32`` forces float32).
"""

from __future__ import annotations

import contextlib
import statistics
import time

from _common import load, matmul_gflops, native_precision, parser, setup, table, write

GROUPS = {
    "matmuls": ("aten::mm", "aten::addmm", "aten::linear", "aten::matmul"),
    "attention": ("aten::bmm", "aten::_softmax", "aten::softmax", "aten::scaled_dot_product_attention",
                  "aten::_scaled_dot_product_flash_attention_for_cpu", "aten::masked_fill", "aten::masked_fill_"),
    "copies": ("aten::copy_", "aten::cat", "aten::index", "aten::index_select", "aten::index_copy_", "aten::_to_copy",
               "aten::clone", "aten::contiguous", "aten::to"),
}  # fmt: skip
ROOM = 32


def step_flops(config, rows: int, context: int) -> float:
    """Multiply-adds x 2 of one step: every layer's weights once per row, the vocabulary
    head, and attention over ``context`` positions."""
    hidden, layers, inter = config.hidden_size, config.num_hidden_layers, config.intermediate_size
    heads, kv = config.num_attention_heads, config.num_key_value_heads
    dim = getattr(config, "head_dim", None) or hidden // heads
    per_layer = hidden * heads * dim * 2 + hidden * kv * dim * 2 + 3 * hidden * inter
    attention = 2 * heads * dim * context
    return 2 * rows * (layers * (per_layer + attention) + hidden * config.vocab_size)


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, nargs="+", default=[1, 16, 48, 128])
    p.add_argument("--context", type=int, default=300, help="cached tokens per row before the timed steps")
    p.add_argument("--steps", type=int, default=9, help="timed steps per batch size and attention (< 32)")
    p.add_argument("--fp32", action="store_true", help="float32 even where the CPU computes bf16 natively")
    args = p.parse_args()
    if min(args.rows) < 1 or args.context < 2 or not 2 <= args.steps < ROOM:
        raise SystemExit(f"--rows {args.rows} >= 1, --context {args.context} >= 2, --steps {args.steps} in [2, {ROOM})")
    setup(args)
    import torch
    from torch.profiler import ProfilerActivity, profile
    from transformers import StaticCache

    from trl_rrm.judges.hf.attention import judge_attention
    from trl_rrm.judges.hf.kv_cache import cache_argument

    model, bf16 = native_precision(load(args.model)[0], args.fp32)
    dtype = torch.bfloat16 if bf16 else torch.float32
    gflops = matmul_gflops(dtype)
    print(f"matmul 1024^3 {dtype}: {gflops:.0f} GFLOPS", flush=True)
    name, vocab = cache_argument(model), model.config.vocab_size
    generator = torch.Generator().manual_seed(0)
    results = {}
    with torch.no_grad():
        for rows in args.rows:
            ids = torch.randint(0, vocab, (rows, args.context), generator=generator)
            mask = torch.ones_like(ids)
            mask[0, : args.context // 10] = 0  # a left-padded row, as in every judge batch
            token = torch.randint(0, vocab, (rows, 1), generator=generator)
            states = {}
            for mode in ("own", "decode_attention"):
                cache = StaticCache(config=model.config, max_cache_len=args.context + ROOM)
                positions = (mask.cumsum(-1) - 1).clamp(min=0)
                model(input_ids=ids, attention_mask=mask, position_ids=positions, **{name: cache})
                states[mode] = {"cache": cache, "mask": mask, "position": positions[:, -1:]}

            def step(mode: str) -> None:
                state = states[mode]
                state["mask"] = torch.cat([state["mask"], state["mask"].new_ones(rows, 1)], 1)
                state["position"] = state["position"] + 1
                with judge_attention(model) if mode == "decode_attention" else contextlib.nullcontext():
                    model(input_ids=token, attention_mask=state["mask"], position_ids=state["position"],
                          logits_to_keep=1, **{name: state["cache"]})  # fmt: skip

            seconds = {"own": [], "decode_attention": []}
            for _ in range(args.steps):
                for mode in seconds:
                    start = time.perf_counter()
                    step(mode)
                    seconds[mode].append(time.perf_counter() - start)
            own, judge = (statistics.median(seconds[m][1:]) for m in seconds)
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                start = time.perf_counter()
                for _ in range(2):
                    step("decode_attention")
                profiled = (time.perf_counter() - start) / 2
            split = dict.fromkeys(GROUPS, 0.0) | {"other ops": 0.0}
            for event in prof.key_averages():
                group = next((g for g, names in GROUPS.items() if event.key in names), "other ops")
                split[group] += event.self_cpu_time_total / 1e6 / 2
            split["python"] = max(0.0, profiled - sum(split.values()))
            total = sum(split.values())
            floor = step_flops(model.config, rows, args.context + args.steps) / (gflops * 1e9)
            results[rows] = {"step_seconds_own_attention": own, "step_seconds": judge, "x_own": own / judge,
                             "tokens_per_second": rows / judge, "floor_seconds": floor, "x_floor": judge / floor,
                             "split_share": {k: v / total for k, v in split.items()}}  # fmt: skip
            print(f"[{rows} rows] {judge:.3f} s a step ({own:.3f} s with the model's attention), floor {floor:.3f} s",
                  flush=True)  # fmt: skip
    payload = {"config": {"context": args.context, "steps": args.steps, "dtype": str(dtype).removeprefix("torch."),
                          "matmul_gflops": gflops}, "results": {str(k): v for k, v in results.items()}}  # fmt: skip
    rows_table = [[k, v["step_seconds"], v["tokens_per_second"], v["x_own"], v["floor_seconds"], v["x_floor"],
                   *(f"{100 * v['split_share'][g]:.0f}%" for g in (*GROUPS, "other ops", "python"))]
                  for k, v in results.items()]  # fmt: skip
    md = "\n".join([
        f"### One judge decoding step by rows ({args.model}, {args.context} cached tokens a row, "
        f"{payload['config']['dtype']}, {args.threads} threads, matmul {gflops:.0f} GFLOPS)", "",
        table(["rows", "s a step", "tokens/s", "x own attention", "floor s", "x floor", "matmuls", "attention",
               "copies", "other ops", "python"], rows_table),
    ])  # fmt: skip
    write("decode_step", args, payload, md)


if __name__ == "__main__":
    main()
