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
(``static_cache``, ``prefix_reuse``, ``cache_identical``, ``length_bucketing`` off) on the very same
completions, order alternating between steps, so the judging speedup is measured on
identical work; only the default judge's rewards reach the trainer.
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
    from trl_rrm.tasks.arithmetic import arithmetic_pairs

    base, tokenizer = load(args.model)
    policy = get_peft_model(base, LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"],
                                             task_type="CAUSAL_LM"))
    judging = dict(format="rrm", both_orders=True, max_new_tokens=args.judge_tokens, verdict="likelihood",
                   batch_size=32)
    fast = RRMReward(HFJudge.from_model(policy, tokenizer, disable_adapters=True, **judging), "knockout",
                     num_generations=args.num_generations)
    slow = RRMReward(HFJudge.from_model(policy, tokenizer, disable_adapters=True, prefix_reuse=False,
                                        static_cache=False, cache_identical=False, length_bucketing=False, **judging), "knockout",
                     num_generations=args.num_generations)
    timing = {"generation": 0.0, "judging": 0.0, "judging_no_speedups": 0.0, "prepare": 0.0}
    calls = [0]

    def reward(prompts, completions, **kwargs):
        quiet = {k: v for k, v in kwargs.items() if k not in ("log_metric", "log_extra")}
        order = [("judging", fast, kwargs), ("judging_no_speedups", slow, quiet)]
        if calls[0] % 2:
            order.reverse()
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
    dataset = Dataset.from_dict({"prompt": [[{"role": "user", "content": q.prompt}] for q in arithmetic_pairs(64)]})
    steps: list[dict[str, float]] = []

    class Split(TrainerCallback):
        def on_step_begin(self, *a, **k):
            self.start, self.before = time.perf_counter(), dict(timing)

        def on_step_end(self, *a, **k):
            d = {key: timing[key] - self.before[key] for key in timing}
            # the judging measurement with speedups off is not part of the step
            total = time.perf_counter() - self.start - d["judging_no_speedups"]
            d["step"] = total
            d["loss_backward_update"] = total - (d["prepare"] - d["judging_no_speedups"])
            d["prepare_other"] = d["prepare"] - d["generation"] - d["judging"] - d["judging_no_speedups"]
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
        "last_step": {"matches": stats.matches, "judge_tokens": stats.tokens,
                      "prefix_tokens_saved_total": fast.judge.prefix_tokens_saved},
    }
    md = "\n".join([
        f"### GRPO step split ({args.model} as policy and judge, {args.prompts_per_step} prompts x "
        f"{args.num_generations} completions, knockout, both orders, {args.judge_tokens} judge tokens; "
        f"mean of {len(kept)} steps after warm-up)", "",
        table(["part", "share of step"], rows), "",
        f"Judging with every speedup off, on the same completions: "
        f"{payload['judging_speedup_same_completions']:.2f}x the time of the default judge.",
    ])
    write("grpo_step", args, payload, md)


if __name__ == "__main__":
    main()
