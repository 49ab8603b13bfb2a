"""Judgments a verifier saves on the proof task: ``RRMReward(verifier=...)`` against judging every group.

    python benchmarks/verifier_savings.py                         # 64 prompts x 4, the embedded policy
    python benchmarks/verifier_savings.py --prompts 128 --policy outputs/proof/grpo_rrm_seed0

The policy (the untrained embedded SmolLM2-135M-Instruct, or a trained policy adapter's
folder) answers ``--prompts`` training prompts of ``builtin:constraints``
``--generations`` times each, sampled as GRPO samples them (temperature 1.0,
``--max-new-tokens`` as ``grpo_rrm_cpu.yaml``). The task's checker scores every answer; a
group it separates (not all right, not all wrong) is settled without the judge. Reported:
the settled share and the matches a step needs for each tournament, with and without the
verifier (a match is one judge call per order: ``both_orders`` doubles both columns
alike). No judge runs: a tournament's matches are counted by playing its schedule with
ties. Writes results/verifier_savings.{json,md}.
"""

from __future__ import annotations

from _common import load, native_precision, parser, setup, table, write

TOURNAMENTS = ("round_robin", "circular", "knockout", "swiss")


def matches(tournament: str, sizes: list[int]) -> int:
    """Matches a tournament plays over groups of ``sizes`` (its schedule, every verdict a tie)."""
    from trl_rrm.tournaments import get_tournament, play
    from trl_rrm.types import Verdict

    tie = Verdict(winner=None, tie=True, votes=(0, 1))
    return len(play(get_tournament(tournament), sizes, lambda pairings: [tie] * len(pairings)).results())


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--policy", default=None, help="a trained policy adapter's folder (default: the untrained base)")
    p.add_argument("--prompts", type=int, default=64, help="training prompts answered")
    p.add_argument("--generations", type=int, default=4, help="answers per prompt (GRPO's num_generations)")
    p.add_argument("--max-new-tokens", type=int, default=20, help="as grpo_rrm_cpu.yaml's max_completion_length")
    p.add_argument("--batch", type=int, default=16, help="completions per GRPO step (per_device_train_batch_size)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    setup(args)

    from trl_rrm.inputs import builtin_tasks
    from trl_rrm.sampling import generate_completions
    from trl_rrm.verifier import settled_groups

    model, tokenizer = load(args.model)
    model, _ = native_precision(model)  # as the GRPO recipe samples on this CPU
    if args.policy:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, args.policy)
    task = builtin_tasks().get_task("builtin:constraints")  # the checkout's toy task (recipes/tasks)
    rows = task.train_rows(args.prompts, args.seed, labels=True)
    answers = generate_completions(model, tokenizer, [r["prompt"] for r in rows], num_samples=args.generations,
                                   temperature=1.0, max_new_tokens=args.max_new_tokens, seed=args.seed)  # fmt: skip
    values = [task.reward(completions=group, **{task.label_column: [row[task.label_column]] * len(group)})
              for row, group in zip(rows, answers)]  # fmt: skip
    settled = settled_groups(values)
    judged = [len(group) for group, s in zip(answers, settled) if s is None]
    every = [len(group) for group in answers]
    steps = args.prompts * args.generations / args.batch
    out = []
    for name in TOURNAMENTS:
        without, with_verifier = matches(name, every), matches(name, judged)
        out.append({"tournament": name, "matches_per_step": without / steps,
                    "matches_per_step_verified": with_verifier / steps, "saved": 1 - with_verifier / without})  # fmt: skip
    rate = sum(v for group in values for v in group) / sum(every)
    payload = {"policy": args.policy or "untrained", "prompts": args.prompts, "generations": args.generations,
               "checker_rate": rate, "settled_group_rate": 1 - len(judged) / len(every), "rows": out}  # fmt: skip
    markdown = (f"policy {payload['policy']}: checker rate {rate:.3f}, groups settled by the checker "
                f"{payload['settled_group_rate']:.3f} ({args.prompts} prompts x {args.generations})\n\n")
    markdown += table(["tournament", "matches / step", "with verifier", "saved"],
                      [[r["tournament"], r["matches_per_step"], r["matches_per_step_verified"], r["saved"]] for r in out])  # fmt: skip
    write("verifier_savings", args, payload, markdown)


if __name__ == "__main__":
    main()
