"""Verdict labels scored from the key/values the analysis was written into
(``reuse_analysis_cache``) give the probabilities a second prefill gives.

Tiny models built in code (fast tier); float32, so the two agree to float rounding.
"""

from __future__ import annotations

import pytest

from trl_rrm import HFJudge, Match
from trl_rrm.judges import Generation, GenerativeJudge, GenerativeJudgeConfig
from trl_rrm.judges.hf.label_scoring import reusable
from trl_rrm.testing import end_rows_early

MATCHES = [
    Match("What is the sum of seventeen and twenty five? Show the steps.", ("17 + 25 = 42", "It is 41.")),
    Match("What is the sum of seventeen and twenty five? Show the steps.", ("It is 41.", "17 + 25 = 42")),
    Match("Name a prime number larger than ten.", ("11", "Twelve is prime.")),
    Match("Name a prime number larger than ten.", ("13 is prime, since nothing divides it.", "11")),
    Match("Say hi.", ("hi", "hello there, how are you today?")),
]


def _compare(model, tokenizer, **kwargs):
    kwargs = {"verdict": "likelihood", "max_new_tokens": 12, "temperature": 0.0, "batch_size": 4, "both_orders": True,
              **kwargs}  # fmt: skip
    judge = HFJudge.from_model(model, tokenizer, **kwargs)
    return judge, judge.compare(MATCHES)


def _assert_same(reused, plain):
    assert [v.raw for v in reused] == [v.raw for v in plain]
    assert [v.p_first for v in reused] == pytest.approx([v.p_first for v in plain], abs=1e-5)
    assert [v.winner for v in reused] == [v.winner for v in plain]


@pytest.fixture
def ends_early(tiny_model_and_tokenizer):
    """The tiny model with an end-of-sequence token it writes mid-answer: rows of a batch
    end at different steps, some run out of budget."""
    model, tokenizer = tiny_model_and_tokenizer
    _, verdicts = _compare(model, tokenizer, reuse_analysis_cache=False)

    def apart() -> bool:
        return len({len(text) for v in _compare(model, tokenizer, reuse_analysis_cache=False)[1] for text in v.raw}) > 2

    before = model.generation_config.eos_token_id
    end_rows_early(model, tokenizer, [text for v in verdicts for text in v.raw], apart, tries=None)
    yield model, tokenizer
    model.generation_config.eos_token_id = before


@pytest.mark.parametrize(
    "speed",
    [{}, {"prefix_reuse": False}, {"batch_size": 3}, {"continuous_decoding": False},
     {"continuous_decoding": False, "prefix_reuse": False}, {"continuous_decoding": False, "static_cache": False},
     {"temperature": 1.0, "num_votes": 2}],
    ids=["defaults", "no-prefix-reuse", "refilled", "generate", "generate-no-prefix-reuse", "generate-dynamic-cache",
         "sampled-votes"],
)  # fmt: skip
def test_labels_scored_after_the_analysis_match_a_second_prefill(ends_early, speed):
    model, tokenizer = ends_early
    _, plain = _compare(model, tokenizer, reuse_analysis_cache=False, **speed)
    judge, reused = _compare(model, tokenizer, reuse_analysis_cache=True, **speed)
    _assert_same(reused, plain)
    assert len({len(t) for v in reused for t in v.raw}) > 2  # rows ended at different steps
    prompts = sum(len(ids) for ids in [judge.prompt_ids(m) for m in judge.shown_messages(MATCHES)])
    assert judge.analysis_tokens_reused > prompts  # both orders: every prompt and most analyses


def test_a_backend_that_scores_while_writing_is_not_asked_again():
    class Writes(GenerativeJudge):
        def __init__(self, scores_too):
            super().__init__(GenerativeJudgeConfig(verdict="likelihood", order="fixed"))
            self.scores_too, self.scored, self.contexts = scores_too, 0, []

        def generate(self, requests):
            out = []
            for request in requests:
                self.contexts.append(request.then_score.context("I compared them. \\boxed{Assistant 2}"))
                logps = (-2.0, -1.0) if self.scores_too else None
                out.append([Generation("I compared them. \\boxed{Assistant 2}", 5, True, logps)])
            return out

        def score(self, requests):
            self.scored += len(requests)
            return [[-2.0, -1.0] for _ in requests]

    for scores_too in (True, False):
        judge = Writes(scores_too)
        (verdict,) = judge.compare([Match("q", ("a", "b"))])
        assert verdict.p_first == pytest.approx(1 / (1 + 2.718281828459045))
        assert judge.scored == (0 if scores_too else 1)
        # the context is the analysis before its verdict, then the scoring prefix
        (context,) = judge.contexts
        assert context.startswith("I compared them.") and context.endswith(judge.format.score_prefix)
        assert "Assistant 2" not in context


def test_reusable_stops_at_the_first_difference_and_before_the_scored_positions():
    row = (0, [1, 2, 3, 4, 5, 6], [(0, [7], 5), (1, [8], 5)])
    assert reusable(row, [1, 2, 3, 4, 5, 6, 9]) == 5  # position 5's logits are read: it is computed
    assert reusable(row, [1, 2, 9, 4]) == 2
    assert reusable(row, [1, 2, 3]) == 3
    assert reusable((0, [1, 2, 3, 7], [(0, [7], 2)]), [1, 2, 3, 7]) == 2  # a multi-token label's own row


def test_a_cache_that_cannot_be_copied_falls_back_to_a_second_prefill(tiny_model_and_tokenizer, monkeypatch):
    model, tokenizer = tiny_model_and_tokenizer
    _, plain = _compare(model, tokenizer, reuse_analysis_cache=False)
    monkeypatch.setattr("trl_rrm.judges.hf.generating.row_states", lambda *a: None)  # e.g. sliding-window layers
    judge, fallback = _compare(model, tokenizer, reuse_analysis_cache=True)
    _assert_same(fallback, plain)
    assert judge.analysis_tokens_reused == 0
