"""GenerativeJudge's planning, voting, order handling and forced answers, on a scripted
backend (no model): every expectation is computed by hand."""

from __future__ import annotations

import pickle
import re

import pytest

from trl_rrm import Match, Verdict
from trl_rrm.judges import Generation, GenerationRequest, GenerativeJudge, GenerativeJudgeConfig, JudgingConfig, combine_votes, stable_seed


class ScriptedJudge(GenerativeJudge):
    """Answers with a function of the rendered user message; records every call."""

    def __init__(self, answer, **kwargs):
        super().__init__(GenerativeJudgeConfig(**kwargs))
        self.answer = answer
        self.calls: list[list[GenerationRequest]] = []

    def generate(self, requests):
        self.calls.append(list(requests))
        out = []
        for request in requests:
            user = request.messages[-1]["content"]
            out.append(
                [Generation(self.answer(user, request, s), tokens=5, finished=True) for s in range(request.num_samples)]
            )
        return out


def shown(user: str, label: str) -> str:
    """The text shown under a response header of the rrm format."""
    return re.search(rf"### {label}\n\n(.*?)\n\n(?:###|## Analysis)", user, re.S).group(1)


def prefers_longer(user, request, sample):
    first, second = shown(user, "Assistant 1"), shown(user, "Assistant 2")
    return "\\boxed{Assistant 1}" if len(first) >= len(second) else "\\boxed{Assistant 2}"


def always_first(user, request, sample):
    return "<think>hmm</think> \\boxed{Assistant 1}"


MATCHES = [Match("q1", ("long answer", "short")), Match("q2", ("x", "longer one")), Match("q3", ("aaa", "bb"))]


def test_one_generate_call_for_all_matches_and_orders():
    judge = ScriptedJudge(prefers_longer, both_orders=True)
    verdicts = judge.compare(MATCHES)
    assert len(judge.calls) == 1 and len(judge.calls[0]) == 2 * len(MATCHES)
    assert [v.winner for v in verdicts] == [0, 1, 0]
    assert all(v.order_agreement is True for v in verdicts)
    assert all(v.votes == (v.winner, v.winner) for v in verdicts)
    assert [v.tokens for v in verdicts] == [10, 10, 10]


def test_position_bias_becomes_tie_with_both_orders():
    verdicts = ScriptedJudge(always_first, both_orders=True).compare(MATCHES)
    for v in verdicts:
        assert v.winner is None and v.tie and not v.failed
        assert v.order_agreement is False
        assert v.votes == (0, 1)  # first order: responses[0] shown first wins; swapped: responses[1]
        assert v.score == 0.5


def test_single_order_is_seeded_by_content_not_by_hash():
    judge = ScriptedJudge(always_first, seed=3)
    winners = [v.winner for v in judge.compare(MATCHES)]
    expected = [int(bool(stable_seed(3, m.prompt, *m.responses) & 1)) for m in MATCHES]
    assert winners == expected
    # same in a fresh judge, and changes with the seed for at least one of many matches
    assert [v.winner for v in ScriptedJudge(always_first, seed=3).compare(MATCHES)] == winners
    many = [Match(f"q{i}", ("a", "b")) for i in range(32)]
    a = [v.winner for v in ScriptedJudge(always_first, seed=3).compare(many)]
    b = [v.winner for v in ScriptedJudge(always_first, seed=4).compare(many)]
    assert a != b and 4 < sum(a) < 28  # both orders occur


def test_stable_seed_is_fixed_across_processes():
    # A constant: Python's salted hash() would change this from run to run.
    assert stable_seed(0, "q", "a", "b") == stable_seed(0, "q", "a", "b")
    assert stable_seed(0, "q", "a", "b") == 0x2ab6378451688dc1
    assert stable_seed(0, "q", "a", "b") != stable_seed(0, "q", "b", "a")


def test_fixed_order_shows_as_given():
    verdicts = ScriptedJudge(always_first, order="fixed").compare(MATCHES)
    assert [v.winner for v in verdicts] == [0, 0, 0]
    assert all(v.order_agreement is None for v in verdicts)


def test_majority_vote_and_share():
    script = {0: "\\boxed{Assistant 2}", 1: "\\boxed{Assistant 2}", 2: "\\boxed{Assistant 1}", 3: "no idea"}
    verdict = ScriptedJudge(lambda u, r, s: script[s], num_votes=4, order="fixed").compare([MATCHES[0]])[0]
    assert verdict.winner == 1 and verdict.votes == (1, 1, 0, None)
    assert verdict.share == pytest.approx(2 / 3)
    assert verdict.rationale == "\\boxed{Assistant 2}"
    assert len(verdict.raw) == 4


