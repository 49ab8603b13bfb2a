"""GRPO of a policy on unlabeled prompts, rewarded by a reasoning reward model (RRMReward).

The policy trains a LoRA adapter. The judge is, by default, a second adapter on the
policy's own base weights (``judge_adapter``; no second copy of the model), or a
separate model (``judge_model``, optionally 4-bit), or a served model behind an
OpenAI-compatible endpoint (``judge_base_url``). Each group of ``num_generations``
completions is ranked by a tournament (any of ``trl_rrm.tournaments.TOURNAMENTS``;
docs/tournaments.md) and every completion gets its reward.

Built-in datasets (the tasks beside this recipe, ``tasks.registry``): ``builtin:constraints`` (short requests with a
constraint code can check; the proof's task) and ``builtin:small_sums`` (the hard case).
The policy never sees the checkers or the answers: they only measure the held-out score
(satisfaction on prompts about unseen topics; accuracy on held-out questions) before,
during (``score_steps``) and after training, written to ``<output_dir>/results.json`` with
each step's reward, step time and judge time. ``reward: ground_truth`` trains on the
checker instead: the labeled baseline with the same budget. ``reward: verified`` mixes
them: the checker settles the groups it separates and the judge ranks only the others
(all right or all wrong), for tasks with a verifier (``RRMReward(verifier=...)``).

CPU, the embedded SmolLM2-135M-Instruct as policy and judge (10 steps; with ``--reward ground_truth``
25 min measured in fp32 on 2 cores, the first two steps shared with a test run; ``bf16`` unset:
on if the CPU computes bf16 natively, ``trl_rrm.precision``):

    python recipes/grpo_rrm.py --config recipes/configs/grpo_rrm_cpu.yaml

One GPU, a 1.5B policy and a 7B judge in 4-bit:

    accelerate launch --config_file recipes/accelerate/single_gpu.yaml recipes/grpo_rrm.py \\
        --config recipes/configs/grpo_rrm_1gpu.yaml

Several GPUs, DeepSpeed ZeRO-2, the judge as an adapter on the policy's base:

    accelerate launch --config_file recipes/accelerate/zero2.yaml --num_processes 8 recipes/grpo_rrm.py \\
        --config recipes/configs/grpo_rrm_multi_gpu.yaml

Every YAML key is a flag too: one TrlParser reads ``RRMGRPOConfig``, ``JudgeArguments`` (every
``judge_*`` option, the same as ``trl-rrm label --judge-*``) and ``trl.GRPOConfig``.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from datasets import Dataset, load_dataset
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
from trl import GRPOConfig, GRPOTrainer, TrlParser

from trl_rrm import AsyncRRMReward, RRMReward
from trl_rrm.embedded import smollm2_path
from trl_rrm.hacking import audit_agreement
from trl_rrm.judges.flags.arguments import JudgeArguments
from trl_rrm.precision import default_bf16
from trl_rrm.recipe_results import write_results
from trl_rrm.sampling import generate_completions
from trl_rrm.tournaments.registry import DEFAULT_TOURNAMENT, TOURNAMENTS

from tasks import CHECKED_TASKS, get_task

logger = logging.getLogger("grpo_rrm")
REWARDS = ("rrm", "ground_truth", "verified")


@dataclass
class RRMGRPOConfig:
    """The policy's data, its reward and the tournament (the judge: ``JudgeArguments``;
    GRPO settings: ``trl.GRPOConfig``)."""

    policy_model: str | None = field(default=None, metadata={"help": "policy id or path (default: embedded SmolLM2)"})
    dataset: str = field(default="builtin:constraints", metadata={"help": f"builtin:{'/'.join(CHECKED_TASKS)}, a hub dataset or a file"})
    dataset_split: str = field(default="train", metadata={"help": "split of a hub dataset"})
    prompt_column: str = field(default="prompt", metadata={"help": "column with the prompts (text or messages)"})
    num_train_prompts: int = field(default=256, metadata={"help": "built-in dataset: training prompts"})
    eval_max_new_tokens: int = field(default=32, metadata={"help": "policy budget in the held-out evaluation"})
    eval_limit: int | None = field(default=None, metadata={"help": "held-out prompts scored (None: all)"})
    score_steps: list[int] = field(default_factory=list, metadata={"help": "also score the held-out set after these steps"})
    reward: str = field(
        default="rrm",
        metadata={"help": "rrm (the judge, no labels), ground_truth (built-in only) or verified (built-in only: the "
                  "task's checker settles the groups it separates, the judge ranks the rest; fewer judgments)",
                  "choices": REWARDS},
    )  # fmt: skip
    tournament: str | None = field(
        default=None,
        metadata={"help": f"a tournament: {', '.join(TOURNAMENTS)}; None: {DEFAULT_TOURNAMENT}, or pointwise for a "
                          "pointwise judge (RRMReward's default)"},
    )  # fmt: skip
    audit: bool = field(
        default=True,
        metadata={"help": "built-in task, reward rrm: log rrm_reward/audit_agreement, how often the judge orders a "
                  "training group as the task's checker does (the label column rides along for the audit only)"},
    )  # fmt: skip
    final_audit_prompts: int = field(
        default=16,
        metadata={"help": "built-in task, reward rrm: after training, the judge ranks num_generations answers of the "
                  "trained policy to this many held-out prompts; its agreement with the checker is reported (0: off)"},
    )  # fmt: skip
    lora_r: int = field(default=8, metadata={"help": "policy LoRA rank"})
    lora_alpha: int = field(default=16, metadata={"help": "policy LoRA alpha"})
    lora_target_modules: list[str] = field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"], metadata={"help": "policy LoRA modules"}
    )

    def __post_init__(self) -> None:
        if isinstance(self.policy_model, str) and self.policy_model.lower() in ("", "null", "none"):
            self.policy_model = None  # "--policy_model null" on the command line means None, as in YAML
        if self.reward not in REWARDS:
            raise ValueError(f"reward={self.reward!r}; expected one of {REWARDS}")
        if self.labelled() and not self.dataset.startswith("builtin:"):
            raise ValueError(f"reward={self.reward!r} needs a built-in dataset (got dataset={self.dataset!r})")
        if self.dataset.startswith("builtin:") and self.dataset.removeprefix("builtin:") not in CHECKED_TASKS:
            raise ValueError(f"dataset={self.dataset!r}: expected builtin:{'/'.join(CHECKED_TASKS)} (a task with a "
                             "checker: its held-out score is the result), a hub dataset or a file")  # fmt: skip
        for name in ("num_train_prompts", "lora_r"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)!r} must be >= 1")
        if self.final_audit_prompts < 0:
            raise ValueError(f"final_audit_prompts={self.final_audit_prompts!r} must be >= 0")

    def judged(self) -> bool:
        """A judge rewards (some of) the groups."""
        return self.reward in ("rrm", "verified")

    def labelled(self) -> bool:
        """The task's checker rewards (some of) the groups: its labels are read."""
        return self.reward in ("ground_truth", "verified")

    def audited(self) -> bool:
        """The judge is audited against the task's checker (labels attached, never judged).
        Not with ``reward: verified``: the checker is then part of the reward, so the audit
        would call it a second time to find that it agrees with itself."""
        return self.audit and self.reward == "rrm" and self.dataset.startswith("builtin:")


