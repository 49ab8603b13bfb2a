"""The ``trl-rrm`` command line.

    trl-rrm --help
    trl-rrm demo                      # judge 32 pairs with the embedded SmolLM2, print JSON
    trl-rrm demo --model PATH --adapter LORA --formats rrm --pairs 64
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence

from . import __version__
from .formats import FORMATS
from .judges.base import VERDICT_MODES


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

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
