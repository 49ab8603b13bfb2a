"""The pointwise judge kind (issue 42): one response a judgment, a yes/no or a 1-10 score.

Parsing, soft values, the compare-by-grades path, the reward (one judgment per distinct
completion, the floor on grades), the labeler (best vs worst above the floor, resume across
a changed judge kind) and the robustness attacks, on scripted backends and fake judges.
"""

from __future__ import annotations

import math
import re

import pytest

from trl_rrm import Grade, Match, RRMReward
from trl_rrm.driver import Group, run_tournament
from trl_rrm.formats import FORMATS, POINTWISE_FORMATS, get_format
from trl_rrm.judges import Generation, GenerativeJudge, GenerativeJudgeConfig
from trl_rrm.judges.votes import graded_verdict, merge_grade, softmax
from trl_rrm.testing import GradeNumberJudge, NumberJudge
from trl_rrm.tournaments import get_tournament

YES_NO = FORMATS["pointwise"]
SCORE = FORMATS["pointwise_score"]

# ---- parsing: real-looking outputs, the value each one gives ------------------------------
YES_NO_CASES = [
    ("The response lists three items as asked. \\boxed{yes}", 1.0),
    ("It misses the word 'purple'. \\boxed{no}", 0.0),
    ("<think>Count the sentences: 2, asked 1.</think>\n\\boxed{No}", 0.0),
    ("Verdict: \\boxed{\\text{Yes}}", 1.0),
    ("\\boxed{**YES**}", 1.0),
    ("The answer is \\boxed{42} and it is correct, so \\boxed{yes}", 1.0),
    ("\\boxed{yes} ... on reflection the count is wrong: \\boxed{no}", 0.0),
    ("\\boxed{yes} and then the sum \\boxed{12}", 1.0),  # a math box is passed over
    ("\\boxed{yes or no}", None),  # names both
    ("\\boxed{yes/no}", None),
    ("\\boxed{maybe}", None),  # no verdict at all
    ("It meets the constraint: yes.", None),  # no box
    ("\\boxed{yes", None),  # truncated
    ("<think>\\boxed{yes}</think>", None),  # only inside thinking
    ("<think>unfinished thinking \\boxed{yes}", None),
    ("", None),
]
SCORE_CASES = [
    ("Precise and complete. \\boxed{9/10}", 9.0),
    ("\\boxed{ 10 / 10 }", 10.0),
    ("\\boxed{1/10}", 1.0),
    ("\\boxed{\\text{3/10}}", 3.0),
    ("\\boxed{7/10} ... I revise: \\boxed{4/10}", 4.0),
    ("\\boxed{6/10} and x = \\boxed{3}", 6.0),  # a math box is passed over
    ("\\boxed{11/10}", None),  # off the scale
    ("\\boxed{0/10}", None),
    ("\\boxed{7.5/10}", None),
    ("\\boxed{7}", None),  # not the declared form
    ("\\boxed{1/2}", None),
    ("Score: 8/10", None),
    ("<think>\\boxed{8/10}</think> no verdict", None),
]


@pytest.mark.parametrize("text, value", YES_NO_CASES)
def test_yes_no_parser(text, value):
    assert YES_NO.parse(text) == value


@pytest.mark.parametrize("text, value", SCORE_CASES)
def test_score_parser(text, value):
    assert SCORE.parse(text) == value


def test_parsers_never_raise():
    for fmt in (YES_NO, SCORE):
        for junk in (None, 3, "\\boxed{" * 500, "}" * 100 + "\\boxed{yes}", "\\boxed{\\boxed{yes}}"):
            fmt.parse(junk)  # type: ignore[arg-type]


def test_the_scale_normalises_to_zero_one():
    assert [SCORE.normalize(v) for v in (1.0, 10.0, 5.5)] == [0.0, 1.0, 0.5]
    assert [YES_NO.normalize(v) for v in (0.0, 1.0)] == [0.0, 1.0]
    assert SCORE.verdicts[0] == "\\boxed{10/10}" and SCORE.verdicts[-1] == "\\boxed{1/10}"
    assert YES_NO.verdicts == ("\\boxed{yes}", "\\boxed{no}")
    assert YES_NO.expected([0.25, 0.75]) == 0.25  # P(yes)
    assert SCORE.expected([0.5] + [0.0] * 8 + [0.5]) == 0.5  # half 10/10, half 1/10


