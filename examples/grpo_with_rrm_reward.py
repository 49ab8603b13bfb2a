"""GRPO on unlabeled prompts, rewarded by a judge that lives on the policy's own base.

    python examples/grpo_with_rrm_reward.py                          # embedded SmolLM2, CPU, a few steps
    python examples/grpo_with_rrm_reward.py --judge-adapter path/to/judge_lora --steps 50
    python examples/grpo_with_rrm_reward.py --tiny                   # tiny model built in code (seconds)
    accelerate launch --num_processes 2 examples/grpo_with_rrm_reward.py --steps 50   # several processes

The policy trains LoRA adapter "default". The judge is a second adapter on the same base
weights (``--judge-adapter``), or the bare base with adapters disabled: no second copy
of the model. ``RRMReward`` groups the ``num_generations`` completions of each prompt,
runs a knockout tournament with the judge (both presentation orders), and returns one
reward per completion; the prompts carry no answers. At the end the script prints the
mean step time and how much of it the judge took.
"""

import argparse
import time

from datasets import Dataset
from peft import LoraConfig, get_peft_model
from transformers import TrainerCallback
from trl import GRPOConfig, GRPOTrainer

from trl_rrm import HFJudge, RRMReward
from trl_rrm.inputs import builtin_rows

parser = argparse.ArgumentParser()
parser.add_argument("--tiny", action="store_true", help="a tiny random model built in code instead of SmolLM2")
parser.add_argument("--judge-adapter", default=None, help="LoRA judge adapter (default: the bare base judges)")
parser.add_argument("--steps", type=int, default=3)
parser.add_argument("--num-generations", type=int, default=4)
parser.add_argument("--max-completion-length", type=int, default=24)
parser.add_argument("--judge-tokens", type=int, default=32, help="judge thinking budget")
parser.add_argument(
    "--verdict",
    default="likelihood",
    choices=["generate", "forced", "likelihood", "direct"],
    help="how the verdict is read; likelihood/direct give p(first better) even from a judge that never writes one",
)
parser.add_argument("--output-dir", default="outputs/grpo_rrm_example")
args = parser.parse_args()

if args.tiny:
    from trl_rrm.testing import build_tiny_model, build_tiny_tokenizer

    tokenizer = build_tiny_tokenizer()
    base = build_tiny_model(tokenizer)
else:
    from trl_rrm.embedded import load_smollm2

    base, tokenizer = load_smollm2()

policy = get_peft_model(base, LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
judge_kwargs = dict(format="rrm", both_orders=True, max_new_tokens=args.judge_tokens, verdict=args.verdict, batch_size=32)
if args.judge_adapter:
    judge = HFJudge.from_model(policy, tokenizer, adapter=args.judge_adapter, adapter_name="judge", **judge_kwargs)
else:
    judge = HFJudge.from_model(policy, tokenizer, disable_adapters=True, **judge_kwargs)
reward = RRMReward(judge, tournament="knockout", num_generations=args.num_generations)

# Unlabeled prompts: only the question, no answer column (the questions of a toy set of the checkout).
prompts = [[{"role": "user", "content": p["prompt"]}] for p in builtin_rows("builtin:arithmetic", 64)]
dataset = Dataset.from_dict({"prompt": prompts})


class StepTimer(TrainerCallback):
    """Wall time per optimizer step, and the judge's share of it."""

    def __init__(self):
        self.steps, self.judge = [], []

    def on_step_begin(self, args, state, control, **kwargs):
        self.start, self.judge_before = time.perf_counter(), judge_seconds[0]

    def on_step_end(self, args, state, control, **kwargs):
        self.steps.append(time.perf_counter() - self.start)
        self.judge.append(judge_seconds[0] - self.judge_before)


judge_seconds = [0.0]


def timed_reward(prompts, completions, **kwargs):
    start = time.perf_counter()
    try:
        return reward(prompts, completions, **kwargs)
    finally:
        judge_seconds[0] += time.perf_counter() - start


timed_reward.__name__ = reward.__name__
timer = StepTimer()
config = GRPOConfig(
    output_dir=args.output_dir,
    per_device_train_batch_size=args.num_generations,
    num_generations=args.num_generations,
    max_completion_length=args.max_completion_length,
    max_steps=args.steps,
    learning_rate=5e-5,
    logging_steps=1,
    save_strategy="no",
    report_to="none",
    use_cpu=args.tiny,
    bf16=False,
)
trainer = GRPOTrainer(
    model=policy,
    reward_funcs=timed_reward,
    args=config,
    train_dataset=dataset,
    processing_class=tokenizer,
    callbacks=[timer],
)
trainer.train()

steps = timer.steps[1:] or timer.steps  # the first step includes warm-up
judging = timer.judge[1:] or timer.judge
mean_step, mean_judge = sum(steps) / len(steps), sum(judging) / len(judging)
stats = reward.last_outcome.stats
print(
    f"mean step {mean_step:.2f}s: judging {mean_judge:.2f}s ({mean_judge / mean_step:.0%}), "
    f"generation + loss + backward {mean_step - mean_judge:.2f}s; last step: {stats.matches} matches, "
    f"{stats.tokens} judge tokens, parse failures {stats.metrics().get('parse_failure_rate', 0):.0%}"
)