def test_even_split_is_tie():
    verdict = ScriptedJudge(
        lambda u, r, s: "\\boxed{Assistant %d}" % (s + 1), num_votes=2, order="fixed"
    ).compare([MATCHES[0]])[0]
    assert verdict.tie and verdict.winner is None and verdict.share is None


def test_unparseable_is_failure_not_score():
    verdicts = ScriptedJudge(lambda u, r, s: "I think both are fine.", both_orders=True).compare(MATCHES)
    for v in verdicts:
        assert v.failed and v.score is None and v.votes == (None, None)
        assert v.order_agreement is None


def test_one_failed_order_keeps_the_other():
    def answer(user, request, sample):
        return "\\boxed{Assistant 1}" if shown(user, "Assistant 1") == "long answer" else "garbled"

    verdict = ScriptedJudge(answer, both_orders=True).compare([MATCHES[0]])[0]
    assert verdict.winner == 0 and verdict.votes == (0, None) and verdict.order_agreement is None


def test_forced_answer_continues_from_the_analysis():
    def answer(user, request, sample):
        if request.assistant_prefix:
            return "2}"
        return "<think>long analysis that ran out of bud"

    judge = ScriptedJudge(answer, verdict="forced", forced_answer_tokens=3, order="fixed")
    verdict = judge.compare([MATCHES[0]])[0]
    assert len(judge.calls) == 2
    forced_request = judge.calls[1][0]
    assert forced_request.greedy and forced_request.max_new_tokens == 3
    assert forced_request.assistant_prefix == "<think>long analysis that ran out of bud\n</think>\n\n\\boxed{Assistant "
    assert verdict.winner == 1 and verdict.forced == 1 and verdict.tokens == 10
    assert verdict.raw[0].endswith("</think>\n\n\\boxed{Assistant 2}")


def test_forced_answer_only_where_needed():
    judge = ScriptedJudge(prefers_longer, verdict="forced", both_orders=True)
    judge.compare(MATCHES)
    assert len(judge.calls) == 1


def test_forced_answer_rm_r1_prefix():
    judge = ScriptedJudge(
        lambda u, r, s: "A]]</answer>" if r.assistant_prefix else "<type>Chat</type><rubric>",
        format="rm_r1",
        verdict="forced",
        order="fixed",
    )
    verdict = judge.compare([MATCHES[0]])[0]
    assert verdict.winner == 0 and verdict.raw[0].endswith("<rubric>\n\n<answer>[[A]]</answer>")


def test_pairwise_needs_two_responses():
    with pytest.raises(ValueError, match=r"matches\[1\] has 3 responses"):
        ScriptedJudge(always_first).compare([MATCHES[0], Match("q", ("a", "b", "c"))])


def test_empty_batch():
    judge = ScriptedJudge(always_first)
    assert judge.compare([]) == [] and judge.calls == []


def test_listwise_shuffles_and_maps_back():
    responses = ("worst", "best", "middle", "good")
    quality = {"worst": 1, "middle": 3, "good": 4, "best": 5}

    def answer(user, request, sample):
        blocks = dict(re.findall(r"### (model-\d+)\n\n(\w+)", user))
        scores = {name: quality[text] for name, text in blocks.items()}
        order = sorted(scores, key=lambda n: -scores[n])
        return '<think>ok</think>{"scores": %s, "best-to-worst": %s}' % (
            str(scores).replace("'", '"'),
            str(order).replace("'", '"'),
        )

    judge = ScriptedJudge(answer, format="principle", num_votes=2)
    (ranking,) = judge.rank([Match("q", responses, principle="be right")])
    assert ranking.order == (1, 3, 2, 0)
    assert ranking.scores == (1.0, 5.0, 3.0, 4.0)
    assert ranking.votes == 2 and ranking.tokens == 10
    user = judge.calls[0][0].messages[-1]["content"]
    assert "be right" in user
    shown_order = re.findall(r"### model-\d+\n\n(\w+)", user)
    assert sorted(shown_order) == sorted(responses)


def test_listwise_unparseable_is_none():
    judge = ScriptedJudge(lambda u, r, s: "cannot decide", format="principle")
    assert judge.rank([Match("q", ("a", "b"))]) == [None]


