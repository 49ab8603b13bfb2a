"""`trl-rrm label` and `trl-rrm eval` share their judge flags: declared once (JudgeArguments),
the same names and defaults in both commands, old names accepted with a warning."""

import pytest

from trl_rrm.cli import _COMMANDS, _split, build_parser, main
from trl_rrm.judges.flags.arguments import JudgeArguments

JUDGE_FLAGS = ["--judge", "some/judge", "--judge-adapter", "some/lora", "--judge-format", "rm_r1", "--judge-verdict",
               "direct", "--judge-both-orders", "--judge-order", "fixed", "--judge-temperature", "0.9",
               "--judge-num-votes", "3", "--judge-max-new-tokens", "64", "--judge-batch-size", "8", "--judge-seed", "7"]
OLD_FLAGS = ["--judge", "some/judge", "--adapter", "some/lora", "--format", "rm_r1", "--verdict", "direct",
             "--both-orders", "--judge-order", "fixed", "--judge-temperature", "0.9", "--num-votes", "3",
             "--max-new-tokens", "64", "--batch-size", "8", "--judge-seed", "7"]
COMMANDS = {"label": ["label", "--input", "in.jsonl", "--output", "out.jsonl"], "eval": ["eval"]}


def _judge(argv):
    from trl_rrm.cli import _renamed

    args = build_parser().parse_args(_renamed(argv))
    (arguments,) = _split(args, JudgeArguments)
    return arguments.build()  # an HFJudge loads nothing until the first judgment


@pytest.mark.parametrize("command", ["label", "eval"])
@pytest.mark.parametrize("flags", [JUDGE_FLAGS, OLD_FLAGS], ids=["new", "old names"])
def test_judge_flags_build_the_same_judge_for_label_and_eval(command, flags, capsys):
    c = _judge([*COMMANDS[command], *flags]).config
    assert (c.model, c.adapter, c.format, c.verdict, c.both_orders, c.order) == (
        "some/judge", "some/lora", "rm_r1", "direct", True, "fixed")
    assert (c.temperature, c.num_votes, c.max_new_tokens, c.batch_size, c.seed, c.load_in_4bit) == (0.9, 3, 64, 8, 7, False)
    warned = capsys.readouterr().err
    assert ("--format is now --judge-format" in warned) == (flags is OLD_FLAGS)


def test_judge_flag_defaults_are_the_configs_defaults_in_both_commands():
    from trl_rrm.judges import HFJudgeConfig

    label = build_parser().parse_args(COMMANDS["label"])
    evaluate = build_parser().parse_args(COMMANDS["eval"])
    config = HFJudgeConfig(model="m")
    for name in ("format", "verdict", "max_new_tokens", "temperature", "num_votes", "batch_size", "both_orders", "seed"):
        assert getattr(label, f"judge_{name}") == getattr(evaluate, f"judge_{name}") == getattr(config, name)


def test_shared_meanings_share_names():
    names = {command: {f.name for dc in dataclasses for f in dc.__dataclass_fields__.values()}
             for command, dataclasses in _COMMANDS.items()}  # fmt: skip
    for shared in ("input", "output", "overwrite", "seed", "chunk_size", "no_progress", "judge_model"):
        assert shared in names["label"] and shared in names["eval"] or shared == "chunk_size" and shared in names["label"]


def test_unknown_flags_get_a_hint(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["eval", "--num-candidates", "3"])
    assert "--num-candidates is a flag of `trl-rrm label`" in capsys.readouterr().err


def test_label_without_a_judge_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "in.jsonl").write_text('{"prompt": "q", "completions": ["a 1", "b 2"]}\n')
    code = main(["label", "--input", str(tmp_path / "in.jsonl"), "--output", str(tmp_path / "out.jsonl"), "--no-progress"])
    assert code == 2 and "give --judge MODEL" in capsys.readouterr().err
    assert not (tmp_path / "out.jsonl").exists()


def test_old_names_are_renamed_only_for_label_and_eval(capsys):
    from trl_rrm.cli import _renamed

    demo = ["demo", "--max-new-tokens", "8", "--batch-size", "4"]
    assert _renamed(demo) == demo and capsys.readouterr().err == ""
    assert build_parser().parse_args(demo).max_new_tokens == 8


def test_eval_with_a_local_and_a_served_judge_is_a_usage_error(tmp_path, capsys):
    """Issue 24 point 9: `eval --judge X --judge-base-url ...` gave a traceback."""
    data = tmp_path / "pairs.jsonl"
    data.write_text('{"prompt": "p", "chosen": "a 5", "rejected": "b 3"}\n')
    out = tmp_path / "report"
    with pytest.raises(SystemExit) as exit_:
        main(["eval", "--task", "pairwise", "--input", str(data), "--judge", "some/model",
              "--judge-base-url", "http://127.0.0.1:9/v1", "--output", str(out), "--no-progress"])  # fmt: skip
    assert exit_.value.code == 2 and "judge_base_url is set" in capsys.readouterr().err and not out.exists()


def test_the_best_of_n_tournaments_default_is_declared_once():
    import inspect

    from trl_rrm.cli import EvalRun
    from trl_rrm.evaluation import evaluate_best_of_n
    from trl_rrm.tournaments.registry import DEFAULT_EVALUATION_TOURNAMENTS

    assert DEFAULT_EVALUATION_TOURNAMENTS == ("knockout", "round_robin")
    assert inspect.signature(evaluate_best_of_n).parameters["tournaments"].default is DEFAULT_EVALUATION_TOURNAMENTS
    assert EvalRun().tournament == list(DEFAULT_EVALUATION_TOURNAMENTS)
    assert build_parser().parse_args(["eval"]).tournament == list(DEFAULT_EVALUATION_TOURNAMENTS)


@pytest.mark.parametrize("flags, judged_format", [([], "principle"), (["--judge-format", "rm_r1"], "rm_r1")])
def test_a_listwise_eval_gives_an_unset_judge_format_the_listwise_one(flags, judged_format, monkeypatch, tmp_path, capsys):
    from trl_rrm import cli

    seen = []

    def build_judge(arguments):
        seen.append(arguments.judge_format)
        raise ValueError("no judge in this test")

    monkeypatch.setattr(cli, "build_judge", build_judge)
    assert main(["eval", "--task", "listwise", "--output", str(tmp_path / "out"), *flags]) == 2
    assert seen == [judged_format] and "no judge in this test" in capsys.readouterr().err
