"""The end-to-end proof: a trained judge lets a policy learn from prompts without labels.

On the embedded SmolLM2-135M-Instruct (CPU), task ``constraints`` by default (short
requests with a constraint code checks; ``trl_rrm.tasks.proof``), for each seed:

1. judge accuracy (both orders) on held-out pairs, for the bare base and for the judge
   adapter (trained by ``recipes/train_judge.py`` with ``train_judge: true``, or given as
   ``judge_adapter``; without either the untrained base judges), on prompts about unseen topics
   (``test``) and on constraint types never trained (``test_types``);
2. the policy's held-out satisfaction: untrained; after GRPO with ``RRMReward`` and NO
   labels; after GRPO with the same budget and the ground-truth checker as reward;
3. after DPO on pairs labelled by the judge (``recipes/dpo_rrm.py``).

Each stage is a run of the recipe script (a subprocess, exactly what a user launches)
that writes ``results.json`` in its own folder and its log to ``log.txt`` (followed on the
terminal); a finished stage is skipped on the next run, so an interrupted proof resumes.
The table goes to ``<output_dir>/proof.md`` and ``proof.json`` and is printed.

    python recipes/proof.py --config recipes/configs/proof_quick.yaml   # the README main job
    python recipes/proof.py --config recipes/configs/proof.yaml         # 3 seeds, judges trained too
"""

from __future__ import annotations

import json
import logging
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from trl import TrlParser

HERE = Path(__file__).resolve().parent
logger = logging.getLogger("proof")


@dataclass
class ProofConfig:
    """What the proof runs; recipe settings come from their YAML files plus these overrides."""

    output_dir: str = field(default="outputs/proof", metadata={"help": "where every stage writes"})
    seeds: list[int] = field(default_factory=lambda: [0, 1], metadata={"help": "training seeds"})
    train_judge: bool = field(default=False, metadata={"help": "train a judge per seed (else use judge_adapter)"})
    task: str = field(default="constraints", metadata={"help": "built-in task: constraints or small_sums"})
    judge_adapter: str | None = field(
        default=None, metadata={"help": "judge adapter when not training one (None: the untrained base judges)"}
    )
    judge_config: str = field(default=str(HERE / "configs" / "train_judge.yaml"), metadata={"help": "train_judge YAML"})
    grpo_config: str = field(default=str(HERE / "configs" / "grpo_rrm_cpu.yaml"), metadata={"help": "grpo_rrm YAML"})
    dpo_config: str = field(default=str(HERE / "configs" / "dpo_rrm.yaml"), metadata={"help": "dpo_rrm YAML"})
    judge_held_out_per_type: int = field(default=5, metadata={"help": "held-out judge pairs per constraint type and split"})
    judge_verdicts: list[str] = field(
        default_factory=lambda: ["direct"], metadata={"help": "verdict modes of the judge-accuracy stage"}
    )
    grpo_args: list[str] = field(default_factory=list, metadata={"help": "extra flags for grpo_rrm.py"})
    dpo_args: list[str] = field(default_factory=list, metadata={"help": "extra flags for dpo_rrm.py"})
    judge_args: list[str] = field(default_factory=list, metadata={"help": "extra flags for train_judge.py"})
    stages: list[str] = field(
        default_factory=lambda: ["judge", "grpo_rrm", "grpo_ground_truth", "dpo"], metadata={"help": "stages to run"}
    )

    def __post_init__(self) -> None:
        known = {"judge", "grpo_rrm", "grpo_ground_truth", "dpo"}
        unknown = [s for s in self.stages if s not in known]
        if unknown:
            raise ValueError(f"stages={self.stages!r}: unknown {unknown}; expected some of {sorted(known)}")
        if not self.seeds:
            raise ValueError("seeds=[] : give at least one seed")