def test_format_kind_mismatch():
    with pytest.raises(TypeError, match="listwise"):
        ScriptedJudge(always_first, format="principle").compare(MATCHES)
    with pytest.raises(TypeError, match="pairwise"):
        ScriptedJudge(always_first).rank(MATCHES)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"format": "pairrm"}, "format='pairrm'"),
        ({"num_votes": 0}, "num_votes=0"),
        ({"num_votes": 3, "temperature": 0}, "num_votes=3 needs sampling"),
        ({"max_new_tokens": -1}, "max_new_tokens=-1"),
        ({"top_p": 0}, "top_p=0"),
        ({"temperature": -1}, "temperature=-1"),
        ({"order": "reverse"}, "order='reverse'"),
        ({"user_template": "no placeholders"}, "lacks the placeholder"),
    ],
)
def test_config_errors_name_field_and_value(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        JudgingConfig(**kwargs).build_format()


def test_combine_votes_directly():
    v = combine_votes([[0, 0, 1], [0, None, None]], [["a", "b", "c"], ["d", "e", "f"]], tokens=7, forced=1)
    assert v == Verdict(
        winner=0,
        votes=(0, 0, 1, 0, None, None),
        rationale="a",
        raw=("a", "b", "c", "d", "e", "f"),
        tokens=7,
        tie=False,
        share=0.75,
        order_agreement=True,
        forced=1,
    )


def test_verdict_pickles():
    verdict = combine_votes([[1]], [["x"]], tokens=1, forced=0)
    assert pickle.loads(pickle.dumps(verdict)) == verdict


def test_judge_stats_merge_adds_every_counter():
    from dataclasses import fields

    from trl_rrm.driver import JudgeStats

    a = JudgeStats(**{f.name: 1 for f in fields(JudgeStats)})
    b = JudgeStats(**{f.name: i + 2 for i, f in enumerate(fields(JudgeStats))})
    a.merge(b)
    assert [getattr(a, f.name) for f in fields(JudgeStats)] == [i + 3 for i in range(len(fields(JudgeStats)))]
    assert b.matches == 2  # the other side is left as it was


# ---- judge prompts that do not fit the judge's context ----------------------------------
class SmallContextJudge(ScriptedJudge):
    """A scripted judge with a context of ``context`` tokens (4 characters a token)."""

    def __init__(self, answer, context, **kwargs):
        super().__init__(answer, **kwargs)
        self.context = context

    def context_length(self):
        return self.context


def test_long_responses_are_cut_to_fit_the_context_and_the_cut_is_stated():
    judge = SmallContextJudge(prefers_longer, context=400, order="fixed", max_new_tokens=32)
    long, short = "word " * 900, "A short answer."  # about 1,125 tokens vs 4
    (verdict,) = judge.compare([Match("Which is better?", (long, short))])
    user = judge.calls[0][0].messages[-1]["content"]
    assert "more tokens of this response are not shown" in shown(user, "Assistant 1")
    assert shown(user, "Assistant 2") == short  # only what does not fit is cut
    assert judge.measure([], [user])[1][0] <= 400
    assert verdict.cut == 1 and not verdict.over_context and verdict.winner == 0


def test_a_fixed_response_budget_cuts_every_long_response():
    judge = ScriptedJudge(prefers_longer, order="fixed", max_response_tokens=8)
    (verdict,) = judge.compare([Match("q", ("x" * 200, "y" * 100))])
    user = judge.calls[0][0].messages[-1]["content"]
    assert shown(user, "Assistant 1").startswith("x" * 32 + "\n[... 42 more tokens")
    assert verdict.cut == 2


def test_a_match_that_cannot_fit_is_not_judged_and_is_counted():
    judge = SmallContextJudge(always_first, context=400, order="fixed", max_new_tokens=32)
    fits, too_long = Match("q", ("a", "b")), Match("Explain " * 400, ("a", "b"))  # the query alone overflows
    verdicts = judge.compare([fits, too_long])
    assert len(judge.calls[0]) == 1  # only the match that fits reached the model
    assert verdicts[0].winner == 0 and not verdicts[0].over_context
    assert verdicts[1] == Verdict(winner=None, over_context=True)


def test_rrm_reward_gives_none_for_matches_that_cannot_fit_and_logs_their_rate():
    from trl_rrm import RRMReward

    judge = SmallContextJudge(prefers_longer, context=400, order="fixed", max_new_tokens=32)
    prompts = ["Short question?"] * 2 + ["Explain " * 400] * 2  # the second group's prompt overflows
    metrics = {}
    rewards = RRMReward(judge, tournament="round_robin", num_generations=2)(
        prompts, ["a", "a longer answer", "a", "a longer answer"], log_metric=metrics.__setitem__
    )
    assert rewards[:2] == [0.0, 1.0] and rewards[2:] == [None, None]
    assert metrics["rrm_reward/over_context_rate"] == 0.5
