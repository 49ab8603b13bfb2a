"""The end-to-end proof: a trained judge lets a policy learn from prompts without labels.

On the embedded SmolLM2-135M-Instruct (CPU), task ``constraints`` by default (short
requests with a constraint code checks; ``tasks.registry``), for each seed:

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
The table (mean and standard deviation over seeds) goes to ``<output_dir>/proof.md`` and
``proof.json`` and is printed; the learning curves to ``learning_curves.png``.

    python recipes/proof.py --config recipes/configs/proof_quick.yaml   # the README main job
    python recipes/proof.py --config recipes/configs/proof.yaml         # 3 seeds, the committed judge
"""

from __future__ import annotations

import json
import logging
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from trl import TrlParser

from trl_rrm.recipe_results import RESULTS_FILE, JudgeResults, PolicyResults, read_results, write_results

HERE = Path(__file__).resolve().parent
logger = logging.getLogger("proof")


@dataclass
class ProofConfig:
    """What the proof runs; recipe settings come from their YAML files plus these overrides."""

    output_dir: str = field(default="outputs/proof", metadata={"help": "where every stage writes"})
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2], metadata={"help": "training seeds"})
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
    judge_eval_base: bool = field(
        default=True, metadata={"help": "the judge stage measures the untrained base beside the adapter"}
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
    results = folder / RESULTS_FILE
    if results.is_file():  # written atomically (write_results): a file here is a finished stage
        logger.info("%s: done before, reusing %s", name, results)
        return read_results(folder)
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
    data = read_results(folder)
    data["seconds"] = round(time.perf_counter() - start, 1)
    write_results(folder, data)
    logger.info("%s: %.0f s", name, data["seconds"])
    return data


_BAR = re.compile(r"\| *\d+/\d+ \[\d")  # a tqdm progress bar: "| 8/24 [01:10<02:20, 8.78s/prompt, rows=13]"


def _progress(line: str) -> bool:
    """A stage's log lines worth showing: its own INFO lines, the trainers' step logs and
    every progress bar (training steps, labeling, judging)."""
    return line.startswith(("INFO", "{'loss'", "{'train_runtime'")) or bool(_BAR.search(line))


def run(cfg: ProofConfig) -> dict:
    out = Path(cfg.output_dir).resolve()
    python = sys.executable
    rows: dict[int, dict] = {}
    for seed in cfg.seeds:
        row: dict = {}
        adapter = cfg.judge_adapter
        if "judge" in cfg.stages:  # a given adapter (or the base) is evaluated once, for every seed
            trained = cfg.train_judge
            folder = out / (f"judge_seed{seed}" if trained else "judge_eval")
            command = [python, str(HERE / "train_judge.py"), "--config", cfg.judge_config, "--output_dir", str(folder)]
            command += ["--seed", str(seed if trained else cfg.seeds[0]), "--task", cfg.task]
            command += ["--held_out_per_type", str(cfg.judge_held_out_per_type), "--eval_verdicts", *cfg.judge_verdicts]
            if not trained:
                command += ["--evaluate_only", "true", "--eval_base", str(cfg.judge_eval_base).lower()]
                command += ["--judge_adapter", adapter] if adapter else []
            row["judge"] = _run(f"train_judge seed {seed}" if trained else "judge accuracy", command + cfg.judge_args, folder)
            adapter = str(folder) if trained else adapter
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
    curves = plot(rows, out / PLOT_FILE)
    if curves:
        logger.info("learning curves: %s", curves)
    return report


PLOT_FILE = "learning_curves.png"
ARMS = (("grpo_ground_truth", "GRPO + ground truth"), ("grpo_rrm", "GRPO + RRMReward (no labels)"))


@dataclass
class SeedResults:
    """One seed's stages, read through the package's result types (``trl_rrm.recipe_results``)."""

    judge: JudgeResults | None = None
    grpo_rrm: PolicyResults | None = None
    grpo_ground_truth: PolicyResults | None = None
    dpo: PolicyResults | None = None

    @classmethod
    def from_stages(cls, stages: dict) -> SeedResults:
        policies = {k: PolicyResults.from_dict(v) for k, v in stages.items() if k in ("grpo_rrm", "grpo_ground_truth", "dpo")}
        return cls(JudgeResults.from_dict(stages["judge"]) if "judge" in stages else None, **policies)


def plot(rows: dict[int, dict], path: Path) -> Path | None:
    """Held-out satisfaction against GRPO step, per arm and seed (None without matplotlib
    or without a curve)."""
    from trl_rrm.evaluation import plot_learning_curves

    seeds = [SeedResults.from_stages(row) for row in rows.values()]
    series = {label: [list(getattr(r, arm).curve) for r in seeds if getattr(r, arm) is not None] for arm, label in ARMS}
    starts = [c[0][1] for curves in series.values() for c in curves if c and c[0][0] == 0]
    try:
        return plot_learning_curves(
            series, path, baseline=statistics.fmean(starts) if starts else None, baseline_label="untrained policy",
            ylabel="held-out satisfaction", title=f"constraints task, {len(seeds)} seed{'s' * (len(seeds) > 1)}",
        )  # fmt: skip
    except (ImportError, ValueError) as error:
        logger.warning("no learning-curve plot: %s", error)
        return None


def _rate(policy: PolicyResults | None, when: str = "after") -> float | None:
    score = getattr(policy, when) if policy is not None else None
    return score.rate if score is not None else None


def _first(*values):
    return next((v for v in values if v is not None), None)


def _untrained(r: SeedResults) -> float | None:
    return _first(*(_rate(p, "before") for p in (r.grpo_ground_truth, r.grpo_rrm, r.dpo)))


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60, 1)