def _run(name: str, command: list[str], folder: Path) -> dict:
    """Run one recipe unless its ``results.json`` exists; return the results."""
    results = folder / "results.json"
    if results.is_file():
        logger.info("%s: done before, reusing %s", name, results)
        return json.loads(results.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    logger.info("%s: %s", name, " ".join(command))
    start = time.perf_counter()
    with open(folder / "log.txt", "w") as log:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=HERE.parent, text=True)
        for line in process.stdout:  # the stage's progress on the terminal, and in its log
            log.write(line)
            if _progress(line):
                logger.info("  %s", line.rstrip()[:160])
        code = process.wait()
    if code != 0 or not results.is_file():
        tail = (folder / "log.txt").read_text()[-3000:]
        raise SystemExit(f"{name} failed (exit {code}); log: {folder / 'log.txt'}\n{tail}")
    data = json.loads(results.read_text())
    data["seconds"] = round(time.perf_counter() - start, 1)
    results.write_text(json.dumps(data, indent=2))
    logger.info("%s: %.0f s", name, data["seconds"])
    return data


def _progress(line: str) -> bool:
    """A stage's log lines worth showing: its own INFO lines and the trainers' step logs."""
    return line.startswith(("INFO", "{'loss'", "{'train_runtime'")) or "it/s]" in line[-12:] or "s/it]" in line[-12:]


def _judge_eval(cfg: ProofConfig, adapter: str | None, folder: Path, seed: int) -> dict:
    """Before/after judge accuracy of a given adapter (no training): train_judge's evaluation."""
    results = folder / "results.json"
    if results.is_file():
        return json.loads(results.read_text())
    sys.path.insert(0, str(HERE))
    import train_judge  # noqa: E402  (the recipe next to this file)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from trl_rrm.embedded import smollm2_path
    from trl_rrm.precision import auto_dtype

    tj, _ = TrlParser((train_judge.TrainJudgeConfig, train_judge.GRPOConfig)).parse_yaml_file(cfg.judge_config)
    tj.task, tj.held_out_per_type, tj.per_type, tj.sampled_per_type = cfg.task, cfg.judge_held_out_per_type, 0, 0
    tj.eval_verdicts = cfg.judge_verdicts
    base = str(smollm2_path()) if tj.judge_base is None else tj.judge_base
    start = time.perf_counter()
    saved = Path(adapter or "-") / train_judge.HELD_OUT_FILE
    if adapter and saved.is_file():  # the pairs the adapter was tested on
        held_out = train_judge.load_held_out(saved)
    else:
        model = AutoModelForCausalLM.from_pretrained(base, dtype=auto_dtype("cpu"))
        _, held_out = train_judge.build_pairs(tj, model, AutoTokenizer.from_pretrained(base), cache=folder / "pairs.json")
        del model
    data = {
        "adapter": adapter,
        "held_out_pairs": {k: len(v) for k, v in held_out.items()},
        "before": train_judge.evaluate(base, None, tj, held_out, seed),
        "after": train_judge.evaluate(base, adapter, tj, held_out, seed) if adapter else None,
    }
    data["seconds"] = round(time.perf_counter() - start, 1)
    folder.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(data, indent=2))
    return data


def run(cfg: ProofConfig) -> dict:
    out = Path(cfg.output_dir).resolve()
    python = sys.executable
    rows: dict[int, dict] = {}
    for seed in cfg.seeds:
        row: dict = {}
        adapter = cfg.judge_adapter
        if "judge" in cfg.stages:
            if cfg.train_judge:
                folder = out / f"judge_seed{seed}"
                command = [python, str(HERE / "train_judge.py"), "--config", cfg.judge_config, "--seed", str(seed)]
                command += ["--output_dir", str(folder), "--task", cfg.task, *cfg.judge_args]
                command += ["--held_out_per_type", str(cfg.judge_held_out_per_type), "--eval_verdicts", *cfg.judge_verdicts]
                row["judge"] = _run(f"train_judge seed {seed}", command, folder)
                adapter = str(folder)
            else:  # the same adapter and held-out pairs for every seed: evaluated once
                row["judge"] = _judge_eval(cfg, adapter, out / "judge_eval", cfg.seeds[0])
        for stage, reward in (("grpo_rrm", "rrm"), ("grpo_ground_truth", "ground_truth")):
            if stage in cfg.stages:
                folder = out / f"{stage}_seed{seed}"
                command = [python, str(HERE / "grpo_rrm.py"), "--config", cfg.grpo_config, "--seed", str(seed)]
                command += ["--output_dir", str(folder), "--reward", reward, "--dataset", f"builtin:{cfg.task}", *cfg.grpo_args]
                if reward == "rrm" and adapter:
                    command += ["--judge_adapter", adapter]
                row[stage] = _run(f"{stage} seed {seed}", command, folder)
        if "dpo" in cfg.stages:
            folder = out / f"dpo_seed{seed}"
            command = [python, str(HERE / "dpo_rrm.py"), "--config", cfg.dpo_config, "--seed", str(seed)]
            command += ["--output_dir", str(folder), "--task", cfg.task, *cfg.dpo_args]
            command += ["--judge_adapter", adapter] if adapter else []
            row["dpo"] = _run(f"dpo seed {seed}", command, folder)
        rows[seed] = row
    report = {"seeds": cfg.seeds, "rows": table_rows(rows), "stages": rows}
    (out / "proof.json").write_text(json.dumps(report, indent=2, default=str))
    markdown = to_markdown(report["rows"], cfg.seeds)
    (out / "proof.md").write_text(markdown)
    print(markdown)
    return report


