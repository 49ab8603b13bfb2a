"""The common prompt prefix kept between calls (``prefix_memory``): the same judgments as
computing it each time, and never used once the weights, adapter or modes that computed
it changed. Tiny models built in code (fast tier)."""

from __future__ import annotations

import pytest
import torch
from peft import LoraConfig, get_peft_model

from trl_rrm import HFJudge, Match
from trl_rrm.judges.prefix_memory import weights_state

MATCHES = [
    Match("What is the sum of seventeen and twenty five? Show the steps.", ("17 + 25 = 42", "It is 41.")),
    Match("What is the sum of seventeen and twenty five? Show the steps.", ("It is 41.", "17 + 25 = 42, checked")),
    Match("Name a prime number larger than ten.", ("11", "Twelve is prime.")),
    Match("Name a prime number larger than ten.", ("13 is prime, since nothing divides it.", "11")),
]
# a knockout's rounds: both groups, then one group (a longer common prefix), then both again
ROUNDS = [MATCHES, MATCHES[:2], MATCHES[2:], MATCHES]


def _judge(model, tokenizer, **kwargs):
    kwargs = {"verdict": "likelihood", "max_new_tokens": 10, "temperature": 0.0, "batch_size": 4, "both_orders": True,
              **kwargs}  # fmt: skip
    return HFJudge.from_model(model, tokenizer, **kwargs)


def _same(a, b):
    assert [v.raw for v in a] == [v.raw for v in b]
    assert [v.p_first for v in a] == pytest.approx([v.p_first for v in b], abs=1e-5)
    assert [v.winner for v in a] == [v.winner for v in b]


@pytest.mark.parametrize("speed", [{}, {"compact_decoding": False}, {"verdict": "direct"}],
                         ids=["continuous", "generate", "direct"])  # fmt: skip
def test_remembered_prefix_judges_as_a_fresh_one(tiny_model_and_tokenizer, speed):
    model, tokenizer = tiny_model_and_tokenizer
    kept, fresh = _judge(model, tokenizer, **speed), _judge(model, tokenizer, prefix_memory=False, **speed)
    for matches in ROUNDS:
        _same(kept.compare(matches), fresh.compare(matches))
    assert kept.prefix_tokens_recalled > 0 and fresh.prefix_tokens_recalled == 0


@pytest.mark.parametrize("how", ["optimizer", "data", "load_state_dict"])
def test_changed_weights_are_never_served_a_stale_prefix(tiny_model_and_tokenizer, how):
    model, tokenizer = tiny_model_and_tokenizer
    kept = _judge(model, tokenizer, batch_size=8)  # one batch a call: one prefix stored, then recalled
    kept.compare(MATCHES)
    kept.compare(MATCHES)
    recalled = kept.prefix_tokens_recalled
    assert recalled > 0
    first = next(model.parameters())  # the embedding: every position's key/values change
    if how == "optimizer":
        optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
        first.grad = torch.full_like(first, 0.5)
        optimizer.step()
    elif how == "data":  # no version counter moves
        first.data.mul_(-1.0)
    else:
        state = {k: v.clone() for k, v in model.state_dict().items()}
        state[next(iter(state))].mul_(-1.0)
        model.load_state_dict(state)
    after = kept.compare(MATCHES)
    assert kept.prefix_tokens_recalled == recalled  # nothing taken from the old weights' prefix
    _same(after, _judge(model, tokenizer, prefix_memory=False).compare(MATCHES))


def test_weights_state_follows_what_decides_the_key_values(tiny_model_and_tokenizer):
    model, _ = tiny_model_and_tokenizer
    policy = get_peft_model(model, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    policy.add_adapter("judge", LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    policy.eval()
    state = weights_state(policy)
    with torch.no_grad():
        policy(input_ids=torch.tensor([[1, 2, 3]]))
    assert weights_state(policy) == state  # a forward pass changes nothing
    changes = {
        "adapter": lambda: policy.set_adapter("judge"),
        "disabled": lambda: policy.base_model.disable_adapter_layers(),
        "train mode": lambda: policy.train(),
    }
    for name, change in changes.items():
        change()
        assert weights_state(policy) != state, name
        state = weights_state(policy)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert weights_state(policy) != state


@pytest.mark.parametrize("judged_with", ["bare base", "policy adapter"])
def test_training_the_policy_adapter_keeps_the_prefix_only_of_a_judge_that_does_not_read_it(tiny_model_and_tokenizer,
                                                                                             judged_with):  # fmt: skip
    model, tokenizer = tiny_model_and_tokenizer
    lora_config = LoraConfig(r=4, target_modules=["q_proj", "k_proj", "v_proj"], init_lora_weights=False)
    policy = get_peft_model(model, lora_config)
    options = {"disable_adapters": True} if judged_with == "bare base" else {}
    kept = _judge(policy, tokenizer, batch_size=8, **options)  # one batch a call: one prefix stored, then recalled
    kept.compare(MATCHES)
    recalled = kept.prefix_tokens_recalled
    lora = [p for n, p in policy.named_parameters() if "lora_" in n]
    assert lora and all(p.requires_grad for p in lora)
    optimizer = torch.optim.SGD(lora, lr=1.0)
    for p in lora:
        p.grad = torch.full_like(p, 0.5)
    optimizer.step()
    after = kept.compare(MATCHES)
    if judged_with == "bare base":
        assert kept.prefix_tokens_recalled > recalled  # the update touched nothing the judge reads
    else:
        assert kept.prefix_tokens_recalled == recalled
    _same(after, _judge(policy, tokenizer, batch_size=8, prefix_memory=False, **options).compare(MATCHES))
