"""Train a reasoning reward model (a LoRA judge) with the RRM recipe: GRPO on its verdicts.

Data: preference pairs (prompt, chosen, rejected). Each pair is shown to the judge in a
seeded random order, rendered in the chosen format (``rrm``, ``rm_r1``, ...). The judge
writes an analysis and a verdict; the reward is +1 for the right verdict, -1 for the
wrong one and ``unparsed_reward`` when no verdict can be parsed. GRPOTrainer optimizes a
LoRA adapter on the judge base. An optional warm start fine-tunes the adapter on worked
judgments first (SFTTrainer): the distillation stage of RM-R1. The output is an adapter
that ``HFJudge(base, adapter=output_dir)`` loads.

Built-in data (``train_file: null``): the policy's own sampled answers to small sums
(``trl_rrm.tasks.sums``), a right one vs a wrong one, with traces written by code for the
warm start. Before/after judge accuracy (both orders) on held-out pairs goes to
``<output_dir>/results.json``.

One process (CPU, the embedded SmolLM2-135M-Instruct; 45 minutes measured on 2 shared cores):

    python recipes/train_judge.py --config recipes/configs/train_judge.yaml

Your pairs and base, on GPUs:

    accelerate launch --config_file recipes/accelerate/multi_gpu.yaml recipes/train_judge.py \\
        --config recipes/configs/train_judge.yaml --judge_base Qwen/Qwen2.5-7B-Instruct \\
        --train_file pairs.jsonl --use_cpu false --bf16 true

Every YAML key is a flag too: one TrlParser reads ``TrainJudgeConfig`` and ``trl.GRPOConfig``.
"""

from __future__ import annotations

import json
import logging
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from datasets import Dataset, load_dataset
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import GRPOConfig, GRPOTrainer, SFTConfig, SFTTrainer, TrlParser

from trl_rrm.embedded import SMOLLM2_ID, smollm2_path
from trl_rrm.formats import FORMATS, get_format
from trl_rrm.judges.hf import HFJudge
from trl_rrm.tasks.sums import (
    JudgePair,
    Problem,
    completion_text,
    judge_accuracy,
    judge_pairs,
    judge_trace,
    sample_completions,
    small_sums,
    templated_samples,
)

logger = logging.getLogger("train_judge")


@dataclass
class TrainJudgeConfig:
    """The judge, its data and its warm start (GRPO settings live in ``trl.GRPOConfig``)."""

    judge_base: str | None = field(default=None, metadata={"help": "judge base id or path (default: embedded SmolLM2)"})
    format: str = field(default="rrm", metadata={"help": "rrm, rm_r1 or rm_r1_distilled"})
    train_file: str | None = field(
        default=None, metadata={"help": "jsonl/json/parquet with prompt, chosen, rejected (default: built-in sums)"}
    )
    eval_file: str | None = field(default=None, metadata={"help": "held-out pairs, same columns"})
    candidates: str = field(
        default="mixed",
        metadata={"help": "built-in data: 'sampled' (the base's own answers), 'templated' or 'mixed' (both)"},
    )
    templated_problems: int = field(default=64, metadata={"help": "built-in 'mixed' data: templated training pairs"})
    num_train_problems: int = field(default=160, metadata={"help": "built-in data: training problems"})
    num_eval_problems: int = field(default=64, metadata={"help": "built-in data: held-out problems"})
    samples_per_problem: int = field(default=4, metadata={"help": "built-in data: answers sampled per problem"})
    pairs_per_problem: int = field(default=2, metadata={"help": "built-in data: right/wrong pairs kept per problem"})
    pairs_seed: int = field(default=0, metadata={"help": "built-in data: problems and samples"})
    unparsed_reward: float = field(default=-1.5, metadata={"help": "reward when no verdict can be parsed"})
    sft_epochs: float = field(default=1.0, metadata={"help": "warm start on worked judgments (0: none)"})
    sft_file: str | None = field(
        default=None, metadata={"help": "warm start data: conversational prompt/completion rows (default: built-in traces)"}
    )
    sft_learning_rate: float = field(default=2e-4, metadata={"help": "warm start learning rate"})
    sft_batch_size: int = field(default=8, metadata={"help": "warm start batch size"})
    lora_r: int = field(default=16, metadata={"help": "LoRA rank"})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA alpha"})
    lora_target_modules: list[str] = field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        metadata={"help": "modules that get LoRA"},
    )
    eval_verdict: str = field(default="forced", metadata={"help": "verdict mode of the before/after evaluation"})
    eval_max_new_tokens: int = field(default=64, metadata={"help": "judge budget in the evaluation"})

    def __post_init__(self) -> None:
        pairwise = [f for f in FORMATS if f != "principle"]
        if self.format not in pairwise:
            raise ValueError(f"format={self.format!r} is not a pairwise format; expected one of {pairwise}")
        if self.candidates not in ("sampled", "templated", "mixed"):
            raise ValueError(f"candidates={self.candidates!r}; expected 'sampled', 'templated' or 'mixed'")
        for name in ("num_train_problems", "num_eval_problems", "pairs_per_problem", "sft_batch_size", "lora_r"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)!r} must be >= 1")
        if self.samples_per_problem < 2:
            raise ValueError(f"samples_per_problem={self.samples_per_problem!r} must be >= 2")
        if self.sft_epochs < 0:
            raise ValueError(f"sft_epochs={self.sft_epochs!r} must be >= 0")