def _get(data: dict, *path: str):
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def table_rows(rows: dict[int, dict]) -> list[dict]:
    """One line per measured quantity: its value for each seed (alternative sources in order)."""
    untrained = [(stage, "before", "rate") for stage in ("grpo_ground_truth", "grpo_rrm", "dpo")]
    lines = []
    for split, what in (("test", "unseen topics"), ("test_types", "unseen constraint types")):
        for who, key in (("base (untrained)", "before"), ("trained adapter", "after")):
            for mode in ("generate", "direct"):
                lines.append((f"judge both-order accuracy ({mode}), {who}, {what}",
                              [("judge", key, split, mode, "both_order_accuracy")]))  # fmt: skip
    lines += [
        ("judge order agreement (generate), trained, unseen topics",
         [("judge", "after", "test", "generate", "order_agreement")]),
        ("judge held-out pairs, unseen topics", [("judge", "held_out_pairs", "test")]),
        ("policy satisfaction, untrained", untrained),
        ("policy satisfaction, GRPO + ground-truth reward", [("grpo_ground_truth", "after", "rate")]),
        ("policy satisfaction, GRPO + RRMReward (no labels)", [("grpo_rrm", "after", "rate")]),
        ("policy satisfaction, DPO on judge-labelled pairs", [("dpo", "after", "rate")]),
        ("policy held-out prompts", [("grpo_ground_truth", "after", "n"), ("grpo_rrm", "after", "n")]),
        ("DPO pairs kept by the labeler", [("dpo", "train_pairs")]),
        ("GRPO + RRMReward: training minutes", [("grpo_rrm", "train_seconds")]),
        ("GRPO + ground truth: training minutes", [("grpo_ground_truth", "train_seconds")]),
    ]
    out = []
    for label, paths in lines:
        values = {}
        for seed, row in rows.items():
            found = [v for v in (_get(row, *path) for path in paths) if v is not None]
            values[seed] = found[0] if found else None
            if "minutes" in label and values[seed] is not None:
                values[seed] = round(values[seed] / 60, 1)
        if any(v is not None for v in values.values()):
            out.append({"quantity": label, "values": values})
    return out


def to_markdown(lines: list[dict], seeds: list[int]) -> str:
    def fmt(v):
        return "–" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)

    head = "| quantity | " + " | ".join(f"seed {s}" for s in seeds) + " | mean |\n"
    head += "| --- |" + " --- |" * (len(seeds) + 1) + "\n"
    body = ""
    for line in lines:
        values = [line["values"].get(s) for s in seeds]
        present = [v for v in values if isinstance(v, (int, float))]
        mean = statistics.fmean(present) if present else None
        body += f"| {line['quantity']} | " + " | ".join(fmt(v) for v in values) + f" | {fmt(mean)} |\n"
    return head + body


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    (config,) = TrlParser((ProofConfig,)).parse_args_and_config()
    run(config)
