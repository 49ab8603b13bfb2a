"""float32 against bfloat16 on CPU: matmul GFLOPS, a judge's direct verdicts, a LoRA training step.

    python benchmarks/precision.py             # SmolLM2-135M-Instruct (embedded), CPU
    python benchmarks/precision.py --tiny      # tiny model built in code (a quick check)

Reports the CPU (model name, the bf16 flags of /proc/cpuinfo, torch's capability and
``trl_rrm.precision.cpu_computes_bf16()``, which decides ``dtype="auto"``) and, for each
configuration, interleaved and the best of ``--repeats`` kept:

- ``matmul``: GFLOPS of an n x n by n x n matmul;
- ``judge``: ``HFJudge(verdict="direct", both_orders=True)`` on ``--matches`` matches,
  weights loaded in each dtype; with the share of identical winners and the largest
  ``p_first`` difference of bf16 against fp32;
- ``lora_step``: forward + backward + AdamW step of a LoRA (r=8 on q/k/v/o) on ``--lora-batch``
  sequences of ``--lora-tokens`` tokens: fp32 weights; bf16 weights (``grpo_rrm.py`` with
  ``bf16``); fp32 weights under CPU autocast to bf16 (a Trainer's ``bf16=True`` on an fp32 model).
"""

from __future__ import annotations

from _common import interleaved, matches_workload, model_path, parser, setup, table, write

DTYPES = ("float32", "bfloat16")


def cpu_report() -> dict:
    import torch

    from trl_rrm import precision

    return {
        "model_name": precision.cpu_model_name(),
        "bf16_flags": precision.cpu_bf16_flags(),
        "torch_capability": torch.backends.cpu.get_cpu_capability(),
        "native_bf16": precision.cpu_computes_bf16(),
        "auto_dtype_on_cpu": precision.auto_dtype("cpu"),
    }


def matmul_gflops(n: int, repeats: int) -> dict[str, float]:
    import torch

    operands = {d: (torch.randn(n, n).to(getattr(torch, d)), torch.randn(n, n).to(getattr(torch, d))) for d in DTYPES}
    for a, b in operands.values():
        a @ b  # warm-up: oneDNN picks its kernels
    times, _ = interleaved(repeats, {d: (lambda a=a, b=b: a @ b) for d, (a, b) in operands.items()})
    return {d: 2 * n**3 / t / 1e9 for d, t in times.items()}


def judge_direct(path: str, n: int, batch_size: int, repeats: int) -> dict:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from trl_rrm import HFJudge

    tokenizer = AutoTokenizer.from_pretrained(path)
    matches = matches_workload(n)
    models = {d: AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, d)).eval() for d in DTYPES}

    def run(model):
        judge = HFJudge.from_model(model, tokenizer, verdict="direct", both_orders=True, batch_size=batch_size)
        return judge.compare(matches)  # a new judge per call: nothing cached from the last repeat

    times, verdicts = interleaved(repeats, {d: (lambda m=m: run(m)) for d, m in models.items()})
    fp32, bf16 = verdicts["float32"], verdicts["bfloat16"]
    gaps = [abs(a.p_first - b.p_first) for a, b in zip(fp32, bf16) if a.p_first is not None and b.p_first is not None]
    return {
        "matches": len(matches),
        "batch_size": batch_size,
        "seconds": times,
        "matches_per_s": {d: len(matches) / t for d, t in times.items()},
        "bf16_speedup": times["float32"] / times["bfloat16"],
        "same_winner_share": sum(a.winner == b.winner for a, b in zip(fp32, bf16)) / len(matches),
        "max_abs_p_first_difference": max(gaps, default=None),
    }


def lora_step(path: str, batch: int, tokens: int, repeats: int) -> dict:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    def build(dtype: torch.dtype):
        base = AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
        lora = LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"], task_type="CAUSAL_LM")
        model = get_peft_model(base, lora).train()
        return model, torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)

    setups = {"float32": (torch.float32, False), "bfloat16": (torch.bfloat16, False), "autocast_bf16": (torch.float32, True)}
    built = {name: (*build(dtype), autocast) for name, (dtype, autocast) in setups.items()}
    vocab = next(iter(built.values()))[0].config.vocab_size
    ids = torch.randint(0, vocab, (batch, tokens), generator=torch.Generator().manual_seed(0))

    def step(model, optimizer, autocast: bool) -> float:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.item()

    losses = {name: step(*parts) for name, parts in built.items()}  # warm-up, and the first loss of each
    times, _ = interleaved(repeats, {name: (lambda parts=parts: step(*parts)) for name, parts in built.items()})
    return {
        "batch": batch,
        "tokens": tokens,
        "seconds": times,
        "tokens_per_s": {name: batch * tokens / t for name, t in times.items()},
        "speedup_vs_float32": {name: times["float32"] / t for name, t in times.items()},
        "first_loss": losses,
    }


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--tiny", action="store_true", help="the tiny model built in code (same as --model tiny)")
    p.add_argument("--matches", type=int, default=32, help="judge: matches (both orders: twice as many rows)")
    p.add_argument("--batch-size", type=int, default=16, help="judge: rows run together")
    p.add_argument("--lora-batch", type=int, default=8, help="LoRA step: sequences")
    p.add_argument("--lora-tokens", type=int, default=128, help="LoRA step: tokens per sequence")
    p.add_argument("--matmul-size", type=int, default=1024, help="matmul: n")
    args = p.parse_args()
    if args.tiny:
        args.model = "tiny"
    setup(args)
    path = model_path(args.model)
    payload = {
        "cpu": cpu_report(),
        "matmul_gflops": matmul_gflops(args.matmul_size, args.repeats),
        "judge": judge_direct(path, args.matches, args.batch_size, args.repeats),
        "lora_step": lora_step(path, args.lora_batch, args.lora_tokens, args.repeats),
    }
    cpu, mm, judge, lora = payload["cpu"], payload["matmul_gflops"], payload["judge"], payload["lora_step"]
    md = [
        f"### float32 vs bfloat16 on CPU ({args.model}, {args.threads} threads)", "",
        f"CPU: {cpu['model_name']}; bf16 flags: {', '.join(cpu['bf16_flags'] or ()) or 'none'}; "
        f"torch capability {cpu['torch_capability']}; `dtype=\"auto\"` loads {cpu['auto_dtype_on_cpu']}.", "",
        table(
            ["workload", "float32", "bfloat16", "bf16 speedup"],
            [
                [f"matmul {args.matmul_size}^3 (GFLOPS)", mm["float32"], mm["bfloat16"], mm["bfloat16"] / mm["float32"]],
                [f"judge direct, {judge['matches']} matches (matches/s)", judge["matches_per_s"]["float32"],
                 judge["matches_per_s"]["bfloat16"], judge["bf16_speedup"]],
                [f"LoRA step {args.lora_batch}x{args.lora_tokens} (tokens/s)", lora["tokens_per_s"]["float32"],
                 lora["tokens_per_s"]["bfloat16"], lora["speedup_vs_float32"]["bfloat16"]],
            ],
        ),
        "", f"Judge, bf16 vs fp32: same winner {judge['same_winner_share']:.0%}, largest |p_first difference| "
        f"{judge['max_abs_p_first_difference'] or 0:.2e}. LoRA step under autocast (fp32 weights): "
        f"{lora['speedup_vs_float32']['autocast_bf16']:.2f}x fp32.",
    ]  # fmt: skip
    write("precision", args, payload, "\n".join(md))


if __name__ == "__main__":
    main()
