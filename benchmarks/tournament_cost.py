"""Tournament cost against ranking quality, with a simulated noisy, position-biased judge.

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

Reported per tournament and N: pairwise judgments per group (listwise: one call that
reads N responses), sequential rounds (batched judge calls one after the other), the
mean Kendall tau-b between the rewards and the latent qualities (GRPO normalises rewards
over the whole group, so the whole order matters; tied rewards count as ties, a None
reward as the group's mean reward), best-of-N accuracy (the top-scored candidate is the
truly best one; ties at the top broken at random) and the mean quality regret of the
pick; against the targets (TARGETS), each tournament's shares of round robin's Kendall
tau and of its best-of-N accuracy at N = 8 and 16. Writes results/tournament_cost.{json,md}
and, with matplotlib installed, results/tournament_cost.png (Kendall tau against
judgments per group, log x).
"""

from __future__ import annotations

import itertools
import math
import random
import time
from pathlib import Path

from _common import RESULTS, parser, table, write

from trl_rrm.evaluation.metrics import kendall_tau_b

# name: (registry name, options, both orders)
TOURNAMENTS = {
    "knockout": ("knockout", {}, False),
    "knockout+both": ("knockout", {}, True),
    "anchor random": ("anchor", {}, False),
    "circular k=1": ("circular", {"k": 1}, False),
    "circular k=2": ("circular", {"k": 2}, False),
    "circular k=3": ("circular", {"k": 3}, False),
    "swiss": ("swiss", {}, False),
    "adaptive 2N": ("adaptive", {}, False),
    "elo k=2": ("elo", {"opponents": 2}, False),
    "elo k=4": ("elo", {"opponents": 4}, False),
    "elo k=4+both": ("elo", {"opponents": 4}, True),
    "bradley_terry k=4": ("bradley_terry", {"opponents": 4}, False),
    "elo all pairs": ("elo", {}, False),
    "round_robin": ("round_robin", {}, False),
    "bradley_terry": ("bradley_terry", {}, False),
}
# (N, share of round robin's Kendall tau and best-of-N accuracy) a linear-budget tournament should keep.
TARGETS = ((8, 0.9), (16, 0.8))
TIME_LIMIT = 60.0  # seconds; a slower run of a tournament skips its larger N ("-")


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
    results: dict[str, dict[int, dict[str, float]]] = {name: {} for name in [*TOURNAMENTS, "listwise"]}
    too_slow: set[str] = set()
    for n in sizes:
        rng = random.Random(f"{args.seed}-{n}")
        quality = [[rng.gauss(0, 1) for _ in range(n)] for _ in range(args.groups)]

        def one(q_first: float, q_second: float, rng: random.Random) -> int | None:
            if rng.random() < args.fail:
                return None
            return 0 if rng.random() < _sigmoid((q_first - q_second) / args.noise + args.bias) else 1

        for name, (kind, options, both) in TOURNAMENTS.items():
            if name in too_slow:
                continue
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

            start = time.perf_counter()
            schedule = play(get_tournament(kind, **options), [n] * args.groups, compare, seed=args.seed)
            scores = schedule.scores()
            seconds = time.perf_counter() - start
            if seconds > TIME_LIMIT:
                too_slow.add(name)
            results[name][n] = _quality(scores, quality, judge_rng) | {
                "matches": matches[0] / args.groups,
                "rounds": float(schedule.rounds_played),
                "seconds": seconds,
            }
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
        results["listwise"][n] = _quality(scores, quality, judge_rng) | {"matches": 1.0, "rounds": 1.0}

    payload = {
        "config": vars(args) | {"sizes": sizes},
        "results": {k: {str(n): v for n, v in r.items()} for k, r in results.items()},
    }
    write("tournament_cost", args, payload, _markdown(args, sizes, results))
    _plot(results, sizes, Path(args.out).with_suffix(".png") if args.out else RESULTS / "tournament_cost.png")