def build_dataset(cfg: RRMGRPOConfig, seed: int) -> Dataset:
    """Training prompts; a built-in task's labels are attached only for the ground-truth
    reward or the audit (``RRMReward`` reads its own columns, never the label)."""
    if cfg.dataset.startswith("builtin:"):
        labels = cfg.labelled() or cfg.audited()
        return Dataset.from_list(get_task(cfg.dataset).train_rows(cfg.num_train_prompts, seed, labels))
    suffix = Path(cfg.dataset).suffix.lstrip(".")
    if Path(cfg.dataset).exists():
        data = load_dataset({"jsonl": "json"}.get(suffix, suffix), data_files=cfg.dataset, split="train")
    else:
        data = load_dataset(cfg.dataset, split=cfg.dataset_split)
    if cfg.prompt_column not in data.column_names:
        raise ValueError(f"dataset={cfg.dataset!r} has no column prompt_column={cfg.prompt_column!r}: {data.column_names}")
    return data.rename_column(cfg.prompt_column, "prompt") if cfg.prompt_column != "prompt" else data


class HeldOutScore(TrainerCallback):
    """Scores the held-out set after the chosen steps (the learning curve of the proof)."""

    def __init__(self, score, steps: list[int]) -> None:
        self.score, self.steps, self.curve = score, set(steps), []

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if state.global_step in self.steps:
            self.curve.append({"step": state.global_step, **self.score(model)})
            logger.info("step %d: held-out score %.3f", state.global_step, self.curve[-1]["rate"])


