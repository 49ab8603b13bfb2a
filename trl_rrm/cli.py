"""The ``trl-rrm`` command line.

    trl-rrm --help
    trl-rrm demo                      # judge 32 pairs with the embedded SmolLM2, print JSON
    trl-rrm label --judge MODEL --input prompts.jsonl --output pairs.jsonl [--policy MODEL] [--resume | --overwrite]
    trl-rrm eval --task pairwise --input builtin:pairs --judge embedded --votes-curve 1 3 --output out

``label`` and ``eval`` build their flags from the same dataclasses the Python API and the
recipes use (``JudgeArguments``: every ``--judge-*`` flag; ``LabelingConfig``), so a
flag means the same thing everywhere. ``--judge`` also takes ``module:factory``: a judge
class or function of yours, built with no arguments.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import MISSING, Field, dataclass, field, fields
from typing import Any

from transformers import HfArgumentParser

from . import __version__
from .distributed import world
from .formats import LISTWISE_FORMATS
from .judges.flags.arguments import JudgeArguments
from .labeling.config import LabelingConfig
from .tournaments.registry import DEFAULT_EVALUATION_TOURNAMENTS

# Old flag names, still accepted (with a warning): old -> new.
RENAMED = {
    "--adapter": "--judge-adapter", "--format": "--judge-format", "--verdict": "--judge-verdict",
    "--both-orders": "--judge-both-orders", "--num-votes": "--judge-num-votes", "--max-new-tokens": "--judge-max-new-tokens",
    "--batch-size": "--judge-batch-size", "--load-in-4bit": "--judge-load-in-4bit", "--batch-prompts": "--chunk-size",
    "--temperature": "--policy-temperature", "--data": "--input", "--output-dir": "--output", "--tournaments": "--tournament",
}  # fmt: skip
_FACTORY = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


@dataclass
class LabelRun:
    """``trl-rrm label``: what to read and write (the labels are ``LabelingConfig``'s)."""

    input: str = field(metadata={"help": ".jsonl, .json or .parquet with 'prompt' [and 'completions']"})
    output: str = field(metadata={"help": "output .jsonl (TRL preference format), published when the run ends"})
    policy: str | None = field(default=None, metadata={"help": "model sampling candidates for rows without 'completions'"})
    seed: int = field(default=0, metadata={"help": "seeds sampling and tournaments"})
    resume: bool = field(default=False, metadata={"help": "continue an interrupted run on the same --output"})
    overwrite: bool = field(default=False, metadata={"help": "replace an existing --output"})
    no_progress: bool = field(default=False, metadata={"help": "no progress bar"})


@dataclass
class EvalRun:
    """``trl-rrm eval``: the data, the task and the report."""

    task: str = field(default="pairwise", metadata={"help": "what to evaluate",
                                                    "choices": ["pairwise", "best-of-n", "listwise", "robustness"]})  # fmt: skip
    input: str | None = field(default=None, metadata={"help": "builtin:pairs | builtin:constraints | builtin:best_of_n | "
                              "builtin:listwise (default: the task's), a .jsonl/.json/.parquet file, or a hub dataset name"})  # fmt: skip
    output: str = field(default="eval-report", metadata={"help": "folder for report.json, report.md, curves.png"})
    overwrite: bool = field(default=False, metadata={"help": "replace a report already in --output"})
    split: str | None = field(default=None, metadata={"help": "hub dataset split (default: train)"})
    limit: int | None = field(default=None, metadata={"help": "evaluate the first N rows (size of a builtin set)"})
    orders: str = field(default="both", metadata={"help": "pairwise: judge both orders, or once in a seeded order",
                                                  "choices": ["both", "random"]})  # fmt: skip
    rewardbench: bool = field(default=False, metadata={"help": "pairwise: add RewardBench's section scores"})
    votes_curve: list[int] | None = field(default=None, metadata={"help": "pairwise: re-run with these num_votes"})
    budget_curve: list[int] | None = field(default=None, metadata={"help": "pairwise: re-run with these max_new_tokens"})
    tournament: list[str] = field(default_factory=lambda: list(DEFAULT_EVALUATION_TOURNAMENTS),
                                  metadata={"help": "best-of-n: tournaments picking the best candidate"})  # fmt: skip
    method: str = field(default="listwise", metadata={"help": "listwise: 'listwise' (judge.rank) or a pairwise tournament"})
    attacks: list[str] | None = field(default=None, metadata={"help": "robustness: the attacks to run (default: all)"})
    chunk_size: int = field(default=64, metadata={"help": "pairs per judge call (pairwise) or prompts per tournament run"})
    seed: int = field(default=0, metadata={"help": "seeds the built-in sets and the random order"})
    no_progress: bool = field(default=False, metadata={"help": "no progress bar"})


def _hints(message: str) -> str:
    """The error message, plus which command has each unrecognized flag."""
    unknown = re.findall(r"(--[\w-]+)", message) if "unrecognized arguments" in message else []
    hints = []
    for flag in unknown:
        dashed = flag.replace("_", "-")
        for command, dataclasses in _COMMANDS.items():
            if any(dashed == "--" + f.name.replace("_", "-") for dc in dataclasses for f in fields(dc)):
                hints.append(f"{flag} is a flag of `trl-rrm {command}`")
    return message + ("; " + "; ".join(hints) if hints else "")


class _Parser(HfArgumentParser):
    """A command's parser: flags from dataclasses; errors name the command a flag belongs to."""

    def error(self, message: str) -> Any:
        super().error(_hints(message))


class _Top(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        super().error(_hints(message))


_COMMANDS: dict[str, tuple[type, ...]] = {"label": (LabelRun, LabelingConfig, JudgeArguments), "eval": (EvalRun, JudgeArguments)}


def _renamed(argv: list[str]) -> list[str]:
    """Old flag names of ``label`` and ``eval`` replaced by the new ones, with a warning for each."""
    command = next((token for token in argv if not token.startswith("-")), None)
    if command not in _COMMANDS:
        return argv
    out = []
    for token in argv:
        name, eq, value = token.partition("=")
        if name in RENAMED:
            print(f"trl-rrm: warning: {name} is now {RENAMED[name]} (the old name will go)", file=sys.stderr)
            token = RENAMED[name] + eq + value
        out.append(token)
    return out


def _split(namespace: argparse.Namespace, *dataclasses: type) -> list[Any]:
    """The command's option groups; a bad value is a usage error (exit 2, no traceback),
    raised before anything loads or runs."""
    try:
        return [dc(**{f.name: getattr(namespace, f.name) for f in fields(dc) if f.init}) for dc in dataclasses]
    except (ValueError, TypeError) as err:
        command = getattr(namespace, "command", None)
        print(f"trl-rrm{' ' + command if command else ''}: error: {err}", file=sys.stderr)
        raise SystemExit(2) from None


def _is_factory(spec: str | None) -> bool:
    """``--judge module:factory`` (not a local path that happens to contain a colon)."""
    return bool(spec and _FACTORY.match(spec) and not os.path.exists(spec))


def _default(item: Field) -> Any:
    return item.default_factory() if item.default_factory is not MISSING else item.default


def build_judge(arguments: Any) -> Any:
    """The judge of the ``--judge-*`` flags: a ``module:factory`` of yours, a served judge,
    or an ``HFJudge`` (see ``JudgeArguments.build``), loaded now so a bad one fails first."""
    spec = arguments.judge_model
    if _is_factory(spec):
        set_flags = [f"--{f.name.replace('_', '-')}" for f in fields(arguments)
                     if f.name != "judge_model" and getattr(arguments, f.name) != _default(f)]  # fmt: skip
        if set_flags:
            raise ValueError(f"--judge {spec!r} is your factory: it builds its own judge, so {', '.join(set_flags)} "
                             "would be ignored; set those in the factory, or drop them")  # fmt: skip
        module, name = spec.split(":")
        try:
            return getattr(importlib.import_module(module), name)()
        except (ImportError, AttributeError) as err:
            raise ValueError(f"--judge {spec!r}: cannot import {name} from {module}: {err}") from None
    judge = arguments.build()
    if hasattr(judge, "load"):
        judge.load()
    return judge


def _init_distributed() -> bool:
    """Joins the process group a launcher (torchrun, accelerate) prepared; True if this did."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False
    import torch
    import torch.distributed as dist

    if dist.is_initialized():
        return False
    dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return True


def _label(namespace: argparse.Namespace) -> int:
    from .inputs import InputError
    from .labeling import OutputError, label_preferences

    run, config, judge_args = _split(namespace, LabelRun, LabelingConfig, JudgeArguments)
    started = _init_distributed()
    try:
        if run.output is not None:  # before any model loads
            from pathlib import Path

            from .labeling.output import check_output_path

            check_output_path(run.input, Path(run.output))
        policy = run.policy
        if policy == "embedded":
            from .embedded import smollm2_path

            policy = str(smollm2_path())
        summary = label_preferences(
            run.input, build_judge(judge_args), output=run.output, config=config, policy=policy, seed=run.seed,
            resume=run.resume, overwrite=run.overwrite, progress=not run.no_progress,
        )  # fmt: skip
        rank = world()[0]  # before the process group goes
    except (InputError, OutputError, ValueError, TypeError, ImportError, OSError) as err:
        print(f"trl-rrm label: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        kept = f"the chunks finished so far are kept beside {run.output}; rerun the same command with --resume to continue"
        print(f"trl-rrm label: interrupted; {kept if run.output else 'nothing was written (no --output)'}", file=sys.stderr)
        return 130
    finally:
        if started:
            import torch.distributed as dist

            dist.destroy_process_group()
    if rank == 0:  # one summary (rows that fit no datasets.Dataset, mixed text and chat, included)
        print(json.dumps(summary.to_dict(), indent=2, ensure_ascii=False))
    return 0


def _eval(namespace: argparse.Namespace) -> int:
    from .evaluation import evaluate_best_of_n, evaluate_listwise, evaluate_pairwise, evaluate_robustness, write_report
    from .evaluation.report import prepare_report_dir
    from .inputs import InputError, builtin_task, parse_columns

    run, judge_args = _split(namespace, EvalRun, JudgeArguments)
    defaults = {"pairwise": "builtin:pairs", "best-of-n": "builtin:best_of_n", "listwise": "builtin:listwise",
                "robustness": "builtin:constraints"}  # fmt: skip
    data = run.input or defaults[run.task]
    rows_of = {"robustness": "pairwise"}  # robustness attacks pairwise rows
    set_kind = next((rows_of.get(task, task) for task, name in defaults.items() if name == data), None)
    if set_kind is not None and set_kind != rows_of.get(run.task, run.task):
        print(f"trl-rrm eval: error: --input {data} is a {set_kind} set, but --task is {run.task}", file=sys.stderr)
        return 2
    if not judge_args.judge_model and not judge_args.judge_base_url:
        judge_args.judge_model = "embedded"
    listwise = run.task == "listwise" and run.method == "listwise"
    unset_format = _default(JudgeArguments.__dataclass_fields__["judge_format"])  # a pairwise format
    if listwise and judge_args.judge_format == unset_format and not _is_factory(judge_args.judge_model):
        judge_args.judge_format = LISTWISE_FORMATS[0]  # judge.rank needs a listwise format
    common = dict(split=run.split, limit=run.limit, seed=run.seed, progress=not run.no_progress)
    try:
        if data.startswith("builtin:"):
            builtin_task(data)  # a built-in set exists (in a checkout) before anything loads
        common["columns"] = parse_columns(namespace.column)
        prepare_report_dir(run.output, overwrite=run.overwrite)  # before any judging
        judge = build_judge(judge_args)
        if run.task == "pairwise":
            result = evaluate_pairwise(judge, data, orders=run.orders, rewardbench=run.rewardbench,
                                       votes_curve=run.votes_curve, budget_curve=run.budget_curve,
                                       chunk_size=run.chunk_size, **common)  # fmt: skip
        elif run.task == "robustness":
            result = evaluate_robustness(judge, data, attacks=run.attacks, chunk_size=run.chunk_size,
                                         progress=not run.no_progress, split=run.split, limit=run.limit,
                                         columns=common["columns"], seed=run.seed)  # fmt: skip
        elif run.task == "best-of-n":
            result = evaluate_best_of_n(judge, data, tournaments=run.tournament, chunk_size=run.chunk_size, **common)
        else:
            result = evaluate_listwise(judge, data, method=run.method, chunk_size=run.chunk_size, **common)
        paths = write_report(result, run.output)
    except (InputError, ValueError, TypeError, ImportError, OSError) as err:
        print(f"trl-rrm eval: error: {err}", file=sys.stderr)
        return 2
    print(result.to_markdown())
    for kind, path in paths.items():
        print(f"wrote {kind}: {path}", file=sys.stderr)
    return 0


def _demo(namespace: argparse.Namespace) -> int:
    from .demo import run_demo
    from .inputs import InputError

    try:
        report = run_demo(namespace.model, adapter=namespace.adapter, formats=namespace.formats,
                          verdicts=namespace.verdicts, pairs=namespace.pairs, max_new_tokens=namespace.max_new_tokens,
                          batch_size=namespace.batch_size, seed=namespace.seed)  # fmt: skip
    except InputError as err:
        print(f"trl-rrm demo: error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .formats import PAIRWISE_FORMATS
    from .judges.config import VERDICT_MODES

    parser = _Top(
        prog="trl-rrm", description="Reasoning reward models (generative judges) as rewards and preference labels for TRL."
    )
    parser.add_argument("--version", action="version", version=f"trl-rrm {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress (INFO)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    demo = commands.add_parser("demo", help="judge arithmetic pairs with a real judge (default: the embedded SmolLM2)",
                               description="Judges arithmetic preference pairs built in code, both orders, one compare() "
                               "call per format; prints parse rate, accuracy, order agreement and throughput as JSON.")  # fmt: skip
    demo.add_argument("--model", default=None, help="judge model id or path (default: embedded SmolLM2-135M-Instruct)")
    demo.add_argument("--adapter", default=None, help="LoRA adapter id or path for the judge")
    demo.add_argument("--formats", nargs="+", default=list(PAIRWISE_FORMATS), choices=list(PAIRWISE_FORMATS))
    demo.add_argument("--pairs", type=int, default=32, help="number of preference pairs")
    demo.add_argument("--max-new-tokens", type=int, default=96, help="thinking budget per judgment")
    demo.add_argument("--batch-size", type=int, default=32, help="sequences generated together")
    demo.add_argument("--verdicts", nargs="+", default=["forced", "direct"], choices=list(VERDICT_MODES))
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(func=_demo)

    commands.add_parser(
        "label", dataclass_types=_COMMANDS["label"], help="label DPO preference pairs (prompt/chosen/rejected) with a judge",
        description="Ranks each prompt's candidates (the 'completions' column, or samples of --policy) with a tournament "
        "of judge matches and writes TRL preference rows chunk by chunk; --resume continues an interrupted run. "
        "Nothing is written before the input and the judge are checked; an existing --output is replaced only "
        "with --overwrite. Prints a JSON summary.",
    ).set_defaults(func=_label)
    evaluate = commands.add_parser(
        "eval", dataclass_types=_COMMANDS["eval"],
        help="judge accuracy on preference pairs, best-of-N lists or reference rankings; JSON, markdown, PNG",
        description="Evaluates a judge on pairs (accuracy per subset/category, both-order accuracy, order agreement, "
        "ties and failures on their own lines, voting and thinking-budget curves), best-of-N lists (top-pick "
        "accuracy per tournament vs random and oracle) or rankings (Kendall tau, NDCG, top-1). Writes report.json, "
        "report.md and curves.png to --output (checked before any judging).",
    )  # fmt: skip
    evaluate.add_argument("--column", action="append", default=None, metavar="FIELD=COLUMN",
                          help="map a field to the data's column, e.g. subset=domain or candidates='response_*' (repeatable)")
    evaluate.set_defaults(func=_eval)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(_renamed(list(sys.argv[1:] if argv is None else argv)))
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.command is None:
        parser.print_help()
        return 0
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
