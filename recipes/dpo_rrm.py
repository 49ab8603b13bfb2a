"""DPO on preference pairs labelled by a reasoning reward model (no human labels).

1. Prompts: a built-in task of ``tasks.registry`` (``constraints``, ``small_sums``,
   ``arithmetic``); the checkers and answers are never shown to the labeler or the
   trainer. For the tasks with a checker (the proof's) they measure the policy's held-out
   score before and after training (``<output_dir>/results.json``).
2. Candidates: ``num_candidates`` samples per prompt from the policy.
3. Labels: ``label_preferences`` ranks each prompt's candidates with a round robin of judge
   matches (default: the embedded SmolLM2-135M-Instruct, ``verdict="direct"``, both orders)
   and keeps best vs worst -> ``<output_dir>/preferences.jsonl``.
4. Training: TRL's DPOTrainer with a LoRA adapter on the policy; the adapter is saved in
   ``output_dir``.

One process (the YAML defaults finish in a few minutes on CPU; ``bf16`` unset: on if the CPU
computes bf16 natively, ``trl_rrm.precision``):

    python recipes/dpo_rrm.py --config recipes/configs/dpo_rrm.yaml

Several GPUs (labeling is split across ranks, then DDP training):

    accelerate launch --num_processes 8 recipes/dpo_rrm.py --config recipes/configs/dpo_rrm.yaml --use_cpu false

Every YAML key is also a flag (``--num_prompts 64 --max_steps 100``): one TrlParser reads
``RRMDPOConfig``, ``LabelingConfig`` and ``JudgeArguments`` (the same options as ``trl-rrm
label``) and ``trl.DPOConfig`` (training).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from datasets import Dataset
from peft import LoraConfig
from transformers import AutoTokenizer
from trl import DPOConfig, DPOTrainer, TrlParser

from trl_rrm.embedded import smollm2_path
from trl_rrm.judges.flags.arguments import JudgeArguments
from trl_rrm.labeling import LabelingConfig, label_preferences
from trl_rrm.precision import default_bf16
from trl_rrm.recipe_results import write_results

from tasks import TRAINING_TASKS, get_task


@dataclass
class RRMDPOConfig:
    """Where the prompts and the policy come from (labeling: ``LabelingConfig``; the judge:
    ``JudgeArguments``; training: ``trl.DPOConfig``)."""

    policy_model: str | None = field(default=None, metadata={"help": "policy id or path (default: embedded SmolLM2)"})
    task: str = field(default="arithmetic", metadata={"help": f"prompts: {', '.join(TRAINING_TASKS)}"})
    num_prompts: int = field(default=8, metadata={"help": "prompts to label"})
    eval_max_new_tokens: int = field(default=32, metadata={"help": "policy budget in the held-out evaluation"})
    eval_limit: int | None = field(default=None, metadata={"help": "held-out prompts scored (None: all)"})
    lora_r: int = field(default=8, metadata={"help": "LoRA rank of the trained adapter"})
    lora_alpha: int = field(default=16, metadata={"help": "LoRA alpha"})

    def __post_init__(self) -> None:
        if self.task not in TRAINING_TASKS:
            raise ValueError(f"task={self.task!r}; expected one of {TRAINING_TASKS}")
        for name in ("num_prompts", "lora_r"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)!r} must be >= 1")


def main(cfg: RRMDPOConfig, labeling: LabelingConfig, judge_args: JudgeArguments, training: DPOConfig) -> None:
    policy = cfg.policy_model or str(smollm2_path())
    judge_args.judge_model = judge_args.judge_model or policy  # default: the policy's base judges
    judge = judge_args.build()
    task = get_task(cfg.task)
    prompts = Dataset.from_list(task.train_rows(cfg.num_prompts, training.seed, labels=False))
    out = Path(training.output_dir)
    summary = label_preferences(
        prompts, judge, output=out / "preferences.jsonl", config=labeling, policy=policy, seed=training.seed,
        overwrite=True, progress=True,
    )  # fmt: skip
    print(json.dumps({"labeling": summary.to_dict()}, indent=2))
    del judge  # free the judge before training
    pairs = summary.dataset
    if pairs is None or len(pairs) == 0:
        raise SystemExit("no preference pair survived labeling; raise num_prompts or loosen the filters")
    pairs = pairs.select_columns(["prompt", "chosen", "rejected"])
    tokenizer = AutoTokenizer.from_pretrained(policy)
    results: dict = {"task": cfg.task, "train_pairs": len(pairs), "labeling": summary.to_dict(), "seed": training.seed}

    def score(model) -> dict:
        return task.score(model, tokenizer, max_new_tokens=cfg.eval_max_new_tokens, limit=cfg.eval_limit)

    if task.checked:
        from transformers import AutoModelForCausalLM

        base = AutoModelForCausalLM.from_pretrained(policy)
        results["before"] = score(base)
        del base

    trainer = DPOTrainer(
        model=policy,
        args=training,
        train_dataset=pairs,
        processing_class=tokenizer,
        peft_config=LoraConfig(
            r=cfg.lora_r, lora_alpha=cfg.lora_alpha, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"
        ),
    )
    trainer.train()
    trainer.save_model(training.output_dir)
    if task.checked:
        results["after"] = score(trainer.model)
    results["adapter"] = training.output_dir
    write_results(out, results)
    print(json.dumps({k: v for k, v in results.items() if k != "labeling"}, indent=2, default=str))


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = TrlParser((RRMDPOConfig, LabelingConfig, JudgeArguments, DPOConfig))
    parser.set_defaults(bf16=default_bf16())  # CPU: bf16 where the CPU computes it natively; bf16: in YAML or --bf16 wins
    main(*parser.parse_args_and_config())