def _pairs_from_file(path: str, seed: int) -> list[JudgePair]:
    """Rows with prompt/chosen/rejected -> pairs in a seeded random shown order."""
    suffix = Path(path).suffix.lstrip(".")
    rows = load_dataset({"jsonl": "json"}.get(suffix, suffix), data_files=path, split="train")
    for column in ("prompt", "chosen", "rejected"):
        if column not in rows.column_names:
            raise ValueError(f"{path}: column {column!r} is missing (columns: {rows.column_names})")
    rng = random.Random(f"pairs:{seed}")
    pairs = []
    for row in rows:
        label = rng.randint(0, 1)
        chosen, rejected = completion_text(row["chosen"]), completion_text(row["rejected"])
        first, second = (chosen, rejected) if label == 0 else (rejected, chosen)
        prompt = row["prompt"] if isinstance(row["prompt"], str) else completion_text(row["prompt"])
        pairs.append(JudgePair(Problem(prompt=prompt, answer=0, expression=""), first, second, label))
    return pairs


def build_pairs(cfg: TrainJudgeConfig, model, tokenizer, cache: Path | None = None) -> tuple[list[JudgePair], list[JudgePair]]:
    """Training and held-out pairs: from the files, or built in (sums + the base's answers).

    Held-out pairs are always the base's own sampled answers to held-out questions. The
    built pairs are cached in ``cache`` (sampling is the slow part), keyed by the settings.
    """
    if cfg.train_file:
        train = _pairs_from_file(cfg.train_file, cfg.pairs_seed)
        held_out = _pairs_from_file(cfg.eval_file, cfg.pairs_seed + 1) if cfg.eval_file else []
        return train, held_out
    key = {k: getattr(cfg, k) for k in ("judge_base", "candidates", "num_train_problems", "num_eval_problems",
                                          "samples_per_problem", "pairs_per_problem", "pairs_seed", "templated_problems")}  # fmt: skip
    if cache is not None and cache.is_file():
        stored = json.loads(cache.read_text())
        if stored["key"] == key:
            logger.info("reusing the pairs in %s", cache)
            return tuple([JudgePair(Problem(**p["problem"]), p["first"], p["second"], p["label"]) for p in part]
                         for part in (stored["train"], stored["held_out"]))  # type: ignore[return-value]
    train: list[JudgePair] = []
    if cfg.candidates in ("sampled", "mixed"):
        problems = small_sums(cfg.num_train_problems, seed=cfg.pairs_seed, split="train")
        samples = sample_completions(model, tokenizer, problems, num_samples=cfg.samples_per_problem, seed=cfg.pairs_seed)
        train += judge_pairs(problems, samples, seed=cfg.pairs_seed, per_problem=cfg.pairs_per_problem)
    if cfg.candidates in ("templated", "mixed"):
        n = cfg.num_train_problems if cfg.candidates == "templated" else cfg.templated_problems
        problems = small_sums(n, seed=cfg.pairs_seed + 500, split="train")
        train += judge_pairs(problems, templated_samples(problems, seed=cfg.pairs_seed), seed=cfg.pairs_seed)
    random.Random(cfg.pairs_seed).shuffle(train)
    problems = small_sums(cfg.num_eval_problems, seed=1000, split="test")
    if cfg.candidates == "templated":
        samples = templated_samples(problems, seed=1000)
    else:
        samples = sample_completions(model, tokenizer, problems, num_samples=cfg.samples_per_problem, seed=1000)
    held_out = judge_pairs(problems, samples, seed=1000, per_problem=cfg.pairs_per_problem)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        rows = {"key": key, "train": [asdict(p) for p in train], "held_out": [asdict(p) for p in held_out]}
        cache.write_text(json.dumps(rows))
    return train, held_out