def final_audit(reward, task, model, tokenizer, cfg: RRMGRPOConfig, training: GRPOConfig) -> dict:
    """The judge against the checker on the trained policy's own answers: ``num_generations``
    samples (training's temperature and length) for each of the first ``final_audit_prompts``
    held-out prompts, rewarded by ``reward`` as in training; ``agreement`` is
    ``trl_rrm.hacking.audit_agreement`` of its rewards with the checker's."""
    rows = task.held_out_rows(cfg.final_audit_prompts)
    n = training.num_generations
    samples = generate_completions(model, tokenizer, [row["prompt"] for row in rows], num_samples=n,
                                   temperature=training.temperature, max_new_tokens=training.max_completion_length,
                                   seed=training.seed)  # fmt: skip
    prompts = [row["prompt"] for row in rows for _ in range(n)]
    completions = [text for group in samples for text in group]
    labels = {task.label_column: [row[task.label_column] for row in rows for _ in range(n)]}
    metrics: dict = {}
    start = time.perf_counter()
    rewards = reward(prompts=prompts, completions=completions, log_metric=lambda k, v: metrics.setdefault(k, v), **labels)
    if inspect.iscoroutine(rewards):  # AsyncRRMReward (a served judge)
        rewards = asyncio.run(rewards)
    seconds = time.perf_counter() - start
    checked = task.reward(prompts=prompts, completions=completions, **labels)
    groups = range(0, len(prompts), n)
    agreement = audit_agreement([rewards[g : g + n] for g in groups], [checked[g : g + n] for g in groups])
    name = getattr(reward, "__name__", "rrm_reward")
    return {"prompts": len(rows), "answers": len(completions), "agreement": agreement, "checker_rate": sum(checked) / len(checked),
            "judge_seconds": round(seconds, 1), **{k.removeprefix(name + "/"): v for k, v in metrics.items()}}  # fmt: skip


def step_summary(train_log: list[dict]) -> dict:
    """Means over the logged steps: ``step_seconds``, and with a judge ``judge_share`` (its
    wall time over the step's), ``matches`` or ``grades`` (judged per step), ``judgments`` and
    ``judge_tokens`` per step, ``audit_agreement`` and ``verified_group_rate`` (groups the
    checker settled, ``reward: verified``)."""
    def mean(key: str) -> float | None:
        values = [entry[key] for entry in train_log if entry.get(key) is not None]
        return sum(values) / len(values) if values else None

    step, judge, audit = mean("step_time"), mean("rrm_reward/judge_seconds"), mean("rrm_reward/audit_agreement")
    out = {"step_seconds": step}
    if judge is not None and step:
        out["judge_share"] = judge / step
    for key in ("matches", "grades", "judgments", "judge_tokens", "verified_group_rate"):
        if (value := mean(f"rrm_reward/{key}")) is not None:
            out[key] = value
    if audit is not None:
        out["audit_agreement"] = audit
    return out