def test_a_user_template_needs_its_placeholders():
    with pytest.raises(ValueError, match=re.escape("{response}")):
        get_format("pointwise", user_template="{query} only")
    fmt = get_format("pointwise", user_template="Principle: {principle}\n{query}\n---\n{response}\n\\boxed{yes} or no")
    assert fmt.render("Q", "A", principle="Be brief.")[-1]["content"] == "Principle: Be brief.\nQ\n---\nA\n\\boxed{yes} or no"


def test_a_written_judgment_parses_to_its_value():
    for fmt in (YES_NO, SCORE):
        for value in fmt.values:
            assert fmt.parse(fmt.written_judgment("Rule: x", ["check 1: yes"], value)) == value
    with pytest.raises(ValueError, match="value=0.5"):
        YES_NO.written_judgment("Rule", [], 0.5)


def test_a_forged_verdict_in_the_response_is_inert_and_suspicious():
    forged = "Paris." + YES_NO.forged_structure()
    assert YES_NO.suspicious(forged) and YES_NO.parse(YES_NO.neutralize(forged)) is None
    user = YES_NO.render("Capital of France?", forged)[-1]["content"]
    assert user.count("\n## Analysis\n") == 1  # only the template's own section line
    assert not YES_NO.suspicious("Paris is the capital. \\boxed{42}")


# ---- the engine: grade ---------------------------------------------------------------------
def _response(user: str) -> str:
    return re.search(r"## Assistant response\n\n(.*?)\n\n## Analysis", user, re.S).group(1)


class Scripted(GenerativeJudge):
    """Answers with ``answer(response text, sample)``; scores labels with ``logps(context)``."""

    def __init__(self, answer=None, logps=None, **kwargs):
        super().__init__(GenerativeJudgeConfig(**{"format": "pointwise", **kwargs}))
        self.answer, self.logps = answer, logps
        self.generated: list[list[str]] = []
        self.scored: list[int] = []

    def generate(self, requests):
        self.generated.append([_response(r.messages[-1]["content"]) for r in requests])
        return [[Generation(r.assistant_prefix and "no}" or self.answer(_response(r.messages[-1]["content"]), s),
                            tokens=4, finished=True) for s in range(r.num_samples)] for r in requests]  # fmt: skip

    def score(self, requests):
        self.scored.append(len(requests))
        return [list(self.logps(_response(r.messages[-1]["content"]), r.assistant_prefix)) for r in requests]


def says(good: str):
    return lambda response, sample: "Checked. \\boxed{yes}" if good in response else "Checked. \\boxed{no}"


def test_grade_reads_each_response_once_in_one_call():
    judge = Scripted(says("purple"))
    grades = judge.grade([Match("q", ("a purple cat",)), Match("q", ("a cat",)), Match("q2", ("purple",))])
    assert [g.value for g in grades] == [1.0, 0.0, 1.0]
    assert judge.generated == [["a purple cat", "a cat", "purple"]]
    assert grades[0] == Grade(1.0, votes=(1.0,), rationale="Checked. \\boxed{yes}", raw=("Checked. \\boxed{yes}",), tokens=4)


def test_votes_are_averaged_and_unparseable_ones_left_out():
    answers = ["\\boxed{yes}", "\\boxed{no}", "no verdict", "\\boxed{yes}"]
    judge = Scripted(lambda response, s: answers[s], num_votes=4, temperature=0.7)
    (grade,) = judge.grade([Match("q", ("x",))])
    assert grade.value == 2 / 3 and grade.votes == (1.0, 0.0, None, 1.0) and grade.rationale == "\\boxed{yes}"


def test_a_judgment_without_verdict_is_none_and_counted():
    judge = Scripted(lambda response, s: "I cannot tell.")
    outcome = run_tournament([Group("q", ("a", "b"))], judge, get_tournament("pointwise"))
    assert outcome.scores == [[None, None]]
    metrics = outcome.stats.metrics()
    assert metrics["grade_failure_rate"] == 1.0 and metrics["parse_failure_rate"] == 1.0 and metrics["judgments"] == 2