def verdict_reward_function(fmt, unparsed_reward: float):
    """+1 right verdict, -1 wrong verdict, ``unparsed_reward`` without a parseable verdict."""

    def verdict_reward(completions, label, **_):
        rewards = []
        for completion, want in zip(completions, label):
            got = fmt.parse(completion_text(completion))
            rewards.append(unparsed_reward if got is None else 1.0 if got == int(want) else -1.0)
        return rewards

    return verdict_reward


def evaluate(base_path: str, adapter: str | None, cfg: TrainJudgeConfig, pairs: list[JudgePair], seed: int) -> dict:
    judge = HFJudge(
        base_path,
        adapter=adapter,
        format=cfg.format,
        both_orders=True,
        verdict=cfg.eval_verdict,
        max_new_tokens=cfg.eval_max_new_tokens,
        dtype="float32",
        batch_size=32,
        seed=seed,
    )
    return judge_accuracy(judge, pairs)


def main(cfg: TrainJudgeConfig, training: GRPOConfig) -> dict:
    base_path = cfg.judge_base or str(smollm2_path())
    out = Path(training.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    fmt = get_format(cfg.format)
    tokenizer = AutoTokenizer.from_pretrained(base_path)
    model = AutoModelForCausalLM.from_pretrained(base_path, dtype=torch.float32)

    train_pairs, held_out = build_pairs(cfg, model, tokenizer, cache=out / "pairs.json")
    if not train_pairs:
        raise SystemExit("no training pair: every problem's samples were all right or all wrong; raise samples_per_problem")
    logger.info("%d training pairs, %d held-out pairs", len(train_pairs), len(held_out))

    def judge_prompt(p: JudgePair):
        return fmt.render(p.problem.prompt, p.first, p.second)

    lora = LoraConfig(
        r=cfg.lora_r, lora_alpha=cfg.lora_alpha, target_modules=cfg.lora_target_modules, task_type="CAUSAL_LM"
    )
    if cfg.sft_epochs > 0 and (cfg.sft_file or not cfg.train_file):
        if cfg.sft_file:
            sft_data = load_dataset("json", data_files=cfg.sft_file, split="train")
        else:
            sft_data = Dataset.from_list(
                [
                    {"prompt": judge_prompt(p), "completion": [{"role": "assistant", "content": judge_trace(p, cfg.format)}]}
                    for p in train_pairs
                ]
            )
        sft = SFTTrainer(
            model=model,
            args=SFTConfig(
                output_dir=str(out / "sft"),
                num_train_epochs=cfg.sft_epochs,
                learning_rate=cfg.sft_learning_rate,
                per_device_train_batch_size=cfg.sft_batch_size,
                logging_steps=5,
                save_strategy="no",
                report_to="none",
                use_cpu=training.use_cpu,
                bf16=training.bf16,
                gradient_checkpointing=training.gradient_checkpointing,
                seed=training.seed,
            ),
            train_dataset=sft_data,
            processing_class=tokenizer,
            peft_config=lora,
        )
        sft.train()
        model = sft.model
    if not isinstance(model, PeftModel):
        model = get_peft_model(model, lora)

    if training.max_steps != 0:
        grpo_data = Dataset.from_list([{"prompt": judge_prompt(p), "label": p.label} for p in train_pairs])
        trainer = GRPOTrainer(
            model=model,
            reward_funcs=verdict_reward_function(fmt, cfg.unparsed_reward),
            args=training,
            train_dataset=grpo_data,
            processing_class=tokenizer,
        )
        trainer.train()
        model = trainer.model
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    if cfg.judge_base is None:  # the adapter names the public base, not this machine's cache
        config_path = out / "adapter_config.json"
        adapter_config = json.loads(config_path.read_text())
        adapter_config["base_model_name_or_path"] = SMOLLM2_ID
        config_path.write_text(json.dumps(adapter_config, indent=2))
    del model

    results = {"adapter": str(out), "format": cfg.format, "train_pairs": len(train_pairs), "held_out_pairs": len(held_out)}
    if held_out:
        results["before"] = evaluate(base_path, None, cfg, held_out, training.seed)
        results["after"] = evaluate(base_path, str(out), cfg, held_out, training.seed)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    main(*TrlParser((TrainJudgeConfig, GRPOConfig)).parse_args_and_config())
