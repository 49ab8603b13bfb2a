"""Real-model tier: HFJudge on SmolLM2-135M-Instruct (obtained offline, cached)."""

from __future__ import annotations

import json

import pytest

from trl_rrm import HFJudge, Match

from tasks.arithmetic import arithmetic_pairs

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def smollm2():
    from trl_rrm.embedded import smollm2_path

    return HFJudge(smollm2_path(), batch_size=32).load()


@pytest.mark.parametrize("fmt, pairs", [("rrm", 8), ("rm_r1", 4), ("rm_r1_distilled", 4)])
def test_judges_real_pairs_both_orders_in_one_call(smollm2, fmt, pairs):
    judge = HFJudge.from_model(
        smollm2.model, smollm2.tokenizer, format=fmt, both_orders=True, max_new_tokens=24, verdict="forced"
    )
    calls = []
    generate = judge.generate
    judge.generate = lambda requests: calls.append(len(requests)) or generate(requests)
    matches = [Match(p.prompt, (p.chosen, p.rejected)) for p in arithmetic_pairs(pairs, seed=1)]
    verdicts = judge.compare(matches)
    # one call for every match in both orders; at most one more for the forced answers
    assert calls[0] == 2 * pairs and len(calls) <= 2
    assert all(len(v.votes) == 2 and len(v.raw) == 2 for v in verdicts)
    votes = [vote for v in verdicts for vote in v.votes]
    # with the verdict prefix forced, the model's continuation names an assistant
    assert sum(vote is not None for vote in votes) >= 0.75 * len(votes)
    for verdict in verdicts:
        assert verdict.tokens > 0
        first, second = verdict.votes  # one vote per order, in match orientation
        if None not in (first, second):  # both orders decided: agree -> that winner, else a tie
            assert verdict.order_agreement is (first == second)
            assert (verdict.winner, verdict.tie) == ((first, False) if first == second else (None, True))
        else:  # one order decided: it decides alone
            decided = [v for v in (first, second) if v is not None]
            assert verdict.order_agreement is None and verdict.winner == (decided[0] if decided else None)


def test_sampled_votes_are_reproducible(smollm2):
    kwargs = dict(format="rrm", num_votes=2, temperature=0.8, max_new_tokens=16, seed=5)
    matches = [Match(p.prompt, (p.chosen, p.rejected)) for p in arithmetic_pairs(2, seed=2)]
    first = HFJudge.from_model(smollm2.model, smollm2.tokenizer, **kwargs).compare(matches)
    second = HFJudge.from_model(smollm2.model, smollm2.tokenizer, **kwargs).compare(matches)
    assert [v.raw for v in first] == [v.raw for v in second]


def test_demo_cli_prints_a_report(capsys):
    from trl_rrm.cli import main
    from trl_rrm.embedded import smollm2_path

    # in this process the demo's model loads in float32 (tests/conftest.py), as the reference below does; a
    # subprocess would pick bf16 where the CPU computes it, and its probabilities differ in the third decimal
    assert main(["demo", "--pairs", "2", "--formats", "rrm", "--max-new-tokens", "8", "--verdicts", "forced", "direct"]) == 0
    forced, direct = json.loads(capsys.readouterr().out)["results"]
    assert (forced["verdict"], direct["verdict"]) == ("forced", "direct")
    assert forced["matches"] == 2 and forced["judgments"] == 4
    # forced: every judgment ends in a verdict, read or forced; 8 tokens rarely reach one unforced
    assert forced["parse_rate"] == 1 and 0 < forced["forced_answers"] <= 4 and forced["matches_per_second"] > 0
    assert forced["failures"] == 0 and forced["judge_tokens"] > 0
    # direct: one forward pass per order, a probability every time
    assert direct["judge_tokens"] == 0 and direct["parse_rate"] == 1 and direct["failures"] == 0
    # by hand, from one order at a time: p = p(first shown better) with the right answer first, q with it second;
    # the demo's p_first is (p + 1 - q) / 2 and the bias (p + q) / 2 - 0.5, averaged over the 2 pairs (seed 0).
    one_order = HFJudge(str(smollm2_path()), dtype="float32", format="rrm", verdict="direct", order="fixed",
                        both_orders=False, max_new_tokens=8, batch_size=32, seed=0)  # fmt: skip
    pairs = arithmetic_pairs(2, seed=0)
    shown = [Match(x.prompt, (x.chosen, x.rejected)) for x in pairs] + [Match(x.prompt, (x.rejected, x.chosen)) for x in pairs]
    verdicts = one_order.compare(shown)
    p, q = [v.p_first for v in verdicts[:2]], [v.p_first for v in verdicts[2:]]
    assert direct["mean_p_right"] == pytest.approx(sum((a + 1 - b) / 2 for a, b in zip(p, q)) / 2, abs=1e-4)
    assert direct["position_bias"] == pytest.approx(sum((a + b) / 2 - 0.5 for a, b in zip(p, q)) / 2, abs=1e-4)


# Measured on these 12 pairs (fp32, both orders, 2026-12-02, both the first and the second training
# run's adapter, the second committed): accuracy 0.667 (16 of 24 judgments),
# both-order 0.417, agreement 0.5; the base 0.0 (no verdict in 256 tokens). The bar: 3 judgments below.
THRESHOLD_ACCURACY = 0.55