def main(cfg: RRMGRPOConfig, judge_args: JudgeArguments, training: GRPOConfig) -> dict:
    policy_path = cfg.policy_model or str(smollm2_path())
    tokenizer = AutoTokenizer.from_pretrained(policy_path)
    base = AutoModelForCausalLM.from_pretrained(policy_path, dtype=torch.bfloat16 if training.bf16 else torch.float32)
    policy = get_peft_model(
        base,
        LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, target_modules=cfg.lora_target_modules, task_type="CAUSAL_LM"),
    )
    task = get_task(cfg.dataset) if cfg.dataset.startswith("builtin:") else None

    def score(model) -> dict:
        result = task.score(model, tokenizer, max_new_tokens=cfg.eval_max_new_tokens, limit=cfg.eval_limit)
        return {k: v for k, v in result.items() if k in ("rate", "n", "per_type", "examples")}

    results: dict = {"reward": cfg.reward, "dataset": cfg.dataset, "seed": training.seed, "max_steps": training.max_steps}
    if task is not None:
        logger.info("scoring the untrained policy on the held-out set")
        results["before"] = score(policy)
        logger.info("untrained: %.3f", results["before"]["rate"])

    if cfg.judged():  # the judge (and a served judge's check) before any training
        # judge_model set: a separate judge; judge_base_url: a served one (checked now);
        # neither: the judge_adapter (or the bare base) on the policy's own weights.
        judge = judge_args.build(policy, tokenizer)
        # A served judge answers over HTTP: as an async reward TRL awaits it beside the others.
        reward_class = AsyncRRMReward if judge_args.judge_base_url else RRMReward
        audit = task.reward if cfg.audited() else None  # reads the label column; the judge never does
        verifier = task.reward if cfg.reward == "verified" else None  # settles what it separates, unjudged
        reward_funcs = reward_class(judge, tournament=cfg.tournament, num_generations=training.num_generations,
                                    audit=audit, verifier=verifier)  # fmt: skip
    else:
        reward_funcs = task.reward
    curve = HeldOutScore(score, cfg.score_steps if task is not None else [])
    trainer = GRPOTrainer(
        model=policy,
        reward_funcs=reward_funcs,
        args=training,
        train_dataset=build_dataset(cfg, training.seed),
        processing_class=tokenizer,
        callbacks=[curve],
    )
    started = time.perf_counter()
    trainer.train()
    results["train_seconds"] = round(time.perf_counter() - started, 1)
    if not trainer.accelerator.is_main_process:
        return results
    trainer.save_model(training.output_dir)
    if task is not None:
        scored_last = bool(curve.curve) and curve.curve[-1]["step"] == trainer.state.global_step
        after = {k: v for k, v in curve.curve[-1].items() if k != "step"} if scored_last else score(trainer.model)
        results["after"] = after  # the callback's score of the last step when it took one (the same model)
        results["curve"] = [{"step": 0, **results["before"]}, *curve.curve]
        if not scored_last:
            results["curve"].append({"step": trainer.state.global_step, **after})
        if cfg.judged() and cfg.final_audit_prompts:
            logger.info("final audit: the judge ranks the trained policy's answers to %d held-out prompts", cfg.final_audit_prompts)
            results["final_audit"] = final_audit(reward_funcs, task, trainer.model, tokenizer, cfg, training)
            logger.info("final audit: judge-checker agreement %s", results["final_audit"]["agreement"])
    keep = ("step", "reward", "reward_std", "step_time")
    results["train_log"] = [
        {k: v for k, v in entry.items() if k in keep or k.startswith("rewards/") or k.startswith("rrm_reward/")}
        for entry in trainer.state.log_history
        if "reward" in entry
    ]
    results.update(step_summary(results["train_log"]))
    write_results(training.output_dir, results)
    print(json.dumps({k: v for k, v in results.items() if k != "train_log"}, indent=2))
    return results


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = TrlParser((RRMGRPOConfig, JudgeArguments, GRPOConfig))
    parser.set_defaults(bf16=default_bf16())  # CPU: bf16 where the CPU computes it natively; bf16: in YAML or --bf16 wins
    main(*parser.parse_args_and_config())