def _judge(who: str, split: str, mode: str, name: str):
    return lambda r: r.judge.metric(who, split, mode, name) if r.judge else None


def table_rows(rows: dict[int, dict]) -> list[dict]:
    """One line per measured quantity: its value for each seed."""
    splits = (("test", "unseen topics"), ("test_types", "unseen constraint types"))
    lines = [(f"judge both-order accuracy ({mode}), {who}, {what}", _judge(key, split, mode, "both_order_accuracy"))
             for split, what in splits for who, key in (("base (untrained)", "before"), ("trained adapter", "after"))
             for mode in ("generate", "direct")]  # fmt: skip
    lines += [(f"judge accuracy of single judgments (generate), trained adapter, {what}",
               _judge("after", split, "generate", "accuracy")) for split, what in splits]  # fmt: skip
    lines += [
        ("judge order agreement (generate), trained, unseen topics", _judge("after", "test", "generate", "order_agreement")),
        ("judge held-out pairs, unseen topics", lambda r: r.judge.held_out_pairs.get("test") if r.judge else None),
        ("policy satisfaction, untrained", _untrained),
        ("policy satisfaction, GRPO + ground-truth reward", lambda r: _rate(r.grpo_ground_truth)),
        ("policy satisfaction, GRPO + RRMReward (no labels)", lambda r: _rate(r.grpo_rrm)),
        ("policy satisfaction, DPO on judge-labelled pairs", lambda r: _rate(r.dpo)),
        ("policy satisfaction, untrained, scored by the DPO recipe (float32 weights)", lambda r: _rate(r.dpo, "before")),
        ("policy held-out prompts", lambda r: _first(*(p.after.n for p in (r.grpo_ground_truth, r.grpo_rrm) if p and p.after))),
        ("DPO pairs kept by the labeler", lambda r: r.dpo and r.dpo.train_pairs),
        ("GRPO + RRMReward: judge-checker agreement on training groups (mean over steps)",
         lambda r: r.grpo_rrm and r.grpo_rrm.audit_agreement),
        ("GRPO + RRMReward: judge-checker agreement on the trained policy's held-out answers",
         lambda r: r.grpo_rrm and r.grpo_rrm.final_audit_agreement),
        ("GRPO + RRMReward: judge share of a step", lambda r: r.grpo_rrm and r.grpo_rrm.judge_share),
        ("GRPO + RRMReward: seconds a step", lambda r: r.grpo_rrm and r.grpo_rrm.step_seconds),
        ("GRPO + ground truth: seconds a step", lambda r: r.grpo_ground_truth and r.grpo_ground_truth.step_seconds),
        ("GRPO + RRMReward: training minutes", lambda r: _minutes(r.grpo_rrm and r.grpo_rrm.train_seconds)),
        ("GRPO + ground truth: training minutes", lambda r: _minutes(r.grpo_ground_truth and r.grpo_ground_truth.train_seconds)),
    ]  # fmt: skip
    seeds = {seed: SeedResults.from_stages(row) for seed, row in rows.items()}
    out = []
    for label, read in lines:
        values = {seed: read(r) for seed, r in seeds.items()}
        if any(v is not None for v in values.values()):
            out.append({"quantity": label, "values": values})
    gains = {}
    for seed, r in seeds.items():
        before, truth, judged = _untrained(r), _rate(r.grpo_ground_truth), _rate(r.grpo_rrm)
        if None not in (before, truth, judged) and truth != before:
            gains[seed] = (judged - before) / (truth - before)
    if gains:
        out.append({"quantity": "RRMReward gain as a share of the ground-truth gain", "values": gains})
    return out


def to_markdown(lines: list[dict], seeds: list[int]) -> str:
    def fmt(v):
        return "–" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)

    spread = len(seeds) > 1
    head = "| quantity | " + " | ".join(f"seed {s}" for s in seeds) + " | mean |" + " sd |" * spread + "\n"
    head += "| --- |" + " --- |" * (len(seeds) + 1 + spread) + "\n"
    body = ""
    for line in lines:
        values = [line["values"].get(s) for s in seeds]
        present = [v for v in values if isinstance(v, (int, float))]
        mean = statistics.fmean(present) if present else None
        sd = statistics.stdev(present) if len(present) > 1 else None
        body += f"| {line['quantity']} | " + " | ".join(fmt(v) for v in values) + f" | {fmt(mean)} |"
        body += f" {fmt(sd)} |" * spread + "\n"
    return head + body


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    (config,) = TrlParser((ProofConfig,)).parse_args_and_config()
    run(config)
