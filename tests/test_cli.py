"""The judge flags shared by ``trl-rrm label`` and ``trl-rrm eval`` reach the HFJudge."""

import pytest

from trl_rrm.cli import _build_judge, build_parser

JUDGE_FLAGS = ["--judge", "some/judge", "--adapter", "some/lora", "--format", "rm_r1", "--verdict", "direct",
               "--both-orders", "--judge-order", "fixed", "--judge-temperature", "0.9", "--num-votes", "3",
               "--max-new-tokens", "64", "--batch-size", "8", "--seed", "7"]


@pytest.mark.parametrize("command", [["label", "--input", "in.jsonl", "--output", "out.jsonl"], ["eval"]])
def test_judge_flags_build_the_same_judge_for_label_and_eval(command):
    args = build_parser().parse_args([*command, *JUDGE_FLAGS])
    judge = _build_judge(args)  # loads nothing until the first judgment
    c = judge.config
    assert (c.model, c.adapter, c.format, c.verdict, c.both_orders, c.order) == (
        "some/judge", "some/lora", "rm_r1", "direct", True, "fixed")
    assert (c.temperature, c.num_votes, c.max_new_tokens, c.batch_size, c.seed, c.load_in_4bit) == (0.9, 3, 64, 8, 7, False)


def test_judge_flag_defaults_differ_only_where_the_commands_need_it():
    label = build_parser().parse_args(["label", "--judge", "x", "--input", "a.jsonl", "--output", "b.jsonl"])
    evaluate = build_parser().parse_args(["eval"])
    assert (label.format, label.max_new_tokens) == ("rrm", 256)
    assert (evaluate.judge, evaluate.format, evaluate.max_new_tokens) == ("embedded", None, 128)
    for name in ("verdict", "judge_order", "judge_temperature", "num_votes", "batch_size", "load_in_4bit"):
        assert getattr(label, name) == getattr(evaluate, name)
    with pytest.raises(SystemExit):  # --judge is required for label
        build_parser().parse_args(["label", "--input", "a.jsonl", "--output", "b.jsonl"])
