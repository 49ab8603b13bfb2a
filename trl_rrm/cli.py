"""The ``trl-rrm`` command line.

    trl-rrm --help
    trl-rrm demo                      # judge 32 pairs with the embedded SmolLM2, print JSON
    trl-rrm demo --model PATH --adapter LORA --formats rrm --pairs 64
    trl-rrm label --judge MODEL --input prompts.jsonl --output pairs.jsonl [--policy MODEL] [--resume]
    trl-rrm eval --task pairwise --data builtin:pairs --judge embedded --votes-curve 1 3 --output-dir out
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence

from . import __version__
from .formats import FORMATS
from .judges.config import VERDICT_MODES


def _demo(args: argparse.Namespace) -> int:
    from .tasks.demo import run_demo

    report = run_demo(
        args.model,
        adapter=args.adapter,
        formats=args.formats,
        verdicts=args.verdicts,
        pairs=args.pairs,
        max_new_tokens=args.max_new_tokens,
        batch_size=args.batch_size,
        seed=args.seed,
    )
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


# Test hook: ``--judge testing:number`` uses the deterministic ``trl_rrm.testing.NumberJudge``
# (no model); ``TRL_RRM_TEST_JUDGE_DELAY=<seconds>`` sleeps that long in each judge call, so a
# test can kill a labeling run midway.
_TEST_JUDGE = "testing:number"


def _build_judge(args: argparse.Namespace):
    if args.judge == _TEST_JUDGE:
        import os
        import time

        from .testing import NumberJudge

        delay = float(os.environ.get("TRL_RRM_TEST_JUDGE_DELAY", "0") or 0)

        class _SlowNumberJudge(NumberJudge):
            def compare(self, matches):
                time.sleep(delay)
                return super().compare(matches)

            def rank(self, matches):
                time.sleep(delay)
                return super().rank(matches)

        return _SlowNumberJudge()
    from .judges.hf import HFJudge

    judge_model = args.judge
    if judge_model == "embedded":
        from .embedded import smollm2_path

        judge_model = str(smollm2_path())
    return HFJudge(
        judge_model,
        adapter=args.adapter,
        format=args.format,
        both_orders=args.both_orders,
        verdict=args.verdict,
        max_new_tokens=args.max_new_tokens,
        num_votes=args.num_votes,
        batch_size=args.batch_size,
        temperature=args.judge_temperature,
        order=args.judge_order,
        load_in_4bit=args.load_in_4bit,
        seed=args.seed,
    )


def _label(args: argparse.Namespace) -> int:
    from .labeling import LabelingInputError, label_preferences

    policy = args.policy
    if policy == "embedded":
        from .embedded import smollm2_path

        policy = str(smollm2_path())
    try:
        judge = _build_judge(args)
        summary = label_preferences(
            args.input,
            judge,
            output=args.output,
            tournament=args.tournament,
            pairs=args.pairs,
            min_margin=args.min_margin,
            min_order_agreement=args.min_order_agreement,
            policy=policy,
            num_candidates=args.num_candidates,
            temperature=args.temperature,
            max_new_tokens=args.policy_max_new_tokens,
            batch_prompts=args.batch_prompts,
            seed=args.seed,
            resume=args.resume,
            progress=not args.no_progress,
        )
    except (LabelingInputError, ValueError, TypeError) as err:
        print(f"trl-rrm label: error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(summary.to_dict(), indent=2, ensure_ascii=False))
    return 0


def _eval(args: argparse.Namespace) -> int:
    from .evaluation import evaluate_best_of_n, evaluate_listwise, evaluate_pairwise, write_report
    from .evaluation.data import EvaluationInputError, parse_columns
    from .tasks.eval_sets import BUILTIN_TASKS

    data = args.data or {"pairwise": "builtin:pairs", "best-of-n": "builtin:best_of_n", "listwise": "builtin:listwise"}[args.task]
    builtin_task = BUILTIN_TASKS.get(data.removeprefix("builtin:")) if data.startswith("builtin:") else None
    if builtin_task is not None and builtin_task != args.task:
        print(f"trl-rrm eval: error: --data {data} is a {builtin_task} set, but --task is {args.task}", file=sys.stderr)
        return 2
    if args.format is None:  # judge.rank needs the listwise format
        args.format = "principle" if args.task == "listwise" and args.method == "listwise" else "rrm"
    common = dict(split=args.split, limit=args.limit, seed=args.seed, progress=not args.no_progress)
    try:
        common["columns"] = parse_columns(args.column)
        judge = _build_judge(args)
        if args.task == "pairwise":
            result = evaluate_pairwise(
                judge, data, orders=args.orders, rewardbench=args.rewardbench, votes_curve=args.votes_curve,
                budget_curve=args.budget_curve, chunk_size=args.chunk_size, **common,
            )
        elif args.task == "best-of-n":
            result = evaluate_best_of_n(judge, data, tournaments=args.tournaments, chunk_size=args.chunk_size, **common)
        else:
            result = evaluate_listwise(judge, data, method=args.method, chunk_size=args.chunk_size, **common)
        paths = write_report(result, args.output_dir)
    except (EvaluationInputError, ValueError, TypeError, ImportError) as err:
        print(f"trl-rrm eval: error: {err}", file=sys.stderr)
        return 2
    print(result.to_markdown())
    for kind, path in paths.items():
        print(f"wrote {kind}: {path}", file=sys.stderr)
    return 0


def _add_judge_arguments(
    parser: argparse.ArgumentParser,
    *,
    default_judge: str | None,
    default_format: str | None,
    default_max_new_tokens: int,
    format_help: str = "judge prompt format",
) -> None:
    """The judge flags shared by ``label`` and ``eval`` (read by ``_build_judge``)."""
    parser.add_argument("--judge", default=default_judge, required=default_judge is None,
                        help="judge model id or path ('embedded': SmolLM2-135M-Instruct)")
    parser.add_argument("--adapter", default=None, help="LoRA adapter id or path for the judge")
    parser.add_argument("--load-in-4bit", action="store_true", help="load the judge in 4-bit (bitsandbytes)")
    parser.add_argument("--format", default=default_format, choices=list(FORMATS), help=format_help)
    parser.add_argument("--verdict", default="forced", choices=list(VERDICT_MODES), help="how a verdict is read")
    parser.add_argument("--both-orders", action="store_true", help="the judge judges both orders inside every match")
    parser.add_argument("--judge-order", default="random", choices=["random", "fixed"],
                        help="presentation order of a single-order match (seeded random, or as given)")
    parser.add_argument("--judge-temperature", type=float, default=0.6, help="judge sampling temperature (0: greedy)")
    parser.add_argument("--num-votes", type=int, default=1, help="judgments per order (majority vote)")
    parser.add_argument("--max-new-tokens", type=int, default=default_max_new_tokens,
                        help="judge thinking budget per judgment")
    parser.add_argument("--batch-size", type=int, default=16, help="judge sequences generated together")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trl-rrm",
        description="Reasoning reward models (generative judges) as rewards and preference labels for TRL.",
    )
    parser.add_argument("--version", action="version", version=f"trl-rrm {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress (INFO)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="judge verifiable pairs with a real judge (default: the embedded SmolLM2-135M-Instruct)",
        description="Judges arithmetic preference pairs built in code, both orders, one compare() "
        "call per format; prints parse rate, accuracy, order agreement and throughput as JSON.",
    )
    demo.add_argument("--model", default=None, help="judge model id or path (default: embedded SmolLM2-135M-Instruct)")
    demo.add_argument("--adapter", default=None, help="LoRA adapter id or path for the judge")
    pairwise = [f for f in FORMATS if f != "principle"]
    demo.add_argument("--formats", nargs="+", default=pairwise, choices=pairwise, help="pairwise formats to run")
    demo.add_argument("--pairs", type=int, default=32, help="number of preference pairs")
    demo.add_argument("--max-new-tokens", type=int, default=96, help="thinking budget per judgment")
    demo.add_argument("--batch-size", type=int, default=32, help="sequences generated together")
    demo.add_argument(
        "--verdicts",
        nargs="+",
        default=["forced", "direct"],
        choices=list(VERDICT_MODES),
        help="verdict modes: generate (parse only), forced (parse, else force), "
        "likelihood (score the verdict tokens after the analysis), direct (no analysis)",
    )
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(func=_demo)

    label = commands.add_parser(
        "label",
        help="label DPO preference pairs (prompt/chosen/rejected jsonl) with a judge",
        description="Ranks each prompt's candidates (the 'completions' column, or samples of --policy) "
        "with a tournament of judge matches and writes TRL preference rows, chunk by chunk (fsynced); "
        "--resume continues an interrupted run. Prints a JSON summary.",
    )
    _add_judge_arguments(label, default_judge=None, default_format="rrm", default_max_new_tokens=256)
    label.add_argument("--tournament", default="round_robin", help="knockout, elo, round_robin, bradley_terry, listwise")
    label.add_argument("--policy", default=None, help="policy model sampling candidates for rows without 'completions'")
    label.add_argument("--num-candidates", type=int, default=4, help="candidates sampled per prompt")
    label.add_argument("--temperature", type=float, default=1.0, help="policy sampling temperature")
    label.add_argument("--policy-max-new-tokens", type=int, default=128, help="policy budget per candidate")
    label.add_argument("--pairs", default="best_worst", choices=["best_worst", "all_above_margin"])
    label.add_argument("--min-margin", type=float, default=0.0, help="drop pairs whose score margin is below this")
    label.add_argument("--min-order-agreement", type=float, default=None, help="drop pairs whose order agreement is below this")
    label.add_argument("--batch-prompts", type=int, default=16, help="prompts per chunk (one tournament, one fsynced write)")
    label.add_argument("--input", required=True, help=".jsonl, .json or .parquet with 'prompt' [and 'completions']")
    label.add_argument("--output", required=True, help="output .jsonl (TRL preference format)")
    label.add_argument("--resume", action="store_true", help="continue an interrupted run on the same --output")
    label.add_argument("--no-progress", action="store_true", help="no progress bar")
    label.add_argument("--seed", type=int, default=0)
    label.set_defaults(func=_label)

    evaluate = commands.add_parser(
        "eval",
        help="judge accuracy on preference pairs, best-of-N lists or reference rankings; JSON, markdown, PNG",
        description="Evaluates a judge on pairs (accuracy per subset/category, both-order accuracy, order "
        "agreement, ties and failures on their own lines, voting and thinking-budget curves), best-of-N "
        "lists (top-pick accuracy per tournament vs random and oracle) or rankings (Kendall tau, NDCG, "
        "top-1). Writes report.json, report.md and curves.png to --output-dir.",
    )
    evaluate.add_argument("--task", default="pairwise", choices=["pairwise", "best-of-n", "listwise"])
    evaluate.add_argument("--data", default=None, help="builtin:pairs | builtin:best_of_n | builtin:listwise (default: "
                          "the task's), a .jsonl/.json/.parquet file, or a hub dataset name")
    evaluate.add_argument("--split", default=None, help="hub dataset split (default: train)")
    evaluate.add_argument("--column", action="append", default=None, metavar="FIELD=COLUMN",
                          help="map a field to the data's column, e.g. subset=domain or candidates='response_*' (repeatable)")
    evaluate.add_argument("--limit", type=int, default=None, help="evaluate the first N rows (size of a builtin set)")
    _add_judge_arguments(
        evaluate, default_judge="embedded", default_format=None, default_max_new_tokens=128,
        format_help="judge prompt format (default: rrm; principle for --task listwise --method listwise)",
    )
    evaluate.add_argument("--orders", default="both", choices=["both", "random"],
                          help="pairwise: judge every pair with chosen first and with rejected first, or once in a seeded order")
    evaluate.add_argument("--rewardbench", action="store_true", help="pairwise: add RewardBench's section scores")
    evaluate.add_argument("--votes-curve", type=int, nargs="+", default=None, metavar="K",
                          help="pairwise: re-run with these num_votes (voting@K curve)")
    evaluate.add_argument("--budget-curve", type=int, nargs="+", default=None, metavar="TOKENS",
                          help="pairwise: re-run with these max_new_tokens (thinking-budget curve)")
    evaluate.add_argument("--tournaments", nargs="+", default=["knockout", "round_robin"],
                          help="best-of-n: tournaments to pick the best candidate with")
    evaluate.add_argument("--method", default="listwise",
                          help="listwise: 'listwise' (judge.rank) or a pairwise tournament ranking the candidates")
    evaluate.add_argument("--chunk-size", type=int, default=64,
                          help="pairs per judge call (pairwise) or prompts per tournament run (best-of-n, listwise)")
    evaluate.add_argument("--output-dir", default="eval-report", help="where report.json, report.md, curves.png go")
    evaluate.add_argument("--no-progress", action="store_true", help="no progress bar")
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.set_defaults(func=_eval)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.command is None:
        parser.print_help()
        return 0
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
