"""The common prompt prefix kept between batches and calls (``prefix_memory``): the same
judgments as computing it each time, and never used once the weights, adapter or modes
that computed it changed. A judge on weights it does not own (``from_model``) keeps it
within one call only: a write through ``.data`` is seen by no counter. Tiny models built
in code (fast tier)."""

from __future__ import annotations

import pytest
import torch
from peft import LoraConfig, get_peft_model

from trl_rrm import HFJudge, Match
from trl_rrm.judges.hf.prefix_memory import weights_state

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


@pytest.mark.parametrize("speed", [{}, {"continuous_decoding": False}, {"verdict": "direct"}],
                         ids=["continuous", "generate", "direct"])  # fmt: skip
def test_remembered_prefix_judges_as_a_fresh_one(tiny_model_and_tokenizer, speed):
    model, tokenizer = tiny_model_and_tokenizer
    kept, fresh = _judge(model, tokenizer, **speed), _judge(model, tokenizer, prefix_memory=False, **speed)
    for matches in ROUNDS:
        _same(kept.compare(matches), fresh.compare(matches))
    assert kept.prefix_tokens_recalled > 0 and fresh.prefix_tokens_recalled == 0


def _owned(tiny_dir, **kwargs):
    """A judge that loads (and owns) its weights: its prefix is kept across calls."""
    kwargs = {"verdict": "likelihood", "max_new_tokens": 10, "temperature": 0.0, "batch_size": 8, "both_orders": True,
              "dtype": "float32", **kwargs}  # fmt: skip
    return HFJudge(tiny_dir, **kwargs).load()


def _write_through_data(model, tokenizer, judge, how):
    """Issue 46 item 1: updates through ``.data`` that move no version counter and miss the
    64 values per weight the state samples."""
    if how == "embedding rows":  # a gradient step on the 6 rows of a batch's tokens
        x = torch.tensor([judge.prompt_ids(judge.format.messages("q", ("a", "b")))[:6]])
        emb = model.get_input_embeddings().weight
        model(input_ids=x, labels=x).loss.backward()
        emb.data.add_(emb.grad, alpha=-200.0)
        model.zero_grad()
    else:  # one column of a key projection
        model.model.layers[0].self_attn.k_proj.weight.data[:, 1] += 3


@pytest.mark.parametrize("how", ["embedding rows", "k_proj column"])
def test_a_borrowed_model_written_through_data_is_never_served_a_stale_prefix(tiny_model_and_tokenizer, how):
    """The judge borrows the weights (``from_model``): it keeps a prefix within one call
    only, so no write between calls, seen or not, can reach a later call's judgments."""
    model, tokenizer = tiny_model_and_tokenizer
    kept = _judge(model, tokenizer, batch_size=8)  # one batch a call: one prefix a call, none recalled
    kept.compare(MATCHES)
    assert kept.prefix_tokens_recalled == 0
    _write_through_data(model, tokenizer, kept, how)
    after = kept.compare(MATCHES)
    _same(after, _judge(model, tokenizer, prefix_memory=False).compare(MATCHES))
    assert kept.prefix_tokens_recalled == 0  # nothing taken from the old weights' prefix


def test_a_borrowed_model_keeps_the_prefix_within_one_call_only(tiny_model_and_tokenizer):
    model, tokenizer = tiny_model_and_tokenizer
    kept = _judge(model, tokenizer, batch_size=4)  # two batches a call: the second recalls the first's prefix
    kept.compare(MATCHES)
    within = kept.prefix_tokens_recalled
    assert within > 0
    kept.compare(MATCHES)
    assert kept.prefix_tokens_recalled == 2 * within  # the second call recalls exactly as much: nothing across
    # grading (pointwise) is one call too
    grader = _judge(model, tokenizer, batch_size=2, format="pointwise")
    graded = [Match(m.prompt, m.responses[:1]) for m in MATCHES]
    grader.grade(graded)
    once = grader.prefix_tokens_recalled
    assert once > 0
    grader.grade(graded)
    assert grader.prefix_tokens_recalled == 2 * once
    # a judge that owns its weights keeps it across calls
    tiny_dir = model.config.name_or_path
    owned = _owned(tiny_dir, batch_size=4)
    owned.compare(MATCHES)
    assert owned.prefix_tokens_recalled == within
    owned.compare(MATCHES)
    assert owned.prefix_tokens_recalled > 2 * within


@pytest.mark.parametrize("how", ["optimizer", "data", "load_state_dict"])
def test_changed_weights_are_never_served_a_stale_prefix(tiny_dir, how):
    kept = _owned(tiny_dir)  # one batch a call: one prefix stored, then recalled
    model, tokenizer = kept.model, kept.tokenizer
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


@pytest.mark.parametrize("judged_with", ["bare base", "policy adapter", "judge adapter"])
def test_training_the_policy_adapter_leaves_no_prefix_to_a_judge_on_its_model(tiny_model_and_tokenizer, judged_with):
    """Whatever the judge reads of the policy's model, no prefix outlives the call (the
    state's samples could miss the update); the next call judges as a fresh judge."""
    model, tokenizer = tiny_model_and_tokenizer
    lora_config = LoraConfig(r=4, target_modules=["q_proj", "k_proj", "v_proj"], init_lora_weights=False)
    policy = get_peft_model(model, lora_config)
    options = {"bare base": {"disable_adapters": True}, "policy adapter": {},
               "judge adapter": {"adapter_name": "judge"}}[judged_with]  # fmt: skip
    if judged_with == "judge adapter":
        policy.add_adapter("judge", lora_config)
        policy.set_adapter("default")
    kept = _judge(policy, tokenizer, batch_size=8, **options)  # one batch a call
    kept.compare(MATCHES)
    lora = [p for n, p in policy.named_parameters() if "lora_" in n and p.requires_grad]
    assert lora
    optimizer = torch.optim.SGD(lora, lr=1.0)
    for p in lora:
        p.grad = torch.full_like(p, 0.5)
    optimizer.step()
    after = kept.compare(MATCHES)
    assert kept.prefix_tokens_recalled == 0
    _same(after, _judge(policy, tokenizer, batch_size=8, prefix_memory=False, **options).compare(MATCHES))
