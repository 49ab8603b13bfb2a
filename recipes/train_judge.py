"""Train a reasoning reward model (a LoRA judge): a warm start on code-written judgments,
then GRPO on its verdicts (the RRM recipe).

Data: preference pairs (prompt, chosen, rejected), from a file or built in:
- ``task: constraints`` (default): requests with a constraint code can check; the base's
  own sampled answers, one satisfying vs one violating, and code-written near misses for
  the rare types (``trl_rrm.tasks.constraints.judge_data``);
- ``task: small_sums``: the base's answers to small sums (the hard case).
Every pair is shown in BOTH orders, so position bias is trained away.

1. Warm start (SFTTrainer, LoRA): targets written by code that check the constraint for
   each response, then give the verdict (``judge_trace``: RM-R1's distillation stage with
   a program as the teacher); a share ``verdict_only_share`` of the targets is the
   verdict alone, which teaches the judge the ``direct`` verdict mode too.
2. GRPO on the verdicts: +1 right, -1 wrong, ``unparsed_reward`` when none parses.

The output is an adapter ``HFJudge(base, adapter=output_dir)`` loads, the held-out pairs
(``held_out_pairs.json``) and ``results.json``: both-order accuracy, order agreement and
per-type accuracy of the base and of the trained judge on each held-out split, for every
verdict mode in ``eval_verdicts``.

One process (CPU, the embedded SmolLM2-135M-Instruct):

    python recipes/train_judge.py --config recipes/configs/train_judge.yaml

Your pairs and base, on GPUs:

    accelerate launch --config_file recipes/accelerate/multi_gpu.yaml recipes/train_judge.py \\
        --config recipes/configs/train_judge.yaml --judge_base Qwen/Qwen2.5-7B-Instruct \\
        --train_file pairs.jsonl --eval_file held_out.jsonl --use_cpu false --bf16 true

Every YAML key is a flag too: one TrlParser reads ``TrainJudgeConfig`` and ``trl.GRPOConfig``.
"""

from __future__ import annotations

import json
import logging
import random
from dataclasses import dataclass, field
from pathlib import Path

import torch
from datasets import Dataset, load_dataset
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import GRPOConfig, GRPOTrainer, SFTConfig, SFTTrainer, TrlParser

from trl_rrm.embedded import SMOLLM2_ID, smollm2_path
from trl_rrm.formats import PAIRWISE_FORMATS, get_format
from trl_rrm.judges.hf import HFJudge
from trl_rrm.tasks import constraints, sums

logger = logging.getLogger("train_judge")


@dataclass
class TrainJudgeConfig:
    """The judge, its data and its warm start (GRPO settings live in ``trl.GRPOConfig``)."""

    judge_base: str | None = field(default=None, metadata={"help": "judge base id or path (default: embedded SmolLM2)"})
    format: str = field(default="rrm", metadata={"help": "rrm, rm_r1 or rm_r1_distilled"})
    task: str = field(default="constraints", metadata={"help": "built-in data: constraints or small_sums"})
    train_file: str | None = field(default=None, metadata={"help": "jsonl/json/parquet with prompt, chosen, rejected"})
    eval_file: str | None = field(default=None, metadata={"help": "held-out pairs, same columns"})
    per_type: int = field(default=40, metadata={"help": "constraints: training prompts per constraint type"})
    held_out_limit: int | None = field(default=None, metadata={"help": "constraints: held-out prompts per split (None: all)"})
    samples_per_problem: int = field(default=4, metadata={"help": "built-in data: answers sampled per prompt"})
    sample_max_new_tokens: int = field(default=24, metadata={"help": "built-in data: budget of a sampled answer"})
    num_train_problems: int = field(default=160, metadata={"help": "small_sums: training problems"})
    num_eval_problems: int = field(default=64, metadata={"help": "small_sums: held-out problems"})
    pairs_seed: int = field(default=0, metadata={"help": "built-in data: prompts and samples"})
    unparsed_reward: float = field(default=-1.5, metadata={"help": "GRPO reward when no verdict can be parsed"})
    sft_epochs: float = field(default=1.0, metadata={"help": "warm start on code-written judgments (0: none)"})
    sft_file: str | None = field(default=None, metadata={"help": "warm start data: conversational prompt/completion rows"})
    sft_learning_rate: float = field(default=2e-4, metadata={"help": "warm start learning rate"})
    sft_batch_size: int = field(default=8, metadata={"help": "warm start batch size"})
    verdict_only_share: float = field(default=0.5, metadata={"help": "share of warm-start targets that are the verdict alone"})
    lora_r: int = field(default=16, metadata={"help": "LoRA rank"})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA alpha"})
    lora_target_modules: list[str] = field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        metadata={"help": "modules that get LoRA"},
    )
    eval_verdicts: list[str] = field(default_factory=lambda: ["direct"], metadata={"help": "verdict modes evaluated"})
    eval_max_new_tokens: int = field(default=64, metadata={"help": "judge budget in the evaluation (writing modes)"})

    def __post_init__(self) -> None:
        if self.format not in PAIRWISE_FORMATS:
            raise ValueError(f"format={self.format!r} is not a pairwise format; expected one of {PAIRWISE_FORMATS}")
        if self.task not in ("constraints", "small_sums"):
            raise ValueError(f"task={self.task!r}; expected 'constraints' or 'small_sums'")
        for name in ("per_type", "num_train_problems", "num_eval_problems", "sft_batch_size", "lora_r"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)!r} must be >= 1")
        if self.samples_per_problem < 2:
            raise ValueError(f"samples_per_problem={self.samples_per_problem!r} must be >= 2")
        if self.sft_epochs < 0 or not 0 <= self.verdict_only_share <= 1:
            raise ValueError(f"sft_epochs={self.sft_epochs!r} must be >= 0 and verdict_only_share in [0, 1]")


