"""Memory of policy + judge: a separate judge, a shared-base adapter judge, a 4-bit judge.

    python benchmarks/memory.py                     # SmolLM2 as policy and judge, CPU
    python benchmarks/memory.py --model tiny

Each configuration runs in a fresh subprocess, so its peak resident memory (RSS; and
peak GPU memory where CUDA is present) is its own. Every configuration loads the policy
(the model + a LoRA adapter, as a GRPO run holds it), generates one completion with it,
then judges ``--matches`` matches (``direct`` verdicts, both orders):

- ``policy_only``: no judge (the baseline);
- ``separate_judge``: a second full copy of the model as ``HFJudge(path)``;
- ``shared_adapter``: ``HFJudge.from_model(policy, adapter_name="judge")``: a judge LoRA
  on the policy's own base weights;
- ``judge_4bit``: ``HFJudge(path, load_in_4bit=True)`` (bitsandbytes NF4); skipped, with
  the reason, where bitsandbytes cannot quantize on this machine.

``imports_only`` (torch, transformers, peft imported, nothing loaded) is the floor;
"judge overhead" is a configuration's peak minus ``policy_only``'s.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from _common import parser, setup, table, write

CONFIGS = ("imports_only", "policy_only", "separate_judge", "shared_adapter", "judge_4bit")


def child(config: str, model_name: str, matches: int) -> dict:
    import resource

    import torch
    from peft import LoraConfig, get_peft_model  # noqa: F401  (part of the floor)

    from _common import load, matches_workload, model_path
    from trl_rrm import HFJudge

    def peak_mb() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    out: dict = {"config": config}
    if config == "imports_only":
        return out | {"peak_rss_mb": peak_mb()}
    if config == "judge_4bit":
        try:
            import bitsandbytes  # noqa: F401
        except ImportError as err:
            return out | {"skipped": f"bitsandbytes is not installed: {err}"}
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model, tokenizer = load(model_name)
    model.to(device)
    lora = dict(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
    policy = get_peft_model(model, LoraConfig(**lora))
    if config == "shared_adapter":
        policy.add_adapter("judge", LoraConfig(**lora, init_lora_weights=False))
        policy.set_adapter("default")
    with torch.no_grad():
        ids = tokenizer.apply_chat_template([{"role": "user", "content": "What is 12 + 30?"}],
                                            add_generation_prompt=True, return_tensors="pt", return_dict=True)
        policy.generate(**{k: v.to(device) for k, v in ids.items()}, max_new_tokens=8, do_sample=False)
    judging = dict(verdict="direct", both_orders=True, batch_size=8)
    judge = None
    try:
        if config == "separate_judge":
            judge = HFJudge(model_path(model_name), device=device, dtype="float32", **judging)
        elif config == "shared_adapter":
            judge = HFJudge.from_model(policy, tokenizer, adapter_name="judge", **judging)
        elif config == "judge_4bit":
            judge = HFJudge(model_path(model_name), load_in_4bit=True, device=device, **judging)
        if judge is not None:
            verdicts = judge.compare(matches_workload(matches))
            out["p_first_mean"] = sum(v.p_first for v in verdicts) / len(verdicts)
    except Exception as err:  # a 4-bit backend that cannot run here: say why, skip cleanly
        if config != "judge_4bit":
            raise
        return out | {"skipped": f"{type(err).__name__}: {str(err)[:300]}"}
    out["peak_rss_mb"] = peak_mb()
    if torch.cuda.is_available():
        out["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
    out["parameters_mb"] = sum(p.numel() * p.element_size() for p in policy.parameters()) / 2**20
    if judge is not None and not judge.runner.borrowed:
        out["judge_parameters_mb"] = sum(p.numel() * p.element_size() for p in judge.model.parameters()) / 2**20
    return out


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--matches", type=int, default=16)
    p.add_argument("--child", choices=CONFIGS, help=argparse_suppress())
    args = p.parse_args()
    if args.child:
        setup(args)
        print("RESULT " + json.dumps(child(args.child, args.model, args.matches)))
        return
    results = {}
    for config in CONFIGS:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", config, "--model", args.model,
               "--matches", str(args.matches), "--threads", str(args.threads)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        line = next((l for l in proc.stdout.splitlines() if l.startswith("RESULT ")), None)
        if line is None:
            results[config] = {"config": config, "error": proc.stderr[-1500:]}
        else:
            results[config] = json.loads(line[len("RESULT "):])
    base = results["policy_only"].get("peak_rss_mb")
    rows = []
    for config, r in results.items():
        peak = r.get("peak_rss_mb")
        over = None if peak is None or base is None or config == "imports_only" else peak - base
        r["judge_overhead_mb"] = over
        note = r.get("skipped") or r.get("error", "")[-120:] or ""
        rows.append([config, "-" if peak is None else f"{peak:.0f}", "-" if over is None else f"{over:+.0f}",
                     f"{r['peak_gpu_mb']:.0f}" if "peak_gpu_mb" in r else "-", note])
    md = "\n".join([
        f"### Memory of policy + judge ({args.model}; fresh process per configuration)", "",
        table(["configuration", "peak RSS (MB)", "judge overhead vs policy_only (MB)", "peak GPU (MB)", "note"], rows),
    ])
    write("memory", args, {"config": {"matches": args.matches}, "results": results}, md)


def argparse_suppress() -> str:
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    main()
