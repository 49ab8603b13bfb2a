"""Tournament cost against ranking quality with a trained judge, on the proof task's groups.

    python benchmarks/tournament_judged.py                      # 8 mixed groups of 8 answers, E8's judge
    python benchmarks/tournament_judged.py --prompts 32 --judge-adapter recipes/adapters/smollm2-constraint-judge

``tournament_cost.py`` asks the same question of a simulated judge; this asks it of a real
one. The policy (the embedded SmolLM2-135M-Instruct, untrained) answers ``--prompts``
training prompts of ``builtin:constraints`` ``--size`` times each, sampled as GRPO samples
them (temperature 1.0, ``--max-new-tokens`` as ``grpo_rrm_cpu.yaml``); the task's checker
gives every answer its truth (1 follows the request's rule, 0 not). Groups where the
checker passes all or none are dropped (there is no order to recover); the first
``--max-groups`` of the rest are judged. The judge (the embedded base plus
``--judge-adapter``, ``generate`` verdicts, both orders, greedy, bf16 where the CPU has
it) judges every pair of every group once; each tournament then plays
its schedule against those verdicts (its (first, second) gets the both-order verdict,
oriented), so every tournament is read off the same judgments and costs nothing more.

Reported per tournament: judgments per group (a match judged in both orders counts two),
mean Kendall tau-b between rewards and truth, best-of-N accuracy (the top reward follows
the rule; ties at the top broken at random), their shares of round robin's, and the
judge's own accuracy on the pairs whose answers differ in truth. Writes
results/tournament_judged.{json,md}.
"""

from __future__ import annotations

import itertools
import random
import time
from pathlib import Path

from _common import model_path, parser, setup, table, write
from tournament_cost import TOURNAMENTS, _quality

ADAPTER = Path(__file__).resolve().parent.parent / "recipes" / "adapters" / "smollm2-constraint-judge-walk"


