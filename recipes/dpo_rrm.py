"""DPO on preference pairs labelled by a reasoning reward model (no human labels).

1. Prompts: ``task: small_sums`` (``trl_rrm.tasks.sums``) or ``arithmetic``
   (``trl_rrm.tasks.arithmetic``); the answers are never shown to the labeler or the trainer. For
   ``small_sums`` they measure the policy's greedy accuracy on held-out prompts before and
   after training (``<output_dir>/results.json``).
2. Candidates: ``num_candidates`` samples per prompt from the policy.
3. Labels: ``label_preferences`` ranks each prompt's candidates with a round robin of judge
   matches (default: the embedded SmolLM2-135M-Instruct, ``verdict="direct"``, both orders)
   and keeps best vs worst -> ``<output_dir>/preferences.jsonl``.
4. Training: TRL's DPOTrainer with a LoRA adapter on the policy; the adapter is saved in
   ``output_dir``.

One process (the YAML defaults finish in a few minutes on CPU):

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
from trl_rrm.judges.arguments import JudgeArguments
from trl_rrm.labeling import LabelingConfig, label_preferences
from trl_rrm.tasks.arithmetic import arithmetic_pairs
from trl_rrm.tasks.sums import all_sums, policy_accuracy, small_sums


@dataclass
class RRMDPOConfig:
    """Where the prompts and the policy come from (labeling: ``LabelingConfig``; the judge:
    ``JudgeArguments``; training: ``trl.DPOConfig``)."""

    policy_model: str | None = field(default=None, metadata={"help": "policy id or path (default: embedded SmolLM2)"})
    task: str = field(default="arithmetic", metadata={"help": "prompts: small_sums or arithmetic"})
    num_prompts: int = field(default=8, metadata={"help": "prompts to label"})
    lora_r: int = field(default=8, metadata={"help": "LoRA rank of the trained adapter"})
    lora_alpha: int = field(default=16, metadata={"help": "LoRA alpha"})

    def __post_init__(self) -> None:
        if self.task not in ("small_sums", "arithmetic"):
            raise ValueError(f"task={self.task!r}; expected 'small_sums' or 'arithmetic'")
        for name in ("num_prompts", "lora_r"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)!r} must be >= 1")


def main(cfg: RRMDPOConfig, labeling: LabelingConfig, judge_args: JudgeArguments, training: DPOConfig) -> None:
    policy = cfg.policy_model or str(smollm2_path())
    judge_args.judge_model = judge_args.judge_model or policy  # default: the policy's base judges
    judge = judge_args.build()
    if cfg.task == "small_sums":
        problems = small_sums(cfg.num_prompts, seed=training.seed, split="train")
    else:
        problems = arithmetic_pairs(cfg.num_prompts, seed=training.seed)
    prompts = Dataset.from_list([{"prompt": [{"role": "user", "content": p.prompt}]} for p in problems])
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
    held_out = all_sums("test") if cfg.task == "small_sums" else []
    results: dict = {"train_pairs": len(pairs), "labeling": summary.to_dict(), "seed": training.seed}
    if held_out:
        from transformers import AutoModelForCausalLM

        base = AutoModelForCausalLM.from_pretrained(policy)
        results["before"] = policy_accuracy(base, tokenizer, held_out)
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
    if held_out:
        results["after"] = policy_accuracy(trainer.model, tokenizer, held_out)
    results["adapter"] = training.output_dir
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str))
    print(json.dumps({k: v for k, v in results.items() if k != "labeling"}, indent=2, default=str))


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    main(*TrlParser((RRMDPOConfig, LabelingConfig, JudgeArguments, DPOConfig)).parse_args_and_config())