def _first_of_each_type(adapter) -> dict:
    """The first held-out unseen-topic pair of each trained type in ``adapter``'s held_out_pairs.jsonl."""
    from trl_rrm.evaluation.data import PairExample

    first_of_type: dict[str, PairExample] = {}
    for line in (adapter / "held_out_pairs.jsonl").read_text().splitlines():
        row = json.loads(line)
        if row.pop("split") == "test":
            first_of_type.setdefault(row["subset"], PairExample(**row))
    return first_of_type


def test_committed_constraint_judge_verifies_held_out_pairs():
    """The committed constraint judge (recipes/adapters/smollm2-constraint-judge) on one
    held-out unseen-topic pair of every trained type, both orders, as trained: it writes
    its checks, then the verdict. The untrained base on the same pairs is beside it."""
    from pathlib import Path

    from trl_rrm.embedded import smollm2_path
    from trl_rrm.evaluation import evaluate_pairwise

    adapter = Path(__file__).resolve().parent.parent / "recipes" / "adapters" / "smollm2-constraint-judge"
    first_of_type = _first_of_each_type(adapter)
    pairs = list(first_of_type.values())
    assert len(pairs) == 12
    metrics = {}
    for name, path in (("trained", str(adapter)), ("base", None)):
        judge = HFJudge(smollm2_path(), adapter=path, verdict="generate", order="fixed", temperature=0.0,
                        max_new_tokens=256, batch_size=32)  # fmt: skip
        metrics[name] = evaluate_pairwise(judge, pairs, orders="both").metrics
    trained, base = metrics["trained"], metrics["base"]
    assert trained["accuracy"] >= THRESHOLD_ACCURACY, trained
    assert trained["accuracy"] > base["accuracy"] + 0.2, (trained["accuracy"], base["accuracy"])


# Measured on its 12 pairs (2026-12-05, bf16 weights as committed): E14 0.833 (20 of 24
# judgments), both-order 0.750. (E10, which this folder held before, on its own 12: 0.833 / 0.667.)
# The bar: 4 judgments below.
WALK_THRESHOLD_ACCURACY = 0.66


def test_walk_judge_verifies_held_out_pairs():
    """The walk-trained judge (recipes/adapters/smollm2-constraint-judge-walk, E14) on one
    held-out unseen-topic pair of every trained type, both orders: it marks each counted
    word while copying, then counts, checks and gives the verdict."""
    from pathlib import Path

    from trl_rrm.embedded import smollm2_path
    from trl_rrm.evaluation import evaluate_pairwise

    adapter = Path(__file__).resolve().parent.parent / "recipes" / "adapters" / "smollm2-constraint-judge-walk"
    first_of_type = _first_of_each_type(adapter)
    judge = HFJudge(smollm2_path(), adapter=str(adapter), verdict="generate", order="fixed", temperature=0.0,
                    max_new_tokens=256, batch_size=32)  # fmt: skip
    metrics = evaluate_pairwise(judge, list(first_of_type.values()), orders="both").metrics
    assert len(first_of_type) == 12 and metrics["accuracy"] >= WALK_THRESHOLD_ACCURACY, metrics


# Measured on its 12 pairs (2026-12-08, bf16 weights as committed, AMD EPYC avx512_bf16):
# 19 of 24 responses checked right (its written verdict), 10 of 12 pairs ranked by P(yes).
# The bars: 4 responses and 3 pairs below.
POINTWISE_THRESHOLD_RESPONSES = 15
POINTWISE_THRESHOLD_PAIRS = 7


def test_pointwise_judge_checks_each_response_of_held_out_pairs():
    """The pointwise constraint judge (recipes/adapters/smollm2-constraint-judge-pointwise)
    on one held-out unseen-topic pair of every trained type: each of the 24 responses graded
    once (its checks, then yes or no); the satisfying one should get yes, the other no, and
    P(yes) after the analysis (likelihood) should rank the pair."""
    from pathlib import Path

    from trl_rrm.embedded import smollm2_path

    adapter = Path(__file__).resolve().parent.parent / "recipes" / "adapters" / "smollm2-constraint-judge-pointwise"
    pairs = list(_first_of_each_type(adapter).values())
    matches = [Match(p.prompt, (text,)) for p in pairs for text in (p.chosen, p.rejected)]
    judge = HFJudge(smollm2_path(), adapter=str(adapter), format="pointwise", verdict="likelihood", temperature=0.0,
                    max_new_tokens=256, batch_size=32)  # fmt: skip
    grades = judge.grade(matches)
    written = [judge.format.parse(g.raw[0]) for g in grades]  # the verdict it wrote
    right = sum(v == float(i % 2 == 0) for i, v in enumerate(written))
    ranked = sum(grades[2 * k].value > grades[2 * k + 1].value for k in range(len(pairs)))
    assert len(pairs) == 12 and right >= POINTWISE_THRESHOLD_RESPONSES and ranked >= POINTWISE_THRESHOLD_PAIRS, (right, ranked)