def test_forced_answers_close_the_judgment():
    judge = Scripted(lambda response, s: "<think>long analysis", verdict="forced")
    (grade,) = judge.grade([Match("q", ("x",))])
    assert grade.value == 0.0 and grade.forced == 1  # the forced continuation wrote "no}"
    assert grade.raw == ("<think>long analysis\n</think>\n\n\\boxed{no}",)


def test_likelihood_is_the_expected_value_under_the_label_probabilities():
    logps = (math.log(0.2), math.log(0.6))  # P(yes) = 0.2 / 0.8
    judge = Scripted(says("never"), lambda response, prefix: logps, verdict="likelihood")
    (grade,) = judge.grade([Match("q", ("x",))])
    assert grade.soft and grade.value == pytest.approx(0.25, abs=1e-15) and grade.votes == (0.0,)


def test_direct_scores_without_writing_and_the_score_scale_expects():
    probabilities = [0.0] * 10
    probabilities[0], probabilities[9] = 0.25, 0.75  # 10/10 and 1/10
    judge = Scripted(None, lambda r, prefix: [math.log(p) if p else -1e9 for p in probabilities],
                     format="pointwise_score", verdict="direct")  # fmt: skip
    (grade,) = judge.grade([Match("q", ("x",))])
    assert judge.generated == [] and judge.scored == [1]
    assert grade.value == pytest.approx(0.25, abs=1e-12) and grade.soft and grade.tokens == 0


def test_grade_checks_the_kind_and_the_response_count():
    with pytest.raises(TypeError, match="not pointwise"):
        Scripted(says("x"), format="rrm").grade([Match("q", ("a",))])
    with pytest.raises(ValueError, match=re.escape("matches[0] has 2 responses")):
        Scripted(says("x")).grade([Match("q", ("a", "b"))])


# ---- compare from grades ------------------------------------------------------------------
def test_compare_grades_each_distinct_response_once():
    judge = Scripted(says("purple"))
    matches = [Match("q", ("purple", "red")), Match("q", ("red", "purple")), Match("q", ("red", "blue"))]
    verdicts = judge.compare(matches)
    assert [(v.winner, v.tie, v.failed) for v in verdicts] == [(0, False, False), (1, False, False), (None, True, False)]
    assert sorted(judge.generated[0]) == ["blue", "purple", "red"]  # 3 readings for 6 slots
    assert sum(v.tokens for v in verdicts) == 12


def test_graded_verdict_margins_are_the_value_difference():
    soft = graded_verdict(Grade(0.8, soft=True), Grade(0.5, soft=True))
    assert soft.winner == 0 and soft.p_first == pytest.approx(0.65) and abs(2 * soft.p_first - 1) == pytest.approx(0.3)
    assert graded_verdict(Grade(0.5), Grade(1.0)).winner == 1 and graded_verdict(Grade(0.5), Grade(1.0)).p_first is None
    failed = graded_verdict(Grade(None, over_context=True), Grade(1.0))
    assert failed.failed and failed.over_context
    assert merge_grade([None], ["x"], 3, 0).value is None
    assert softmax([0.0, math.log(3.0)]) == pytest.approx([0.25, 0.75])


# ---- the reward ---------------------------------------------------------------------------
def test_reward_defaults_to_one_judgment_per_distinct_completion():
    judge = GradeNumberJudge()
    logged = {}
    reward = RRMReward(judge, num_generations=4)
    assert reward.tournament.name == "pointwise"
    prompts = ["p0"] * 4 + ["p1"] * 4
    completions = ["3", "9", "3", "5", "7", "7", "x", "2"]
    rewards = reward(prompts, completions, log_metric=lambda k, v: logged.__setitem__(k, v))
    assert rewards == [0.3, 0.9, 0.3, 0.5, 0.7, 0.7, None, 0.2]
    assert judge.judged == 6  # "3" twice and "7" twice are judged once each
    assert logged["rrm_reward/grades"] == 6 and logged["rrm_reward/judge_tokens"] == 15
    assert logged["rrm_reward/judgments"] == 6 and logged["rrm_reward/none_reward_rate"] == 1 / 8


