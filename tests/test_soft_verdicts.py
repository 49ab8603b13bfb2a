"""Soft verdicts: p(first better) from the judge's verdict-token probabilities."""

from __future__ import annotations

import math
import re

import pytest
import torch

from trl_rrm import HFJudge, Match, get_format
from trl_rrm.judges import Generation, GenerativeJudge, GenerativeJudgeConfig, JudgingConfig


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


class BiasedScorer(GenerativeJudge):
    """Scores labels as quality + a planted bonus for whichever response is shown first."""

    def __init__(self, quality: dict[str, float], bias: float, **kwargs):
        super().__init__(GenerativeJudgeConfig(**kwargs))
        self.quality, self.bias = quality, bias
        self.scored = []

    def generate(self, requests):
        return [[Generation("<think>compared both</think> \\boxed{Assistant 1}", 7, True)] for _ in requests]

    def score(self, requests):
        self.scored.extend(requests)
        out = []
        for request in requests:
            user = request.messages[-1]["content"]
            first = re.search(r"### Assistant 1\n\n(.*?)\n\n###", user, re.S).group(1)
            second = re.search(r"### Assistant 2\n\n(.*?)\n\n## Analysis", user, re.S).group(1)
            out.append([self.quality[first] + self.bias, self.quality[second]])
        return out


@pytest.mark.parametrize("difference", [0.0, 0.7, -1.3])
def test_both_orders_cancel_a_planted_position_bias(difference):
    bias = 2.0
    judge = BiasedScorer({"a": difference, "b": 0.0}, bias, verdict="direct", both_orders=True)
    (verdict,) = judge.compare([Match("q", ("a", "b"))])
    # order AB: p = sigmoid(d + b); order BA shows b first: p(b) = sigmoid(-d + b), so
    # p(a) = sigmoid(d - b); the mean cancels the bias exactly when d = 0
    expected = (sigmoid(difference + bias) + sigmoid(difference - bias)) / 2
    assert verdict.p_first == pytest.approx(expected)
    assert verdict.position_bias == pytest.approx((sigmoid(difference + bias) + sigmoid(-difference + bias)) / 2 - 0.5)
    if difference == 0:
        assert verdict.p_first == pytest.approx(0.5) and verdict.position_bias == pytest.approx(sigmoid(2) - 0.5)
    else:
        assert verdict.winner == (0 if difference > 0 else 1)
    single = BiasedScorer({"a": difference, "b": 0.0}, bias, verdict="direct", order="fixed").compare(
        [Match("q", ("a", "b"))]
    )[0]
    assert single.p_first == pytest.approx(sigmoid(difference + bias))  # one order keeps the bias
    assert single.position_bias is None


def test_direct_mode_never_generates():
    judge = BiasedScorer({"a": 1.0, "b": 0.0}, 0.0, verdict="direct", both_orders=True)
    judge.generate = None  # would raise if called
    (verdict,) = judge.compare([Match("q", ("a", "b"))])
    assert verdict.winner == 0 and verdict.tokens == 0 and verdict.votes == (0, 0)
    assert all(r.assistant_prefix == "\\boxed{Assistant" for r in judge.scored)
    assert judge.scored[0].candidates == (" 1", " 2")


def test_likelihood_scores_in_place_of_the_written_verdict():
    judge = BiasedScorer({"a": -1.0, "b": 0.0}, 0.0, verdict="likelihood", order="fixed")
    (verdict,) = judge.compare([Match("q", ("a", "b"))])
    # the judge wrote \boxed{Assistant 1}: parsed vote 0 is kept, but the probability decides
    assert verdict.votes == (0,) and verdict.winner == 1
    assert verdict.p_first == pytest.approx(sigmoid(-1.0))
    assert judge.scored[0].assistant_prefix == "<think>compared both</think>\n\n\\boxed{Assistant"
    assert verdict.tokens == 7


def test_rm_r1_labels():
    fmt = get_format("rm_r1")
    assert (fmt.score_prefix, fmt.labels) == ("<answer>[[", ("A", "B"))


