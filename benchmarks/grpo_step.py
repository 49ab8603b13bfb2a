"""A GRPO step split into policy generation, judging and the rest (loss + backward + update).

    python benchmarks/grpo_step.py                      # SmolLM2 as policy and judge, CPU
    python benchmarks/grpo_step.py --model tiny --steps 3

GRPOTrainer with a LoRA policy; the judge is the policy's own base with adapters disabled
(``HFJudge.from_model``), knockout tournament, both orders, ``likelihood`` verdicts (an
untrained judge still gives a probability), as in ``examples/grpo_with_rrm_reward.py``.
Per step: wall time, time in policy generation (``GRPOTrainer._generate``), in the reward
(judging), the other preparation (old/ref log-probs), and loss + backward + optimizer
(the rest of the step). The first step is warm-up and left out.

Inside the same reward call the judge also runs with every speedup switched off
(``static_cache``, ``prefix_reuse``, ``prefix_memory``, ``cache_identical``, ``length_bucketing``,
``reuse_analysis_cache``, ``continuous_decoding`` off), with only ``reuse_analysis_cache`` off
(the labels scored by a second prefill of prompt + analysis), with only ``continuous_decoding``
off (``model.generate``), with only ``static_cache`` off (continuous decoding into a cache
that copies itself each step) and with only ``prefix_memory`` off (the system prompt computed
again in each knockout round), on the very same completions, the order
rotating between steps, so each speedup is measured on identical work; only the default
judge's rewards reach the trainer, and the step's time leaves the others out.
"""

from __future__ import annotations

import time