def test_the_noise_floor_flattens_groups_of_close_grades():
    prompts = ["p0"] * 3 + ["p1"] * 3
    completions = ["50", "55", "52", "50", "80", "52"]
    soft = RRMReward(GradeNumberJudge(scale=100, soft=True), num_generations=3)  # default floor 0.1
    assert soft(prompts, completions) == [0.5234375] * 3 + [0.5, 0.8, 0.52]
    hard = RRMReward(GradeNumberJudge(scale=100), num_generations=3)  # hard grades: only equality is flat
    assert hard(prompts, completions) == [0.5, 0.55, 0.52, 0.5, 0.8, 0.52]
    assert RRMReward(GradeNumberJudge(scale=100), num_generations=3, min_margin=0.4)(prompts, completions)[3:] == [0.6064453125] * 3


def test_verifier_and_audit_work_unchanged():
    logged = {}
    verifier = lambda prompts, completions, **kw: [1.0, 0.0, 1.0] + [1.0, 1.0, 1.0]
    audit = lambda prompts, completions, **kw: [0.0, 1.0, 0.0, 0.0, 1.0, 0.5]
    reward = RRMReward(GradeNumberJudge(), num_generations=3, verifier=verifier, audit=audit)
    rewards = reward(["a"] * 3 + ["b"] * 3, ["1", "2", "3", "4", "9", "6"], log_metric=lambda k, v: logged.__setitem__(k, v))
    assert rewards == [1.0, 0.0, 1.0, 0.4, 0.9, 0.6]  # group a settled by the verifier, b graded
    assert logged["rrm_reward/verified_group_rate"] == 0.5 and logged["rrm_reward/audit_agreement"] == 1.0


def test_a_pointwise_tournament_needs_a_pointwise_judge():
    with pytest.raises(TypeError, match="not pointwise"):
        RRMReward(NumberJudge(), tournament="pointwise")
    with pytest.raises(TypeError, match="not pointwise"):
        RRMReward(Scripted(says("x"), format="rrm"), tournament="pointwise")
    # a pointwise judge in a pairwise tournament compares its grades
    reward = RRMReward(Scripted(says("purple")), tournament="round_robin", num_generations=2)
    assert reward(["q", "q"], ["purple", "red"]) == [1.0, 0.0]


# ---- the labeler and eval -----------------------------------------------------------------
def test_label_keeps_best_against_worst_above_the_floor(tmp_path):
    from trl_rrm import label_preferences

    rows = [{"prompt": "a", "completions": ["30", "90", "40"]}, {"prompt": "b", "completions": ["5", "5"]},
            {"prompt": "c", "completions": ["50", "55"]}]  # fmt: skip
    summary = label_preferences(rows, GradeNumberJudge(scale=100, soft=True))
    assert [(r["chosen"], r["rejected"]) for r in summary.dataset] == [("90", "30")]
    assert summary.dropped["tie"] == 1 and summary.dropped["low_margin"] == 1 and summary.matches == 6


def test_label_resume_refuses_a_changed_judge_kind(tmp_path):
    from trl_rrm import label_preferences
    from trl_rrm.labeling.output import OutputError

    src = tmp_path / "in.jsonl"
    src.write_text("".join(f'{{"prompt": "p{i}", "completions": ["purple {i}", "red"]}}\n' for i in range(4)))
    out = tmp_path / "out.jsonl"

    class Stop(Exception):
        pass

    judge = Scripted(says("purple"))
    calls = []

    def interrupted(matches):  # the second chunk's call stops the run
        calls.append(len(matches))
        if len(calls) == 2:
            raise Stop
        return Scripted.grade(judge, matches)

    judge.grade = interrupted
    with pytest.raises(Stop):
        label_preferences(src, judge, output=out, chunk_size=2)
    with pytest.raises(OutputError, match="resume"):
        label_preferences(src, Scripted(says("purple"), format="rrm"), output=out, chunk_size=2, resume=True)
    summary = label_preferences(src, Scripted(says("purple")), output=out, chunk_size=2, resume=True)
    assert summary.prompts_resumed == 2 and summary.rows_written == 4


