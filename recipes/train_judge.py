"""Train a reasoning reward model (a LoRA judge): a warm start on judgments written by code,
then (optionally) GRPO on its verdicts (the RRM recipe).

Data: preference pairs, every one shown in BOTH orders (position has nothing to teach); a
pointwise judge (``format: pointwise``, constraints only) learns each distinct response of
the pairs on its own, the checks of that response, then yes (every check passes) or no:
- ``task: constraints`` (default): requests with a constraint code can check
  (``tasks.constraints.judge_data``): the base's own answers and code-written
  near misses of every trained type, a share with attacks on the violating answer; held
  out, prompts about unseen topics and constraint types never trained, stratified by type;
- ``task: small_sums``: the base's answers to small sums;
- ``train_file`` / ``eval_file``: your pairs (``prompt``, ``chosen``, ``rejected``; an
  optional ``subset`` column groups the held-out accuracy), trained on the verdict alone.

1. Warm start (``trl_rrm.warm_start``): the judge writes, for each response, the evidence
   its check reads, the check's yes/no, then the verdict; those weigh ``decisive_weight``
   times the copied text. Prompts are rendered by the judge itself (what it learns on is
   what it sees). ``verdict_only_share``: targets that are the verdict alone;
   ``same_outcome``: pairs with no preferred response (checks only); ``init_adapter``.
2. GRPO on the verdicts (``max_steps`` > 0): +1 right, -1 wrong, ``unparsed_reward`` when
   none parses.

Output (``output_dir``): the adapter, ``held_out_pairs.jsonl`` and ``results.json``: per
held-out split and verdict mode, ``evaluate_pairwise``'s metrics in both orders (base and
trained judge), the warm start's loss curve and the time of every stage.

One process (CPU, the embedded SmolLM2-135M-Instruct; bf16 where the CPU computes it):

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
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
from datasets import Dataset
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import GRPOConfig, GRPOTrainer, TrlParser

from trl_rrm import HFJudge, Match
from trl_rrm.embedded import SMOLLM2_ID, smollm2_path
from trl_rrm.evaluation import evaluate_pairwise
from trl_rrm.evaluation.data import PairExample, pairwise_examples
from trl_rrm.evaluation.held_out import HELD_OUT_FILE, adapter_held_out, save_held_out
from trl_rrm.formats import PAIRWISE_FORMATS, POINTWISE_FORMATS, get_format
from trl_rrm.inputs import load_rows
from trl_rrm.precision import default_bf16
from trl_rrm.recipe_results import write_results
from trl_rrm.sampling import generate_completions
from trl_rrm.seeds import seeded_rng
from trl_rrm.special_tokens import special_ids
from trl_rrm.types import text_key
from trl_rrm.warm_start import Judgment, WarmStartConfig, judgment_examples, train

from tasks import constraints, sums

logger = logging.getLogger("train_judge")


@dataclass
class TrainJudgeConfig:
    """The judge, its data and its warm start (GRPO settings live in ``trl.GRPOConfig``)."""

    judge_base: str | None = field(default=None, metadata={"help": "judge base id or path (default: embedded SmolLM2)"})
    format: str = field(default="rrm", metadata={"help": "rrm, rm_r1, rm_r1_distilled, or pointwise (constraints)"})
    task: str = field(default="constraints", metadata={"help": "built-in data: constraints or small_sums"})
    train_file: str | None = field(default=None, metadata={"help": "jsonl/json/parquet with prompt, chosen, rejected"})
    eval_file: str | None = field(default=None, metadata={"help": "held-out pairs, same columns (subset: a group)"})
    per_type: int = field(default=30, metadata={"help": "constraints: prompts per trained type with code-written pairs"})
    templated_per_prompt: int = field(default=1, metadata={"help": "constraints: code-written pairs per such prompt"})
    sampled_per_type: int = field(default=100, metadata={"help": "constraints: prompts per type answered by the base"})
    attack_share: float = field(default=0.2, metadata={"help": "constraints: share of pairs also trained attacked"})
    same_outcome: bool = field(default=False, metadata={"help": "constraints: also pairs of two passing or two failing "
                                                        "answers (checks trained, verdict not)"})  # fmt: skip
    held_out_per_type: int = field(default=5, metadata={"help": "constraints: held-out prompts per type and split"})
    samples_per_problem: int = field(default=4, metadata={"help": "built-in data: answers sampled per prompt"})
    sample_max_new_tokens: int = field(default=24, metadata={"help": "built-in data: budget of a sampled answer"})
    num_train_problems: int = field(default=160, metadata={"help": "small_sums: training problems"})
    num_eval_problems: int = field(default=64, metadata={"help": "small_sums: held-out problems"})
    pairs_seed: int = field(default=0, metadata={"help": "built-in data: prompts and samples"})
    sft_steps: int = field(default=400, metadata={"help": "warm-start steps (0: none)"})
    sft_learning_rate: float = field(default=1e-3, metadata={"help": "warm-start peak learning rate (cosine)"})
    sft_batch_size: int = field(default=8, metadata={"help": "warm-start batch size"})
    decisive_weight: float = field(default=5.0, metadata={"help": "loss weight of the yes/no and verdict tokens"})
    verdict_only_share: float = field(default=0.0, metadata={"help": "share of warm-start targets that are the verdict alone"})
    unparsed_reward: float = field(default=-1.5, metadata={"help": "GRPO reward when no verdict can be parsed"})
    lora_r: int = field(default=16, metadata={"help": "LoRA rank"})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA alpha"})
    lora_layers: int | None = field(default=16, metadata={"help": "LoRA on the top k layers only (None: all)"})
    lora_target_modules: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj",
                                           "up_proj", "down_proj"], metadata={"help": "modules that get LoRA"})  # fmt: skip
    walk_evidence: bool = field(default=False, metadata={"help": "constraints: traces check while copying (E7)"})
    copy_limit: int = field(default=constraints.WALK_LIMIT, metadata={"help": "constraints: words a trace copies"})
    decisive_marks: bool = field(default=False, metadata={"help": "walks: marks weigh decisive_weight (E11)"})
    train_attacks: list[str] = field(default_factory=lambda: list(constraints.TRAINING_ATTACKS),
                                     metadata={"help": "constraints: attacks drawn for the attacked pairs"})  # fmt: skip
    eval_verdicts: list[str] = field(default_factory=lambda: ["generate", "direct"], metadata={"help": "verdict modes evaluated"})
    eval_max_new_tokens: int = field(default=256, metadata={"help": "judge budget in the evaluation (writing modes)"})
    eval_base: bool = field(default=True, metadata={"help": "evaluate the untrained base too"})
    eval_num_votes: int = field(default=1, metadata={"help": "judgments per order in the evaluation (> 1: sampled)"})
    eval_temperature: float = field(default=0.0, metadata={"help": "judge temperature in the evaluation (0: greedy)"})
    evaluate_only: bool = field(
        default=False, metadata={"help": "train nothing: evaluate judge_adapter (and with eval_base the base) on held-out pairs"}
    )
    init_adapter: str | None = field(default=None, metadata={"help": "train this LoRA adapter further (lora_* ignored; "
                                     "held out: its held_out_pairs.jsonl when it has one)"})  # fmt: skip
    judge_adapter: str | None = field(
        default=None,
        metadata={"help": "with evaluate_only: the adapter evaluated, on the first held_out_per_type pairs of each type "
                  "of its held_out_pairs.jsonl when it has one (None: the base alone, on pairs built here)"},
    )  # fmt: skip

    def __post_init__(self) -> None:
        if self.format not in PAIRWISE_FORMATS + ("pointwise",):
            raise ValueError(f"format={self.format!r}: expected one of {PAIRWISE_FORMATS} or 'pointwise'")
        if self.pointwise and (self.task != "constraints" or self.train_file):
            raise ValueError(f"format={self.format!r} trains on the constraints task only (its checks write the "
                             f"yes/no); got task={self.task!r}, train_file={self.train_file!r}")  # fmt: skip
        if self.task not in ("constraints", "small_sums"):
            raise ValueError(f"task={self.task!r}; expected 'constraints' or 'small_sums'")
        constraints.check_attacks(self.train_attacks, "train_attacks")
        for name in ("num_train_problems", "num_eval_problems", "sft_batch_size", "lora_r", "held_out_per_type",
                     "copy_limit", "eval_num_votes"):  # fmt: skip
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)!r} must be >= 1")
        for name in ("per_type", "templated_per_prompt", "sampled_per_type", "sft_steps"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}={getattr(self, name)!r} must be >= 0")
        if self.samples_per_problem < 2:
            raise ValueError(f"samples_per_problem={self.samples_per_problem!r} must be >= 2")
        for name in ("verdict_only_share", "attack_share"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name}={getattr(self, name)!r} must be within [0, 1]")
        if self.decisive_weight < 1:
            raise ValueError(f"decisive_weight={self.decisive_weight!r} must be >= 1")
        if self.lora_layers is not None and self.lora_layers < 1:
            raise ValueError(f"lora_layers={self.lora_layers!r} must be >= 1 (or None: every layer)")

    @property
    def pointwise(self) -> bool:
        return self.format in POINTWISE_FORMATS


# ------------------------------------------------------------------ data


def file_pairs(path: str) -> list[PairExample]:
    """Validated pairs of a file (``prompt``, ``chosen``, ``rejected``; errors name the row)."""
    pairs, _ = pairwise_examples(load_rows(path))
    return pairs


def as_examples(pairs: list, by_type: bool) -> list[PairExample]:
    """Shown pairs of a built-in task as evaluation pairs, grouped by constraint type."""
    return [
        PairExample(p.problem.prompt, p.chosen, p.rejected,
                    subset="+".join(c.name for c in p.problem.constraints) if by_type else None)  # fmt: skip
        for p in pairs
    ]


def build_pairs(cfg: TrainJudgeConfig, model, tokenizer, cache: Path | None = None) -> tuple[list, dict[str, list[PairExample]]]:
    """Training pairs (task pairs, or ``PairExample`` from ``train_file``) and held-out
    ``PairExample`` by split."""
    if cfg.train_file:
        held = {"test": file_pairs(cfg.eval_file)} if cfg.eval_file else {}
        return file_pairs(cfg.train_file), held
    if cfg.task == "constraints":
        train_pairs, held_out = constraints.judge_data(
            model, tokenizer, seed=cfg.pairs_seed, per_type=cfg.per_type, templated_per_prompt=cfg.templated_per_prompt,
            sampled_per_type=cfg.sampled_per_type, samples_per_prompt=cfg.samples_per_problem,
            max_new_tokens=cfg.sample_max_new_tokens, held_out_per_type=cfg.held_out_per_type,
            attack_share=cfg.attack_share, same_outcome=cfg.same_outcome, attacks=cfg.train_attacks, cache=cache,
        )  # fmt: skip
        return train_pairs, {split: as_examples(v, by_type=True) for split, v in held_out.items()}
    def sampled(problems: list, seed: int) -> list[list[str]]:  # the base's own answers (temperature 1, 32 tokens)
        return generate_completions(model, tokenizer, [p.prompt for p in problems], num_samples=cfg.samples_per_problem,
                                    temperature=1.0, max_new_tokens=32, seed=seed, batch_size=64)  # fmt: skip

    problems = sums.small_sums(cfg.num_train_problems, seed=cfg.pairs_seed, split="train")
    train_pairs = sums.judge_pairs(problems, sampled(problems, cfg.pairs_seed), seed=cfg.pairs_seed, per_problem=2)
    held = sums.small_sums(cfg.num_eval_problems, seed=1000, split="test")
    held_pairs = sums.judge_pairs(held, sampled(held, 1000), seed=1000, per_problem=2)
    return train_pairs, {"test": as_examples(held_pairs, by_type=False)}


def judgments(cfg: TrainJudgeConfig, pairs: list, verdict_only: bool = False) -> list[Judgment]:
    """Both orders of every pair, each with its target: the task's code-written judgment, or
    the verdict alone (``verdict_only``, a share ``verdict_only_share``, and ``train_file``
    pairs, which nothing can check); pairs with no preferred response: checks only.
    Pointwise: every distinct response of the pairs once, its checks, then yes or no."""
    fmt = get_format(cfg.format)
    rng = seeded_rng("verdict-only", cfg.pairs_seed)
    if cfg.pointwise:
        return response_judgments(cfg, pairs, fmt, rng, verdict_only)
    out = []
    for pair in pairs:
        if isinstance(pair, PairExample):
            out += [Judgment(Match(pair.prompt, (pair.chosen, pair.rejected)), fmt.verdicts[0]),
                    Judgment(Match(pair.prompt, (pair.rejected, pair.chosen)), fmt.verdicts[1])]  # fmt: skip
            continue
        same = getattr(pair, "same", False)  # constraints: no preferred response, so no verdict to teach
        if same and verdict_only:
            continue
        for shown in (pair, replace(pair, first=pair.second, second=pair.first, label=1 - pair.label)):
            match = Match(shown.problem.prompt, (shown.first, shown.second))
            if not same and (verdict_only or rng.random() < cfg.verdict_only_share):
                out.append(Judgment(match, fmt.verdicts[shown.label]))
            elif cfg.task == "constraints":
                trace = constraints.judge_trace(shown, fmt, walk=cfg.walk_evidence, copy_limit=cfg.copy_limit)
                spans = constraints.decisive_spans(trace, cfg.decisive_marks)
                out.append(Judgment(match, trace, spans, verdict_loss=not same))
            else:
                out.append(Judgment(match, sums.judge_trace(shown, fmt)))
    return out


def response_judgments(cfg: TrainJudgeConfig, pairs: list, fmt, rng: random.Random, verdict_only: bool) -> list[Judgment]:
    """The pointwise targets: each distinct (prompt, response) of the pairs, judged alone."""
    out, seen = [], set()
    for pair in pairs:
        for text in (pair.first, pair.second):
            if (pair.problem.prompt, text) in seen:
                continue
            seen.add((pair.problem.prompt, text))
            trace, passes = constraints.response_trace(pair.problem, text, fmt, walk=cfg.walk_evidence,
                                                       copy_limit=cfg.copy_limit)  # fmt: skip
            match = Match(pair.problem.prompt, (text,))
            if verdict_only or rng.random() < cfg.verdict_only_share:
                out.append(Judgment(match, fmt.verdicts[0 if passes else 1]))
            else:
                out.append(Judgment(match, trace, constraints.decisive_spans(trace, cfg.decisive_marks)))
    return out


# ------------------------------------------------------------------ training and evaluation


def verdict_reward_function(fmt, unparsed_reward: float):
    """+1 right verdict, -1 wrong verdict, ``unparsed_reward`` without a parseable verdict."""

    def verdict_reward(completions, label, **_):
        rewards = []
        for completion, want in zip(completions, label):
            got = fmt.parse(sums.completion_text(completion))
            rewards.append(unparsed_reward if got is None else 1.0 if got == int(want) else -1.0)
        return rewards

    return verdict_reward


def evaluate(base_path: str, adapter: str | None, cfg: TrainJudgeConfig, held_out: dict[str, list[PairExample]],
             seed: int) -> dict:  # fmt: skip
    """Per verdict mode and split, ``evaluate_pairwise``'s metrics with both orders (see
    ``keys``) and the accuracy by constraint type."""
    out: dict = {}
    keys = ("accuracy", "both_order_accuracy", "order_agreement", "tie_rate", "failed_rate", "first_pick_rate")
    for verdict in cfg.eval_verdicts:
        judge = HFJudge(base_path, adapter=adapter, format=cfg.format, verdict=verdict, order="fixed", seed=seed,
                        temperature=cfg.eval_temperature, num_votes=cfg.eval_num_votes,
                        max_new_tokens=cfg.eval_max_new_tokens, dtype="auto", batch_size=32)  # fmt: skip
        for split, pairs in held_out.items():
            start = time.perf_counter()
            if cfg.pointwise:
                out.setdefault(split, {})[verdict] = {**pointwise_metrics(judge, pairs),
                                                      "seconds": round(time.perf_counter() - start, 1)}  # fmt: skip
                logger.info("pointwise judge %s, %s verdicts, %s: %s", adapter or "base", verdict, split,
                            {k: out[split][verdict][k] for k in ("response_accuracy", "accuracy", "tie_rate")})  # fmt: skip
                continue
            # two judge batches a call: continuous decoding refills the rows that end (a call of 16
            # left half the batch empty); the judge logs its progress within a call
            result = evaluate_pairwise(judge, pairs, orders="both", chunk_size=64, progress=True)
            m = result.metrics
            out.setdefault(split, {})[verdict] = {
                **{k: m[k] for k in keys}, "pairs": len(pairs), "seconds": round(time.perf_counter() - start, 1),
                "by_type": {k: g["accuracy"] for k, g in m["by_subset"].items()},
            }  # fmt: skip
            logger.info("judge %s, %s verdicts, %s: %s", adapter or "base", verdict, split,
                        {k: out[split][verdict][k] for k in ("accuracy", "both_order_accuracy", "order_agreement")})  # fmt: skip
        del judge
    return out


def pointwise_metrics(judge: HFJudge, pairs: list[PairExample]) -> dict:
    """A pointwise judge on held-out pairs, every distinct response graded once: the share
    of responses it checks right (the satisfying one yes, the other no; no verdict is
    wrong), and the pair accuracy its grades give (the satisfying one graded higher; equal
    grades are ties, not right), each overall and by constraint type."""
    responses: dict[tuple[str, str], int] = {}
    shown: list[Match] = []
    for pair in pairs:
        for text in (pair.chosen, pair.rejected):
            if (text_key(pair.prompt), text_key(text)) not in responses:
                responses[(text_key(pair.prompt), text_key(text))] = len(shown)
                shown.append(Match(pair.prompt, (text,)))
    values = [g.value for g in judge.grade(shown)]
    by_type: dict[str, list] = {}
    pair_results, checks = [], []
    for pair in pairs:
        good, bad = (values[responses[(text_key(pair.prompt), text_key(t))]] for t in (pair.chosen, pair.rejected))
        result = None if good is None or bad is None else (good > bad) - (good < bad)  # 1 right, 0 tie, -1 wrong
        answered = [good is not None and good > 0.5, bad is not None and bad <= 0.5]
        pair_results.append(result)
        checks += answered
        by_type.setdefault(pair.subset or "all", []).append((result, answered))
    n = max(len(pairs), 1)
    return {
        "accuracy": sum(r == 1 for r in pair_results) / n, "tie_rate": sum(r == 0 for r in pair_results) / n,
        "failed_rate": sum(r is None for r in pair_results) / n, "response_accuracy": sum(checks) / max(len(checks), 1),
        "responses": len(shown), "response_failed_rate": sum(v is None for v in values) / max(len(values), 1),
        "pairs": len(pairs),
        "by_type": {k: sum(r == 1 for r, _ in v) / len(v) for k, v in by_type.items()},
        "response_by_type": {k: sum(sum(a) for _, a in v) / (2 * len(v)) for k, v in by_type.items()},
    }  # fmt: skip


def cpu_bf16(training: GRPOConfig) -> bool:
    """bf16 weights and autocast for the warm start: on CPU when ``bf16`` is on (by default
    where the CPU computes it natively); on accelerators fp32 weights."""
    return bool(training.bf16 and training.use_cpu)


def lora_config(cfg: TrainJudgeConfig, num_layers: int) -> LoraConfig:
    top = None if cfg.lora_layers is None else list(range(max(0, num_layers - cfg.lora_layers), num_layers))
    return LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, target_modules=cfg.lora_target_modules,
                      layers_to_transform=top, lora_dropout=0.0, task_type="CAUSAL_LM")  # fmt: skip


def evaluate_only(cfg: TrainJudgeConfig, training: GRPOConfig) -> dict:
    """No training: ``judge_adapter`` (and with ``eval_base`` the base) on held-out pairs:
    the adapter's own (``held_out_pairs.jsonl``, the first ``held_out_per_type`` of each
    type), else pairs built here (held-out prompts only)."""
    base_path = cfg.judge_base or str(smollm2_path())
    out = Path(training.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    held_out = adapter_held_out(cfg.judge_adapter, cfg.held_out_per_type)
    if held_out is None:
        cfg.per_type = cfg.sampled_per_type = 0  # the held-out pairs only
        model = AutoModelForCausalLM.from_pretrained(base_path, dtype=torch.bfloat16 if cpu_bf16(training) else torch.float32)
        _, held_out = build_pairs(cfg, model, AutoTokenizer.from_pretrained(base_path), cache=out / "pairs.json")
        del model
    save_held_out(out / HELD_OUT_FILE, held_out)
    logger.info("evaluating %s on held-out pairs %s", cfg.judge_adapter or "the base", {k: len(v) for k, v in held_out.items()})
    results = {
        "adapter": cfg.judge_adapter, "held_out_pairs": {k: len(v) for k, v in held_out.items()},
        "before": evaluate(base_path, None, cfg, held_out, training.seed) if cfg.eval_base or not cfg.judge_adapter else None,
        "after": evaluate(base_path, cfg.judge_adapter, cfg, held_out, training.seed) if cfg.judge_adapter else None,
        "seconds": {"evaluation": round(time.perf_counter() - start, 1)},
    }
    write_results(out, results)
    print(json.dumps(results, indent=2))
    return results


def main(cfg: TrainJudgeConfig, training: GRPOConfig) -> dict:
    if cfg.evaluate_only:
        return evaluate_only(cfg, training)
    if training.max_steps != 0 and cfg.pointwise:
        raise SystemExit(f"format={cfg.format!r}: GRPO on verdicts is pairwise only; set max_steps 0")
    base_path = cfg.judge_base or str(smollm2_path())
    out = Path(training.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(base_path)
    model = AutoModelForCausalLM.from_pretrained(base_path, dtype=torch.bfloat16 if cpu_bf16(training) else torch.float32)

    train_pairs, held_out = build_pairs(cfg, model, tokenizer, cache=out / "pairs.json")
    if (first_stage := adapter_held_out(cfg.init_adapter, cfg.held_out_per_type)) is not None:
        held_out = first_stage  # a second stage is measured on the first stage's pairs
    if not train_pairs:
        raise SystemExit("no training pair: every prompt's samples were all right or all wrong; raise samples_per_problem")
    seconds["data"] = round(time.perf_counter() - start, 1)
    logger.info("%d training pairs; held out: %s (%.0f s)", len(train_pairs), {k: len(v) for k, v in held_out.items()},
                seconds["data"])  # fmt: skip
    save_held_out(out / HELD_OUT_FILE, held_out)

    if cfg.init_adapter:
        model = PeftModel.from_pretrained(model, cfg.init_adapter, is_trainable=True)
    else:
        model = get_peft_model(model, lora_config(cfg, model.config.num_hidden_layers))
    judge = HFJudge.from_model(model, tokenizer, format=cfg.format)  # renders exactly as judging will
    history: list[dict] = []
    if cfg.sft_steps > 0:
        start = time.perf_counter()
        examples = judgment_examples(judge, judgments(cfg, train_pairs), decisive_weight=cfg.decisive_weight)
        logger.info("warm start: %d judgments (both orders), %d steps of %d", len(examples), cfg.sft_steps, cfg.sft_batch_size)
        warm = WarmStartConfig(steps=cfg.sft_steps, batch_size=cfg.sft_batch_size, learning_rate=cfg.sft_learning_rate,
                               bf16=cpu_bf16(training), seed=training.seed)  # fmt: skip
        history = train(model, examples, warm, pad_id=special_ids(model, tokenizer)[0],
                        progress=lambda entry: logger.info("warm start %s", json.dumps(entry)))  # fmt: skip
        seconds["warm_start"] = round(time.perf_counter() - start, 1)

    if training.max_steps != 0:
        start = time.perf_counter()
        items = judgments(cfg, train_pairs, verdict_only=True)
        fmt = get_format(cfg.format)
        messages = judge.shown_messages([j.match for j in items])
        grpo_rows = [{"prompt": m, "label": fmt.verdicts.index(j.text)} for j, m in zip(items, messages) if m is not None]
        random.Random(training.seed).shuffle(grpo_rows)
        trainer = GRPOTrainer(model=model, reward_funcs=verdict_reward_function(fmt, cfg.unparsed_reward), args=training,
                              train_dataset=Dataset.from_list(grpo_rows), processing_class=tokenizer)  # fmt: skip
        trainer.train()
        model = trainer.model
        seconds["grpo"] = round(time.perf_counter() - start, 1)
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    if cfg.judge_base is None:  # the adapter names the public base, not this machine's cache
        config_path = out / "adapter_config.json"
        adapter_config = json.loads(config_path.read_text())
        adapter_config["base_model_name_or_path"] = SMOLLM2_ID
        config_path.write_text(json.dumps(adapter_config, indent=2))
    del model, judge

    results = {"adapter": str(out), "format": cfg.format, "task": cfg.task if not cfg.train_file else "file",
               "train_pairs": len(train_pairs), "held_out_pairs": {k: len(v) for k, v in held_out.items()},
               "warm_start": history}  # fmt: skip
    if held_out:
        start = time.perf_counter()
        if cfg.eval_base:
            results["before"] = evaluate(base_path, None, cfg, held_out, training.seed)
        results["after"] = evaluate(base_path, str(out), cfg, held_out, training.seed)
        seconds["evaluation"] = round(time.perf_counter() - start, 1)
    results["seconds"] = seconds
    write_results(out, results)
    print(json.dumps({k: v for k, v in results.items() if k != "warm_start"}, indent=2))
    return results


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = TrlParser((TrainJudgeConfig, GRPOConfig))
    parser.set_defaults(bf16=default_bf16())  # an explicit bf16 in YAML or a flag still wins
    main(*parser.parse_args_and_config())