from _common import load, parser, setup, table, write


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=4, help="steps, the first one is warm-up")
    p.add_argument("--num-generations", type=int, default=8)
    p.add_argument("--prompts-per-step", type=int, default=2)
    p.add_argument("--max-completion-length", type=int, default=24)
    p.add_argument("--judge-tokens", type=int, default=32)
    args = p.parse_args()
    setup(args)
    from datasets import Dataset
    from peft import LoraConfig, get_peft_model
    from transformers import TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    from trl_rrm import HFJudge, RRMReward
    from trl_rrm.inputs import builtin_rows

    base, tokenizer = load(args.model)
    policy = get_peft_model(base, LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"],
                                             task_type="CAUSAL_LM"))
    judging = dict(format="rrm", both_orders=True, max_new_tokens=args.judge_tokens, verdict="likelihood",
                   batch_size=32)
    def rrm(**switches):
        judge = HFJudge.from_model(policy, tokenizer, disable_adapters=True, **switches, **judging)
        return RRMReward(judge, "knockout", num_generations=args.num_generations)

    fast = rrm()
    off = dict(prefix_reuse=False, prefix_memory=False, static_cache=False, cache_identical=False,
               length_bucketing=False, reuse_analysis_cache=False, continuous_decoding=False)
    references = {  # judged on the same completions, left out of the step's time
        "judging_no_speedups": rrm(**off),
        "judging_second_prefill": rrm(reuse_analysis_cache=False),
        "judging_generate": rrm(continuous_decoding=False),
        "judging_dynamic_cache": rrm(static_cache=False),
        "judging_no_prefix_memory": rrm(prefix_memory=False),
    }
    timing = {"generation": 0.0, "judging": 0.0, "prepare": 0.0, **dict.fromkeys(references, 0.0)}
    calls = [0]

    def reward(prompts, completions, **kwargs):
        quiet = {k: v for k, v in kwargs.items() if k not in ("log_metric", "log_extra")}
        order = [("judging", fast, kwargs)] + [(key, fn, quiet) for key, fn in references.items()]
        turn = calls[0] % len(order)
        order = order[turn:] + order[:turn]
        calls[0] += 1
        out = None
        for key, fn, kw in order:
            start = time.perf_counter()
            scores = fn(prompts, completions, **kw)
            timing[key] += time.perf_counter() - start
            if fn is fast:
                out = scores
        return out

    reward.__name__ = "rrm_reward"
    dataset = Dataset.from_dict({"prompt": [[{"role": "user", "content": q["prompt"]}] for q in builtin_rows("builtin:arithmetic", 64)]})
    steps: list[dict[str, float]] = []

    class Split(TrainerCallback):
        def on_step_begin(self, *a, **k):
            self.start, self.before = time.perf_counter(), dict(timing)

        def on_step_end(self, *a, **k):
            d = {key: timing[key] - self.before[key] for key in timing}
            # the reference judgings are not part of the step
            extra = sum(d[key] for key in references)
            total = time.perf_counter() - self.start - extra
            d["step"] = total
            d["loss_backward_update"] = total - (d["prepare"] - extra)
            d["prepare_other"] = d["prepare"] - d["generation"] - d["judging"] - extra
            steps.append(d)

    config = GRPOConfig(
        output_dir="/tmp/trl_rrm_bench_grpo", per_device_train_batch_size=args.num_generations * args.prompts_per_step,
        num_generations=args.num_generations, max_completion_length=args.max_completion_length,
        max_steps=args.steps, learning_rate=5e-5, logging_steps=1, save_strategy="no", report_to="none",
        use_cpu=True, bf16=False, disable_tqdm=True,
    )
    trainer = GRPOTrainer(model=policy, reward_funcs=reward, args=config, train_dataset=dataset,
                          processing_class=tokenizer, callbacks=[Split()])

    def timed(key, fn):
        def wrapper(*a, **k):
            start = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                timing[key] += time.perf_counter() - start
        return wrapper

    trainer._generate = timed("generation", trainer._generate)
    trainer._generate_and_score_completions = timed("prepare", trainer._generate_and_score_completions)
    trainer.train()

    kept = steps[1:] or steps
    mean = {k: sum(s[k] for s in kept) / len(kept) for k in kept[0]}
    stats = fast.last_outcome.stats
    parts = ["generation", "judging", "prepare_other", "loss_backward_update"]
    rows = [[k, mean[k] / mean["step"]] for k in parts]
    payload = {
        "config": {"steps": args.steps, "num_generations": args.num_generations,
                   "prompts_per_step": args.prompts_per_step, "max_completion_length": args.max_completion_length,
                   "judge_tokens": args.judge_tokens, "tournament": "knockout", "both_orders": True,
                   "verdict": "likelihood"},
        "steps": steps,
        "mean_seconds": mean,
        "share_of_step": {k: mean[k] / mean["step"] for k in parts},
        "judging_speedup_same_completions": mean["judging_no_speedups"] / mean["judging"],
        "reuse_analysis_cache_speedup": mean["judging_second_prefill"] / mean["judging"],
        "continuous_decoding_speedup": mean["judging_generate"] / mean["judging"],
        "static_cache_speedup": mean["judging_dynamic_cache"] / mean["judging"],
        "prefix_memory_speedup": mean["judging_no_prefix_memory"] / mean["judging"],
        "judge_share_with_second_prefill": (mean["judging_second_prefill"])
        / (mean["step"] - mean["judging"] + mean["judging_second_prefill"]),
        "last_step": {"matches": stats.matches, "judge_tokens": stats.tokens,
                      "prefix_tokens_saved_total": fast.judge.prefix_tokens_saved,
                      "prefix_tokens_recalled_total": fast.judge.prefix_tokens_recalled,
                      "analysis_tokens_reused_total": fast.judge.analysis_tokens_reused},
    }
    md = "\n".join([
        f"### GRPO step split ({args.model} as policy and judge, {args.prompts_per_step} prompts x "
        f"{args.num_generations} completions, knockout, both orders, {args.judge_tokens} judge tokens; "
        f"mean of {len(kept)} steps after warm-up)", "",
        table(["part", "share of step"], rows), "",
        f"Judging with every speedup off, on the same completions: "
        f"{payload['judging_speedup_same_completions']:.2f}x the time of the default judge; with the labels "
        f"scored by a second prefill (reuse_analysis_cache off): {payload['reuse_analysis_cache_speedup']:.2f}x, "
        f"a judge share of {payload['judge_share_with_second_prefill']:.0%} instead of "
        f"{payload['share_of_step']['judging']:.0%}; decoding with model.generate (continuous_decoding off): "
        f"{payload['continuous_decoding_speedup']:.2f}x; continuous decoding into a dynamic cache (static_cache "
        f"off): {payload['static_cache_speedup']:.2f}x; the system prompt computed in every round (prefix_memory "
        f"off): {payload['prefix_memory_speedup']:.2f}x.",
    ])
    write("grpo_step", args, payload, md)


if __name__ == "__main__":
    main()