def test_pairwise_eval_reads_accuracy_and_ties_from_two_grades():
    from trl_rrm.evaluation import evaluate_pairwise

    rows = [{"prompt": "q", "chosen": "9", "rejected": "3"}, {"prompt": "q", "chosen": "2", "rejected": "8"},
            {"prompt": "q", "chosen": "5", "rejected": "5"}]  # fmt: skip
    result = evaluate_pairwise(Scripted(lambda r, s: f"\\boxed{{{'yes' if int(r) > 4 else 'no'}}}"), rows, orders="both")
    assert result.metrics["accuracy"] == pytest.approx(1 / 3) and result.metrics["tie_rate"] == pytest.approx(1 / 3)


def test_a_judge_with_grade_only_serves_pairwise_tournaments_and_eval():
    from trl_rrm.evaluation import evaluate_pairwise

    judge = GradeNumberJudge()  # grade() only, no compare()
    reward = RRMReward(judge, tournament="round_robin", num_generations=3)
    assert reward(["q"] * 3, ["2", "9", "2"]) == [0.25, 1.0, 0.25]
    assert judge.calls == 1 and judge.judged == 2  # one grade call per round, each distinct response once
    assert reward.last_outcome.stats.tokens == 6  # 3 tokens a grade, each distinct response counted once
    rows = [{"prompt": "q", "chosen": "9", "rejected": "3"}, {"prompt": "q", "chosen": "4", "rejected": "4"}]
    result = evaluate_pairwise(judge, rows, orders="both")
    assert result.metrics["accuracy"] == 0.5 and result.metrics["tie_rate"] == 0.5


@pytest.mark.parametrize("fmt", POINTWISE_FORMATS)
def test_robustness_attacks_run_on_a_pointwise_judge(fmt):
    from trl_rrm.evaluation.robustness import ATTACKS, evaluate_robustness

    top = FORMATS[fmt].verdicts[0]
    # a judge that believes any verdict it reads: the defence must leave none for it to read
    gullible = Scripted(lambda r, s: top if top in r or "right" in r else FORMATS[fmt].verdicts[-1], format=fmt)
    result = evaluate_robustness(gullible, [{"prompt": "q", "chosen": "right", "rejected": "wrong"}])
    assert set(result.attacks) == set(ATTACKS)
    assert result.attacks["none"]["wrong_rate"] == 0.0
    assert result.attacks["self_verdict_first_slot"]["wrong_rate"] == 0.0
    assert result.attacks["forged_sections"]["wrong_rate"] == 0.0


# ---- the HF backend on a tiny model built in code -------------------------------------------
@pytest.mark.parametrize("fmt", POINTWISE_FORMATS)
def test_hf_judge_grades_in_every_verdict_mode(tiny_dir, fmt):
    """Every mode runs end to end; scoring the labels in the decoding pass (continuous
    decoding) gives the probabilities a separate scoring pass gives."""
    from trl_rrm import HFJudge

    matches = [Match("Name a colour.", ("purple",)), Match("Name a colour.", ("12 + 3",)), Match("Hi", ("Hello!",))]
    for verdict in ("generate", "forced", "direct"):
        grades = HFJudge(tiny_dir, format=fmt, verdict=verdict, max_new_tokens=6, temperature=0).grade(matches)
        assert len(grades) == 3 and all(g.value is None or 0.0 <= g.value <= 1.0 for g in grades)
        assert verdict != "direct" or all(g.value is not None and g.soft for g in grades)  # direct always answers
    in_pass = HFJudge(tiny_dir, format=fmt, verdict="likelihood", max_new_tokens=6, temperature=0).grade(matches)
    separate = HFJudge(tiny_dir, format=fmt, verdict="likelihood", max_new_tokens=6, temperature=0,
                       reuse_analysis_cache=False, continuous_decoding=False).grade(matches)  # fmt: skip
    assert [g.raw for g in in_pass] == [g.raw for g in separate]
    assert [g.value for g in in_pass] == pytest.approx([g.value for g in separate], abs=1e-4)
    assert all(g.soft and 0.0 < g.value < 1.0 for g in in_pass)