def main() -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--judge-adapter", default=str(ADAPTER), help="judge LoRA adapter (on --model); none: the base")
    p.add_argument("--prompts", type=int, default=24, help="training prompts answered")
    p.add_argument("--max-groups", type=int, default=8, help="mixed groups judged (the first ones)")
    p.add_argument("--size", type=int, default=8, help="answers per prompt (N)")
    p.add_argument("--max-new-tokens", type=int, default=20, help="policy answer budget")
    p.add_argument("--judge-tokens", type=int, default=192, help="judge thinking budget")
    p.add_argument("--batch-size", type=int, default=16, help="judge batch size")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    setup(args)
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from trl_rrm import HFJudge, Match
    from trl_rrm.inputs import builtin_tasks
    from trl_rrm.precision import cpu_computes_bf16
    from trl_rrm.sampling import generate_completions
    from trl_rrm.tournaments import get_tournament, play
    from trl_rrm.types import Verdict

    path = model_path(args.model)
    policy = AutoModelForCausalLM.from_pretrained(path, dtype=torch.bfloat16 if cpu_computes_bf16() else torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(path)
    task = builtin_tasks().get_task("builtin:constraints")  # the checkout's toy task (recipes/tasks)
    rows = task.train_rows(args.prompts, args.seed, labels=True)
    start = time.perf_counter()
    answers = generate_completions(policy, tokenizer, [r["prompt"] for r in rows], num_samples=args.size,
                                   temperature=1.0, max_new_tokens=args.max_new_tokens, seed=args.seed)  # fmt: skip
    sampling_seconds = time.perf_counter() - start
    del policy
    truths = [task.reward(completions=group, **{task.label_column: [row[task.label_column]] * len(group)})
              for row, group in zip(rows, answers)]  # fmt: skip
    kept = [g for g, truth in enumerate(truths) if 0 < sum(truth) < len(truth)]
    print(f"{len(kept)} of {len(rows)} groups mixed (the checker passes some answers, not all); "
          f"judging {min(len(kept), args.max_groups)}", flush=True)  # fmt: skip
    kept = kept[: args.max_groups]
    if not kept:
        raise SystemExit("no mixed group: raise --prompts")
    prompts = [rows[g]["prompt"] for g in kept]
    groups = [answers[g] for g in kept]
    truth = [[float(t) for t in truths[g]] for g in kept]

    adapter = None if args.judge_adapter == "none" else args.judge_adapter
    judge = HFJudge(path, adapter=adapter, format="rrm", verdict="generate", both_orders=True,
                    temperature=0.0, max_new_tokens=args.judge_tokens, batch_size=args.batch_size)  # fmt: skip
    pairs = [(g, i, j) for g in range(len(groups)) for i, j in itertools.combinations(range(args.size), 2)]
    verdicts: dict[tuple[int, int, int], Verdict] = {}
    start = time.perf_counter()
    chunk = 4 * args.batch_size
    for at in range(0, len(pairs), chunk):
        part = pairs[at : at + chunk]
        judged = judge.compare([Match(prompts[g], (groups[g][i], groups[g][j])) for g, i, j in part])
        verdicts.update(zip(part, judged))
        print(f"judged {min(at + chunk, len(pairs))}/{len(pairs)} pairs, both orders "
              f"({time.perf_counter() - start:.0f} s)", flush=True)  # fmt: skip
    judging_seconds = time.perf_counter() - start
    differ = [(key, v) for key, v in verdicts.items() if truth[key[0]][key[1]] != truth[key[0]][key[2]]]
    right = sum(v.winner == (0 if truth[g][i] > truth[g][j] else 1) for (g, i, j), v in differ)
    wrong = sum(v.winner == (1 if truth[g][i] > truth[g][j] else 0) for (g, i, j), v in differ)

    def oriented(g: int, first: int, second: int) -> Verdict:
        if first < second:
            return verdicts[(g, first, second)]
        v = verdicts[(g, second, first)]
        flipped = None if v.p_first is None else 1.0 - v.p_first
        return Verdict(winner=None if v.winner is None else 1 - v.winner, tie=v.tie, p_first=flipped)

    results = {}
    rng = random.Random(args.seed)
    for name, (kind, options, both) in TOURNAMENTS.items():
        if both:  # every verdict here is already both orders
            continue
        played = [0]

        def compare(pairings, played=played):
            played[0] += len(pairings)
            return [oriented(pr.group, pr.first, pr.second) for pr in pairings]

        schedule = play(get_tournament(kind, **options), [args.size] * len(groups), compare, seed=args.seed)
        results[name] = _quality(schedule.scores(), truth, rng) | {
            "judgments": 2 * played[0] / len(groups), "rounds": float(schedule.rounds_played)}
    rr = results["round_robin"]
    for r in results.values():
        r["tau_share"] = r["kendall_tau"] / rr["kendall_tau"] if rr["kendall_tau"] else None
        r["accuracy_share"] = r["accuracy"] / rr["accuracy"] if rr["accuracy"] else None
    payload = {
        "config": vars(args), "groups": len(groups), "pairs_judged": len(pairs),
        "judge_pair_accuracy": right / len(differ) if differ else None, "pairs_that_differ": len(differ),
        "judge_pair_wrong": wrong / len(differ) if differ else None,
        "order_agreement": sum(v.order_agreement is True for v in verdicts.values()) / len(verdicts),
        "sampling_seconds": sampling_seconds, "judging_seconds": judging_seconds, "results": results,
    }  # fmt: skip
    lines = [[name, f"{r['judgments']:.1f} / {r['rounds']:.0f}", f"{r['kendall_tau']:.3f}", f"{r['accuracy']:.2f}",
              "-" if r["tau_share"] is None else f"{r['tau_share']:.0%}",
              "-" if r["accuracy_share"] is None else f"{r['accuracy_share']:.0%}"]
             for name, r in sorted(results.items(), key=lambda item: item[1]["judgments"])]  # fmt: skip
    md = "\n".join([
        f"### Tournaments with a trained judge ({Path(args.judge_adapter).name}, generate, both orders; "
        f"{len(groups)} mixed groups of N = {args.size} policy answers on builtin:constraints)", "",
        f"Judge accuracy on the {len(differ)} pairs whose answers differ in truth: "
        f"{payload['judge_pair_accuracy']:.3f} right, {payload['judge_pair_wrong']:.3f} wrong, the rest ties or "
        f"failures; order agreement {payload['order_agreement']:.3f}.", "",
        table(["tournament", "judgments / rounds", "Kendall tau-b", "best-of-N", "tau share", "best-of-N share"],
              lines),
    ])  # fmt: skip
    write("tournament_judged", args, payload, md)


if __name__ == "__main__":
    main()
