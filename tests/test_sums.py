"""The verifiable task behind the end-to-end proof (recipes/tasks/sums.py)."""

from __future__ import annotations

import pytest

from trl_rrm.formats import get_format
from trl_rrm.parsing import parse_verdict
from trl_rrm.sampling import generate_completions

from tasks.sums import (
    JudgePair,
    Problem,
    all_sums,
    correctness_reward,
    final_number,
    is_correct,
    judge_pairs,
    judge_trace,
    policy_accuracy,
    small_sums,
    templated_samples,
)


def test_splits_partition_the_questions():
    train, test = all_sums("train"), all_sums("test")
    assert len(train) + len(test) == 171 and len(test) == 38
    assert not {p.expression for p in train} & {p.expression for p in test}
    for p in train + test:
        a, op, b = p.expression.split()
        assert p.answer == (int(a) + int(b) if op == "+" else int(a) - int(b)) >= 0
        assert p.prompt == f"What is {p.expression}?"
    drawn = small_sums(200, seed=3, split="test")
    assert {p.expression for p in drawn} <= {p.expression for p in test}
    assert small_sums(20, seed=3) == small_sums(20, seed=3) != small_sums(20, seed=4)


@pytest.mark.parametrize("bad", [{"n": -1}, {"n": 2, "split": "dev"}])
def test_small_sums_rejects_bad_arguments(bad):
    with pytest.raises(ValueError, match="n=|split="):
        small_sums(**bad)


@pytest.mark.parametrize(
    "text, number",
    [("7 + 5 = 12", 12), ("The answer is 12.", 12), ("no idea", None), ("3 - 5 = -2", -2), ("", None)],
)
def test_final_number(text, number):
    assert final_number(text) == number


def test_correctness_reward_reads_plain_and_conversational_completions():
    completions = ["7 + 5 = 12", [{"role": "assistant", "content": "It is 13."}], "twelve"]
    assert correctness_reward(completions, answer=[12, 12, 12]) == [1.0, 0.0, 0.0]
    assert correctness_reward.__name__ == "correctness"
    assert is_correct([{"role": "assistant", "content": "12"}], 12)
    with pytest.raises(ValueError, match="len"):
        correctness_reward(["1"], answer=[1, 2])


def test_judge_pairs_take_one_right_and_one_wrong_answer():
    problems = [Problem("What is 2 + 2?", 4, "2 + 2"), Problem("What is 1 + 1?", 2, "1 + 1"), Problem("What is 3 - 1?", 2, "3 - 1")]
    samples = [
        ["2 + 2 = 4", "six", "4!", "It is 5"],  # right, no number (wrong), same number again, wrong
        ["2", "2 again"],  # all right: no pair
        ["3", "1", "2"],  # two wrong, one right
    ]
    pairs = judge_pairs(problems, samples, seed=0, per_problem=2)
    assert [p.problem.expression for p in pairs] == ["2 + 2", "3 - 1"]  # one right answer each
    assert (pairs[0].chosen, pairs[0].rejected) == ("2 + 2 = 4", "six")
    assert (pairs[1].chosen, pairs[1].rejected) == ("2", "3")
    for p in pairs:
        assert (p.first, p.second) == ((p.chosen, p.rejected) if p.label == 0 else (p.rejected, p.chosen))
    labels = [p.label for p in judge_pairs(small_sums(200), templated_samples(small_sums(200)), seed=1)]
    assert 60 < sum(labels) < 140  # both shown orders occur
    with pytest.raises(ValueError, match="len"):
        judge_pairs(problems, samples[:2])


@pytest.mark.parametrize("fmt", ["rrm", "rm_r1", "rm_r1_distilled"])
@pytest.mark.parametrize("label", [0, 1])
def test_judge_trace_ends_in_the_right_parseable_verdict(fmt, label):
    problem = Problem("What is 7 + 5?", 12, "7 + 5")
    first, second = ("7 + 5 = 12", "13") if label == 0 else ("13", "7 + 5 = 12")
    trace = judge_trace(JudgePair(problem, first, second, label), get_format(fmt))
    assert parse_verdict(trace, fmt) == label
    assert "12" in trace and "13" in trace
    with pytest.raises(TypeError, match="'principle' has no pair trace"):
        judge_trace(JudgePair(problem, first, second, label), get_format("principle"))


def test_policy_accuracy_on_the_tiny_model_is_greedy_decoding(tiny_model_and_tokenizer):
    model, tokenizer = tiny_model_and_tokenizer
    model.train()
    problems = small_sums(3, seed=0)
    result = policy_accuracy(model, tokenizer, problems, max_new_tokens=4)
    assert model.training  # the mode is restored
    greedy = generate_completions(model, tokenizer, [p.prompt for p in problems], max_new_tokens=4)
    assert result["n"] == 3 and [e["completion"] for e in result["examples"]] == [t[0] for t in greedy]
    assert result["accuracy"] == sum(is_correct(t[0], p.answer) for p, t in zip(problems, greedy)) / 3


def test_policy_accuracy_counts_the_right_answers(monkeypatch):
    import tasks.sums as sums_module

    problems = small_sums(3, seed=0)
    answers = [f"It is {problems[0].answer}.", "no idea", f"{problems[2].answer}"]
    monkeypatch.setattr(sums_module, "generate_completions", lambda model, tok, prompts, **_: [[a] for a in answers])
    result = policy_accuracy(None, None, problems)
    assert (result["correct"], result["accuracy"]) == (2, 2 / 3)
    assert [e["correct"] for e in result["examples"]] == [True, False, True]