def _pairs_from_file(path: str, seed: int) -> list[sums.JudgePair]:
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
        chosen, rejected = sums.completion_text(row["chosen"]), sums.completion_text(row["rejected"])
        first, second = (chosen, rejected) if label == 0 else (rejected, chosen)
        prompt = row["prompt"] if isinstance(row["prompt"], str) else sums.completion_text(row["prompt"])
        pairs.append(sums.JudgePair(sums.Problem(prompt=prompt, answer=0, expression=""), first, second, label))
    return pairs


def build_pairs(cfg: TrainJudgeConfig, model, tokenizer, cache: Path | None = None) -> tuple[list, dict[str, list]]:
    """Training pairs and held-out pairs by split, from the files or built in (cached)."""
    if cfg.train_file:
        train = _pairs_from_file(cfg.train_file, cfg.pairs_seed)
        return train, ({"test": _pairs_from_file(cfg.eval_file, cfg.pairs_seed + 1)} if cfg.eval_file else {})
    if cfg.task == "constraints":
        return constraints.judge_data(model, tokenizer, seed=cfg.pairs_seed, per_type=cfg.per_type,
                                      samples_per_prompt=cfg.samples_per_problem, max_new_tokens=cfg.sample_max_new_tokens,
                                      held_out_limit=cfg.held_out_limit, cache=cache)  # fmt: skip
    problems = sums.small_sums(cfg.num_train_problems, seed=cfg.pairs_seed, split="train")
    samples = sums.sample_completions(model, tokenizer, problems, num_samples=cfg.samples_per_problem, seed=cfg.pairs_seed)
    train = sums.judge_pairs(problems, samples, seed=cfg.pairs_seed, per_problem=2)
    held = sums.small_sums(cfg.num_eval_problems, seed=1000, split="test")
    held_samples = sums.sample_completions(model, tokenizer, held, num_samples=cfg.samples_per_problem, seed=1000)
    return train, {"test": sums.judge_pairs(held, held_samples, seed=1000, per_problem=2)}


def both_orders(pairs: list) -> list:
    """Every pair as shown, and swapped: position bias has nothing to learn from."""
    return [q for p in pairs for q in (p, type(p)(p.problem, p.second, p.first, 1 - p.label))]


def warm_start_rows(cfg: TrainJudgeConfig, fmt, pairs: list) -> list[dict]:
    """SFT rows: the rendered pair, then a code-written judgment (or the verdict alone)."""
    trace = constraints.judge_trace if cfg.task == "constraints" and not cfg.train_file else sums.judge_trace
    rng = random.Random(f"verdict-only:{cfg.pairs_seed}")
    rows = []
    for p in both_orders(pairs):
        target = fmt.verdicts[p.label] if rng.random() < cfg.verdict_only_share else trace(p, cfg.format)
        rows.append({"prompt": fmt.render(p.problem.prompt, p.first, p.second),
                     "completion": [{"role": "assistant", "content": target}]})  # fmt: skip
    return rows