def _markdown(args, sizes: list[int], results: dict[str, dict[int, dict[str, float]]]) -> str:
    def cells(name: str, fmt) -> list[str]:
        return [name, *("-" if results[name].get(n) is None else fmt(results[name][n]) for n in sizes)]

    headers = ["tournament", *[f"N={n}" for n in sizes]]
    cost = [
        ["listwise", *("1 call / 1" for _ in sizes)] if name == "listwise"
        else cells(name, lambda r: f"{r['matches']:.1f} / {r['rounds']:.0f}")
        for name in results
    ]
    quality = [cells(name, lambda r: f"{r['kendall_tau']:.3f} / {r['accuracy']:.2f}") for name in results]
    target_rows = []
    for name, by_n in results.items():
        row, linear, meets = [name], name != "listwise", True
        for n, needed in TARGETS:
            r, rr = by_n.get(n), results.get("round_robin", {}).get(n)
            if r is None or rr is None or not rr["kendall_tau"] or not rr["accuracy"]:
                row += ["-", "-", "-"]
                linear = meets = False
                continue
            tau_share, accuracy_share = r["kendall_tau"] / rr["kendall_tau"], r["accuracy"] / rr["accuracy"]
            linear = linear and r["matches"] <= 2 * n
            meets = meets and tau_share >= needed and accuracy_share >= needed
            row += ["1 call" if name == "listwise" else f"{r['matches']:.1f}", f"{tau_share:.1%}", f"{accuracy_share:.1%}"]
        target_rows.append([*row, "yes" if linear else "no", "**yes**" if linear and meets else "no"])
    target_headers = ["tournament"]
    for n, needed in TARGETS:
        target_headers += [f"N={n} judgments", f"N={n} tau share (>= {needed:.0%})", f"N={n} best-of-N share (>= {needed:.0%})"]
    return "\n".join([
        f"### Tournament cost vs ranking quality (simulated judge: noise {args.noise}, position bias "
        f"{args.bias} logits, {args.fail:.0%} failures; {args.groups} groups per N)", "",
        "Cost per group: pairwise judgments / sequential rounds (+both: two judgments per match; "
        "listwise: one call reading N responses).", "",
        table(headers, cost), "",
        "Quality: mean Kendall tau-b between rewards and latent quality / best-of-N accuracy.", "",
        table(headers, quality), "",
        "Targets: a linear budget (at most 2N judgments per group) that keeps at least "
        + " and ".join(f"{needed:.0%} of round robin's Kendall tau and best-of-N accuracy at N = {n}"
                       for n, needed in TARGETS) + " (shares of round robin's).", "",
        table([*target_headers, "<= 2N", "meets all"], target_rows),
    ])


def _plot(results: dict[str, dict[int, dict[str, float]]], sizes: list[int], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"matplotlib is not installed: no plot ({path})")
        return
    markers = dict(zip(sizes, itertools.cycle("osD^vP*X")))
    colors = plt.get_cmap("tab20").colors
    fig, ax = plt.subplots(figsize=(10, 6))
    for k, (name, by_n) in enumerate(results.items()):
        points = [(n, by_n[n]) for n in sizes if n in by_n]
        color = colors[k % len(colors)]
        label = "listwise (1 call)" if name == "listwise" else name
        ax.plot([r["matches"] for _, r in points], [r["kendall_tau"] for _, r in points], color=color,
                label=label, linewidth=1.5, linestyle="--" if "+both" in name or name == "listwise" else "-")
        for n, r in points:
            ax.plot(r["matches"], r["kendall_tau"], markers[n], color=color, markersize=6)
    for n in sizes:  # marker legend
        ax.plot([], [], markers[n], color="grey", label=f"N={n}")
    ax.set_xscale("log")
    ax.set_xlabel("pairwise judgments per group (log)")
    ax.set_ylabel("mean Kendall tau-b (rewards vs latent quality)")
    ax.set_title("Tournament cost vs ranking quality (simulated judge)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"plot: {path}")


def _quality(scores, quality, rng) -> dict[str, float]:
    hits, regret, tau = 0, 0.0, 0.0
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
        mean = sum(valid) / len(valid) if valid else 0.0
        tau += kendall_tau_b([mean if s is None else s for s in group_scores], q) or 0.0  # all tied: 0
    count = len(quality)
    return {"accuracy": hits / count, "regret": regret / count, "kendall_tau": tau / count}


if __name__ == "__main__":
    main()
