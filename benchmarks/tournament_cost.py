"""Tournament cost against quality, with a simulated noisy, position-biased judge.

    python benchmarks/tournament_cost.py                       # N = 4, 8, 16, 32; 400 groups each
    python benchmarks/tournament_cost.py --groups 2000 --bias 1.0 --noise 1.0

Pure Python, no model. Each group has N candidates with a latent quality ~ Normal(0, 1).
The simulated pairwise judge picks the first-shown response with probability
``sigmoid((q_first - q_second) / noise + bias)``: ``noise`` blurs close calls, ``bias``
is a constant preference for whatever is shown first; ``--fail`` of its verdicts are
unparseable (None). ``+both`` judges both orders (twice the matches; disagreement is a
tie, as ``both_orders=True``). The listwise judge sees all N at once in a random order
and ranks them by quality / noise + Gumbel noise + ``bias`` for the first-shown (a
Plackett-Luce ranking: any two responses compare under the same logistic law as the
pairwise judge's).

Reported per tournament and N: pairwise matches per group (listwise: one call that reads
N responses), best-of-N accuracy (the top-scored candidate is the truly best one; ties
at the top are broken at random) and the mean quality regret of the pick.
"""

from __future__ import annotations

import math
import random

from _common import parser, table, write


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def main() -> None:
    p = parser(__doc__.splitlines()[0], model=False)
    p.add_argument("--sizes", default="4,8,16,32")
    p.add_argument("--groups", type=int, default=400, help="simulated groups per N")
    p.add_argument("--noise", type=float, default=0.5)
    p.add_argument("--bias", type=float, default=0.5, help="position bias, in logits, for the first-shown response")
    p.add_argument("--fail", type=float, default=0.05, help="share of unparseable verdicts")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    from trl_rrm.tournaments import get_tournament, listwise_scores, play
    from trl_rrm.types import Ranking, Verdict

    sizes = [int(s) for s in args.sizes.split(",")]
    tournaments = {
        "knockout": ("knockout", {}, False),
        "knockout+both": ("knockout", {}, True),
        "elo k=2": ("elo", {"opponents": 2}, False),
        "elo k=4": ("elo", {"opponents": 4}, False),
        "elo k=4+both": ("elo", {"opponents": 4}, True),
        "elo all pairs": ("elo", {}, False),
        "round_robin": ("round_robin", {}, False),
        "bradley_terry k=4": ("bradley_terry", {"opponents": 4}, False),
        "bradley_terry": ("bradley_terry", {}, False),
    }
    results: dict[str, dict[int, dict[str, float]]] = {name: {} for name in [*tournaments, "listwise"]}
    for n in sizes:
        rng = random.Random(f"{args.seed}-{n}")
        quality = [[rng.gauss(0, 1) for _ in range(n)] for _ in range(args.groups)]

        def one(q_first: float, q_second: float, rng: random.Random) -> int | None:
            if rng.random() < args.fail:
                return None
            return 0 if rng.random() < _sigmoid((q_first - q_second) / args.noise + args.bias) else 1

        for name, (kind, options, both) in tournaments.items():
            if kind == "round_robin" and n > 16 or kind in ("elo", "bradley_terry") and not options and n > 16:
                continue  # all pairs at N = 32 is 496 matches per group: shown up to 16
            judge_rng = random.Random(f"{args.seed}-{n}-{name}")
            matches = [0]

            def compare(pairings):
                verdicts = []
                for pr in pairings:
                    qa, qb = quality[pr.group][pr.first], quality[pr.group][pr.second]
                    first = one(qa, qb, judge_rng)
                    if not both:
                        verdicts.append(Verdict(winner=first, votes=(first,)))
                        continue
                    swapped = one(qb, qa, judge_rng)
                    swapped = None if swapped is None else 1 - swapped
                    valid = [v for v in (first, swapped) if v is not None]
                    if not valid:
                        verdicts.append(Verdict(winner=None, votes=(first, swapped)))
                    elif len(set(valid)) > 1:
                        verdicts.append(Verdict(winner=None, tie=True, votes=(first, swapped)))
                    else:
                        verdicts.append(Verdict(winner=valid[0], votes=(first, swapped)))
                matches[0] += len(pairings) * (2 if both else 1)
                return verdicts

            schedule = play(get_tournament(kind, **options), [n] * args.groups, compare, seed=args.seed)
            results[name][n] = _quality(schedule.scores(), quality, judge_rng) | {"matches": matches[0] / args.groups}
        judge_rng = random.Random(f"{args.seed}-{n}-listwise")
        scores = []
        for g in range(args.groups):
            shown = list(range(n))
            judge_rng.shuffle(shown)
            if judge_rng.random() < args.fail:
                scores.append(listwise_scores(None, n))
                continue
            # Gumbel noise on quality / noise: the listwise judge's choice between any two
            # responses follows the same logistic law as the pairwise judge's.
            noisy = {i: quality[g][i] / args.noise - math.log(-math.log(judge_rng.random() or 1e-300))
                     + (args.bias if pos == 0 else 0.0) for pos, i in enumerate(shown)}
            scores.append(listwise_scores(Ranking(order=tuple(sorted(range(n), key=lambda i: -noisy[i]))), n))
        results["listwise"][n] = _quality(scores, quality, judge_rng) | {"matches": 1.0}
    rows = []
    for name, by_n in results.items():
        row = [name]
        for n in sizes:
            r = by_n.get(n)
            row.append("-" if r is None else f"{r['matches']:.1f} / {r['accuracy']:.2f}")
        rows.append(row)
    payload = {
        "config": vars(args) | {"sizes": sizes},
        "results": {k: {str(n): v for n, v in r.items()} for k, r in results.items()},
    }
    md = "\n".join([
        f"### Tournament cost vs best-of-N accuracy (simulated judge: noise {args.noise}, position bias "
        f"{args.bias} logits, {args.fail:.0%} failures; {args.groups} groups per N)", "",
        "Each cell: pairwise matches per group / best-of-N accuracy (listwise: one call reading N responses).", "",
        table(["tournament", *[f"N={n}" for n in sizes]], rows),
    ])
    write("tournament_cost", args, payload, md)


def _quality(scores, quality, rng) -> dict[str, float]:
    hits, regret = 0, 0.0
    for group_scores, q in zip(scores, quality):
        valid = [s for s in group_scores if s is not None]
        if valid:
            top = max(valid)
            pick = rng.choice([i for i, s in enumerate(group_scores) if s == top])
        else:
            pick = rng.randrange(len(q))  # no information: a random pick
        best = max(range(len(q)), key=q.__getitem__)
        hits += pick == best
        regret += q[best] - q[pick]
    return {"accuracy": hits / len(quality), "regret": regret / len(quality)}


if __name__ == "__main__":
    main()