def verdict_reward_function(fmt, unparsed_reward: float):
    """+1 right verdict, -1 wrong verdict, ``unparsed_reward`` without a parseable verdict."""

    def verdict_reward(completions, label, **_):
        rewards = []
        for completion, want in zip(completions, label):
            got = fmt.parse(sums.completion_text(completion))
            rewards.append(unparsed_reward if got is None else 1.0 if got == int(want) else -1.0)
        return rewards

    return verdict_reward


def evaluate(base_path: str, adapter: str | None, cfg: TrainJudgeConfig, held_out: dict[str, list], seed: int) -> dict:
    """Both-order accuracy per held-out split and verdict mode, with per-type accuracy."""
    out: dict = {}
    for verdict in cfg.eval_verdicts:
        judge = HFJudge(base_path, adapter=adapter, format=cfg.format, both_orders=True, verdict=verdict, temperature=0.0,
                        max_new_tokens=cfg.eval_max_new_tokens, dtype="float32", batch_size=32, seed=seed)  # fmt: skip
        for split, pairs in held_out.items():
            if not pairs:
                continue
            logger.info("judge %s, %s verdicts: %d held-out pairs of %s", adapter or "base", verdict, len(pairs), split)
            by_type = (lambda p: "+".join(c.name for c in p.problem.constraints)) if hasattr(pairs[0].problem, "constraints") else None
            result = sums.judge_accuracy(judge, pairs, key=by_type)
            out.setdefault(split, {})[verdict] = result
        del judge
    return out


def main(cfg: TrainJudgeConfig, training: GRPOConfig) -> dict:
    base_path = cfg.judge_base or str(smollm2_path())
    out = Path(training.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    fmt = get_format(cfg.format)
    tokenizer = AutoTokenizer.from_pretrained(base_path)
    model = AutoModelForCausalLM.from_pretrained(base_path, dtype=torch.float32)

    train_pairs, held_out = build_pairs(cfg, model, tokenizer, cache=out / "pairs.json")
    if not train_pairs:
        raise SystemExit("no training pair: every prompt's samples were all right or all wrong; raise samples_per_problem")
    logger.info("%d training pairs; held out: %s", len(train_pairs), {k: len(v) for k, v in held_out.items()})
    if held_out and cfg.task == "constraints" and not cfg.train_file:
        constraints.save_pairs(out / "held_out_pairs.json", held_out)

    lora = LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, target_modules=cfg.lora_target_modules, task_type="CAUSAL_LM")
    if cfg.sft_epochs > 0 and (cfg.sft_file or not cfg.train_file or cfg.verdict_only_share > 0):
        rows = load_dataset("json", data_files=cfg.sft_file, split="train") if cfg.sft_file else warm_start_rows(cfg, fmt, train_pairs)
        sft = SFTTrainer(
            model=model,
            args=SFTConfig(
                output_dir=str(out / "sft"), num_train_epochs=cfg.sft_epochs, learning_rate=cfg.sft_learning_rate,
                per_device_train_batch_size=cfg.sft_batch_size, logging_steps=5, save_strategy="no", report_to="none",
                use_cpu=training.use_cpu, bf16=training.bf16, activation_checkpointing=training.activation_checkpointing,
                seed=training.seed,
            ),  # fmt: skip
            train_dataset=rows if isinstance(rows, Dataset) else Dataset.from_list(rows),
            processing_class=tokenizer,
            peft_config=lora,
        )
        sft.train()
        model = sft.model
    if not isinstance(model, PeftModel):
        model = get_peft_model(model, lora)

    if training.max_steps != 0:
        grpo_rows = [{"prompt": fmt.render(p.problem.prompt, p.first, p.second), "label": p.label} for p in both_orders(train_pairs)]
        random.Random(training.seed).shuffle(grpo_rows)
        trainer = GRPOTrainer(model=model, reward_funcs=verdict_reward_function(fmt, cfg.unparsed_reward), args=training,
                              train_dataset=Dataset.from_list(grpo_rows), processing_class=tokenizer)  # fmt: skip
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

    results = {"adapter": str(out), "format": cfg.format, "task": cfg.task, "train_pairs": len(train_pairs),
               "held_out_pairs": {k: len(v) for k, v in held_out.items()}}  # fmt: skip
    if held_out:
        results["before"] = evaluate(base_path, None, cfg, held_out, training.seed)
        results["after"] = evaluate(base_path, str(out), cfg, held_out, training.seed)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    main(*TrlParser((TrainJudgeConfig, GRPOConfig)).parse_args_and_config())
