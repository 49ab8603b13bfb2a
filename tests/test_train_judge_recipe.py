"""recipes/train_judge.py's data: user pairs train on verdicts (never a built-in task's
traces), built-in constraint pairs on code-written judgments, both orders each."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from trl_rrm import get_format, parse_verdict
from trl_rrm.inputs import InputError

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def recipe():
    spec = importlib.util.spec_from_file_location("train_judge_recipe", REPO / "recipes" / "train_judge.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through the module
    spec.loader.exec_module(module)
    return module


def _write(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def test_user_pairs_train_on_the_verdict_in_both_orders(recipe, tmp_path):
    rows = [
        {"prompt": "Name a prime.", "chosen": "7", "rejected": "8"},
        {"prompt": [{"role": "user", "content": "Say hi."}], "chosen": [{"role": "assistant", "content": "Hi!"}],
         "rejected": "Go away."},
    ]  # fmt: skip
    held = [{"prompt": "2+2?", "chosen": "4", "rejected": "5", "subset": "math"}]
    cfg = recipe.TrainJudgeConfig(train_file=_write(tmp_path / "train.jsonl", rows),
                                  eval_file=_write(tmp_path / "held.jsonl", held))  # fmt: skip
    train_pairs, held_out = recipe.build_pairs(cfg, model=None, tokenizer=None)
    assert [p.chosen for p in train_pairs] == ["7", [{"role": "assistant", "content": "Hi!"}]]
    assert held_out["test"][0].subset == "math" and held_out["test"][0].chosen == "4"
    fmt = get_format("rrm")
    items = recipe.judgments(cfg, train_pairs)
    assert len(items) == 4
    for item, pair in zip(items, [p for p in train_pairs for _ in range(2)]):
        assert item.text in fmt.verdicts and not item.decisive  # the verdict alone: no small-sums trace
        winner = parse_verdict(item.text, "rrm")
        assert item.match.responses[winner] == pair.chosen and item.match.prompt == pair.prompt


def test_bad_user_pairs_are_refused_by_row(recipe, tmp_path):
    path = _write(tmp_path / "bad.jsonl", [{"prompt": "p", "chosen": "a", "rejected": "b"}, {"prompt": "p", "chosen": "a"}])
    with pytest.raises(InputError, match="line 2.*rejected"):
        recipe.build_pairs(recipe.TrainJudgeConfig(train_file=path), model=None, tokenizer=None)


def test_constraint_pairs_train_on_checked_judgments(recipe):
    from tasks.constraints import constraint_prompts, templated_pairs

    pairs = templated_pairs(constraint_prompts(6, "train", seed=2), seed=2)
    cfg = recipe.TrainJudgeConfig()
    items = recipe.judgments(cfg, pairs)
    assert len(items) == 2 * len(pairs)
    for item, pair in zip(items, [p for p in pairs for _ in range(2)]):
        winner = parse_verdict(item.text, "rrm")
        assert item.match.responses[winner] == pair.chosen  # both orders, each with its own verdict
        checks = [item.text[a:b] for a, b in item.decisive if item.text[a - 2 : a] == ": " and item.text[b : b + 1] != " "]
        assert set(checks) <= {"yes", "no"}
        assert len(checks) == 2 * len(pair.problem.constraints) and len(item.decisive) == 2 * len(checks) + 2
    only = recipe.judgments(cfg, pairs, verdict_only=True)
    assert all(i.text in get_format("rrm").verdicts for i in only)


def test_decisive_marks_weigh_the_walks_marks(recipe):
    from tasks.constraints import constraint_prompts, templated_pairs

    pairs = templated_pairs(constraint_prompts(24, "train", seed=2), seed=2)
    plain = recipe.judgments(recipe.TrainJudgeConfig(walk_evidence=True), pairs)
    marked = recipe.judgments(recipe.TrainJudgeConfig(walk_evidence=True, decisive_marks=True), pairs)
    assert [i.text for i in plain] == [i.text for i in marked]  # the same targets, more of them weighed
    extra = [i.text[a:b] for p, i in zip(plain, marked) for a, b in sorted(set(i.decisive) - set(p.decisive))]
    assert extra and all(e.startswith("(") and e.endswith(")") for e in extra)
    assert all(set(p.decisive) <= set(i.decisive) for p, i in zip(plain, marked))


def test_pairs_without_a_preferred_response_train_their_checks_in_both_orders(recipe):
    from tasks.constraints import constraint_prompts, same_outcome_pairs, templated_pairs

    prompts = constraint_prompts(6, "train", seed=2)
    same = same_outcome_pairs([], [], prompts, seed=2)
    pairs = templated_pairs(prompts, seed=2) + same
    items = recipe.judgments(recipe.TrainJudgeConfig(), pairs)
    assert len(items) == 2 * len(pairs)
    unweighted = items[-2 * len(same) :]
    assert [i.verdict_loss for i in items] == [True] * (len(items) - len(unweighted)) + [False] * len(unweighted)
    for item in unweighted:  # both checks agree: both yes or both no
        checks = {item.text[a:b] for a, b in item.decisive if item.text[a - 2 : a] == ": " and item.text[b : b + 1] != " "}
        assert len(checks) == 1
    assert len(recipe.judgments(recipe.TrainJudgeConfig(), pairs, verdict_only=True)) == 2 * (len(pairs) - len(same))


@pytest.mark.parametrize("field,value", [("lora_layers", 0), ("attack_share", 1.5), ("decisive_weight", 0.5),
                                         ("sft_steps", -1), ("format", "principle"), ("copy_limit", 0),
                                         ("eval_num_votes", 0), ("train_attacks", ["pad"])])  # fmt: skip
def test_config_names_the_bad_field(recipe, field, value):
    with pytest.raises(ValueError, match=field):
        recipe.TrainJudgeConfig(**{field: value})


def test_evaluation_keeps_the_first_pairs_of_every_type_from_a_saved_file(tmp_path):
    from trl_rrm.evaluation.data import PairExample
    from trl_rrm.evaluation.held_out import HELD_OUT_FILE, first_per_subset, load_held_out, save_held_out

    held = {"test": [PairExample("p", f"c{i}", f"r{i}", subset=t) for i, t in enumerate("aabab")],
            "test_types": [PairExample("q", "c", "r", subset="z")]}  # fmt: skip
    save_held_out(tmp_path / HELD_OUT_FILE, held)
    loaded = load_held_out(tmp_path / HELD_OUT_FILE)
    assert loaded == held
    assert [p.chosen for p in first_per_subset(loaded["test"], 1)] == ["c0", "c2"]
    assert [p.chosen for p in first_per_subset(loaded["test"], 2)] == ["c0", "c1", "c2", "c4"]


def test_walk_config_is_what_trained_the_committed_walk_judge(recipe):
    """recipes/configs/train_judge_walk.yaml parses into the settings the committed walk
    adapter was trained with (all 30 layers, so its LoRA config names every layer)."""
    from trl import GRPOConfig, TrlParser

    from trl_rrm.evaluation import ATTACKS

    cfg, _ = TrlParser((recipe.TrainJudgeConfig, GRPOConfig)).parse_args_and_config(
        ["--config", str(REPO / "recipes" / "configs" / "train_judge_walk.yaml")]
    )

    assert (cfg.walk_evidence, cfg.copy_limit, cfg.lora_layers, cfg.per_type, cfg.sampled_per_type, cfg.sft_steps) == (
        True, 24, 30, 50, 40, 480)  # fmt: skip
    assert sorted(cfg.train_attacks) == sorted(a for a in ATTACKS if a != "none")
    adapter = json.loads((REPO / "recipes" / "adapters" / "smollm2-constraint-judge-walk" / "adapter_config.json").read_text())
    assert adapter["layers_to_transform"] == list(range(30)) and adapter["r"] == cfg.lora_r


def test_a_pointwise_judge_trains_each_distinct_response_once(recipe):
    from trl_rrm.formats import FORMATS

    from tasks.constraints import constraint_prompts, templated_pairs

    pairs = templated_pairs(constraint_prompts(6, "train", seed=2), seed=2)
    items = recipe.judgments(recipe.TrainJudgeConfig(format="pointwise"), pairs + pairs[:2])  # repeats judged once
    assert [i.match.responses for i in items] == [(text,) for p in pairs for text in (p.first, p.second)]
    chosen = {p.chosen for p in pairs}
    assert [FORMATS["pointwise"].parse(i.text) for i in items] == [float(i.match.responses[0] in chosen) for i in items]
    only = recipe.judgments(recipe.TrainJudgeConfig(format="pointwise"), pairs, verdict_only=True)
    assert {i.text for i in only} == {"\\boxed{yes}", "\\boxed{no}"}
    with pytest.raises(ValueError, match="constraints task only"):
        recipe.TrainJudgeConfig(format="pointwise", task="small_sums")


def test_pointwise_metrics_read_responses_and_pairs_from_one_grade_call(recipe):
    from trl_rrm.evaluation.data import PairExample
    from trl_rrm.testing import GradeNumberJudge

    judge = GradeNumberJudge()  # grade = number / 10: > 0.5 is a yes
    pairs = [PairExample("q", "9", "2", subset="a"), PairExample("q", "9", "7", subset="a"),
             PairExample("r", "4", "4", subset="b"), PairExample("r", "x", "1", subset="b")]  # fmt: skip
    metrics = recipe.pointwise_metrics(judge, pairs)
    assert judge.calls == 1 and metrics["responses"] == 6
    assert (metrics["accuracy"], metrics["tie_rate"], metrics["failed_rate"]) == (0.5, 0.25, 0.25)
    # right: 9 yes, 2 no | 9 yes (7 yes is wrong) | 4 no for the rejected (the chosen 4 is wrong) | 1 no (x: none)
    assert metrics["response_accuracy"] == 5 / 8
    assert metrics["by_type"] == {"a": 1.0, "b": 0.0} and metrics["response_by_type"] == {"a": 0.75, "b": 0.5}