def test_principle_format_has_no_likelihood_mode():
    with pytest.raises(ValueError, match="verdict='direct'"):
        JudgingConfig(format="principle", verdict="direct")
    with pytest.raises(ValueError, match="verdict='soft'"):
        JudgingConfig(verdict="soft")


def test_forced_answer_alias_is_gone():
    assert JudgingConfig(verdict="forced").verdict == "forced"
    with pytest.raises(TypeError, match="forced_answer"):
        JudgingConfig(forced_answer=True)


def _label_logprob(model, tokenizer, messages, prefix, label):
    """Independent computation: full forward of one unpadded sequence."""
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True) + prefix
    context = tokenizer(text, add_special_tokens=False)["input_ids"]
    label_ids = tokenizer(label, add_special_tokens=False)["input_ids"]
    ids = torch.tensor([context + label_ids])
    with torch.no_grad():
        logprobs = torch.log_softmax(model(ids).logits[0].double(), -1)
    return sum(logprobs[len(context) - 1 + i, t].item() for i, t in enumerate(label_ids))


@pytest.mark.parametrize("fmt", ["rrm", "rm_r1"])
def test_probability_matches_a_hand_computation_from_logits(tiny_model_and_tokenizer, fmt):
    model, tokenizer = tiny_model_and_tokenizer
    judge = HFJudge.from_model(model, tokenizer, format=fmt, verdict="direct", order="fixed", batch_size=3)
    matches = [Match("What is 2+3?", ("5", "6")), Match("Name a color, please.", ("blue", "a long answer about green"))]
    verdicts = judge.compare(matches)
    form = get_format(fmt)
    for match, verdict in zip(matches, verdicts):
        messages = form.render(match.prompt, *match.responses)
        first, second = (_label_logprob(model, tokenizer, messages, form.score_prefix, label) for label in form.labels)
        assert verdict.p_first == pytest.approx(1 / (1 + math.exp(second - first)), abs=1e-5)


def test_likelihood_on_a_real_model_with_adapter_judge(tiny_model_and_tokenizer):
    import copy

    from peft import LoraConfig, get_peft_model

    model, tokenizer = tiny_model_and_tokenizer
    policy = get_peft_model(model, LoraConfig(r=4, target_modules=["q_proj", "v_proj"]))
    policy.add_adapter("judge", LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    policy.set_adapter("default")
    policy.train()
    # the reference: a plain model with the judge adapter merged into its weights
    reference = copy.deepcopy(policy)
    reference.set_adapter("judge")
    reference = reference.merge_and_unload().eval()
    kwargs = {"verdict": "likelihood", "max_new_tokens": 6, "temperature": 0.0}
    judge = HFJudge.from_model(policy, tokenizer, adapter_name="judge", both_orders=True, **kwargs)
    (verdict,) = judge.compare([Match("q", ("a", "b"))])
    assert policy.training and list(policy.active_adapters) == ["default"]  # given back as it was
    one_order = HFJudge.from_model(reference, tokenizer, order="fixed", both_orders=False, **kwargs)
    ab, ba = one_order.compare([Match("q", ("a", "b")), Match("q", ("b", "a"))])
    # p(first shown better) in each order: p_first = (p_ab + 1 - p_ba) / 2, the bias is the first-shown's mean - 0.5
    assert verdict.raw == ab.raw + ba.raw  # the same analyses as the merged reference, order by order
    assert verdict.p_first == pytest.approx((ab.p_first + 1 - ba.p_first) / 2, abs=1e-5)
    assert verdict.position_bias == pytest.approx((ab.p_first + ba.p_first) / 2 - 0.5, abs=1e-5)
    # the judge adapter moves the probability away from the bare base's: the check above can tell them apart
    base = HFJudge.from_model(policy, tokenizer, disable_adapters=True, order="fixed", both_orders=False, **kwargs)
    assert base.compare([Match("q", ("a", "b"))])[0].p_first != pytest.approx(ab.p_first, abs=1e-3)
