"""HFJudge on tiny models built in code: loading, batching, seeding, adapters, errors."""

from __future__ import annotations

import pickle

import pytest
import torch

from trl_rrm import HFJudge, Match
from trl_rrm.judges import GenerationRequest

MATCHES = [
    Match("What is 2+3?", ("5", "6")),
    Match([{"role": "user", "content": "Say hi"}], ([{"role": "assistant", "content": "hi"}], "hello there, friend")),
    Match("A much longer prompt about nothing in particular, " * 4, ("yes", "no")),
]


def test_loads_from_path_and_judges(tiny_dir):
    judge = HFJudge(tiny_dir, max_new_tokens=6, both_orders=True, num_votes=2, batch_size=3)
    assert not judge.runner.loaded  # lazy
    verdicts = judge.compare(MATCHES)
    assert len(verdicts) == 3
    for verdict in verdicts:
        assert len(verdict.votes) == 4 and len(verdict.raw) == 4
        assert 0 < verdict.tokens <= 4 * 6
    assert not judge.model.training and not any(p.requires_grad for p in judge.model.parameters())


def test_batched_generation_equals_one_by_one(tiny_dir):
    """Left padding and length bucketing must not change greedy outputs."""
    prompts = ["hi", "a longer prompt " * 6, "mid length prompt", "x"]
    requests = [GenerationRequest([{"role": "user", "content": p}]) for p in prompts]
    batched = HFJudge(tiny_dir, max_new_tokens=8, temperature=0, batch_size=4).generate(requests)
    single = HFJudge(tiny_dir, max_new_tokens=8, temperature=0, batch_size=1).generate(requests)
    assert [g[0].text for g in batched] == [g[0].text for g in single]
    assert [g[0].tokens for g in batched] == [g[0].tokens for g in single]


def test_sampling_is_reproducible_and_leaves_global_rng_alone(tiny_dir):
    judge = HFJudge(tiny_dir, max_new_tokens=8, temperature=1.0, num_votes=3, seed=7)
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    first = judge.compare(MATCHES)
    assert torch.equal(torch.rand(3), expected_next)  # the trainer's RNG stream is untouched
    again = HFJudge(tiny_dir, max_new_tokens=8, temperature=1.0, num_votes=3, seed=7).compare(MATCHES)
    assert [v.raw for v in first] == [v.raw for v in again]
    other_seed = HFJudge(tiny_dir, max_new_tokens=8, temperature=1.0, num_votes=3, seed=8).compare(MATCHES)
    assert [v.raw for v in first] != [v.raw for v in other_seed]
    # votes of one match differ from each other (real samples, not copies)
    assert len(set(first[2].raw)) > 1


def test_forced_answer_on_a_real_model(tiny_dir):
    judge = HFJudge(tiny_dir, max_new_tokens=4, verdict="forced", forced_answer_tokens=3, order="fixed")
    verdicts = judge.compare(MATCHES)
    for verdict in verdicts:
        # the tiny model writes no verdict by itself: every judgment was forced
        assert verdict.forced == 1
        assert "\\boxed{Assistant " in verdict.raw[0]
        assert verdict.tokens <= 4 + 3


def test_adapter_changes_the_judge_merged_or_not(tiny_dir, tiny_adapter):
    plain = HFJudge(tiny_dir, max_new_tokens=8, temperature=0)
    adapted = HFJudge(tiny_dir, adapter=tiny_adapter, max_new_tokens=8, temperature=0)
    kept = HFJudge(tiny_dir, adapter=tiny_adapter, max_new_tokens=8, temperature=0, merge_adapter=False)
    from peft import PeftModel

    assert isinstance(kept.model, PeftModel)
    assert not isinstance(adapted.model, PeftModel)  # merged into its own weights (merge_adapter)
    request = [GenerationRequest([{"role": "user", "content": "Which is better?"}])]
    text = adapted.generate(request)[0][0].text
    assert plain.generate(request)[0][0].text != text
    assert kept.generate(request)[0][0].text == text  # merging changes no text (float32 here)


def test_adapter_that_does_not_fit(tmp_path, tiny_dir):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(tiny_dir)
    config.hidden_size *= 2
    config.head_dim = config.hidden_size // config.num_attention_heads
    wider = AutoModelForCausalLM.from_config(config)
    get_peft_model(wider, LoraConfig(r=2, target_modules=["q_proj"])).save_pretrained(tmp_path / "wide")
    judge = HFJudge(tiny_dir, adapter=tmp_path / "wide")
    with pytest.raises(ValueError, match="adapter=.*does not fit the base model"):
        judge.load()


def test_missing_adapter_path(tiny_dir, tmp_path):
    with pytest.raises(ValueError, match="adapter=.*is not a loadable PEFT adapter"):
        HFJudge(tiny_dir, adapter=tmp_path / "nope").load()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"load_in_4bit": True, "load_in_8bit": True}, "load_in_4bit=True and load_in_8bit=True"),
        ({"format": "bogus"}, "format='bogus'"),
        ({"dtype": "float8"}, "dtype='float8'"),
        ({"batch_size": 0}, "batch_size=0"),
    ],
)
def test_bad_arguments(tiny_dir, kwargs, message):
    with pytest.raises(ValueError, match=message):
        HFJudge(tiny_dir, **kwargs)


def test_unknown_keyword_is_a_type_error(tiny_dir):
    with pytest.raises(TypeError, match="num_vote"):
        HFJudge(tiny_dir, num_vote=3)


def test_pickles_without_weights(tiny_dir):
    judge = HFJudge(tiny_dir, max_new_tokens=4, temperature=0).load()
    clone = pickle.loads(pickle.dumps(judge))
    assert not clone.runner.loaded
    request = [GenerationRequest([{"role": "user", "content": "hi"}])]
    assert clone.generate(request)[0][0].text == judge.generate(request)[0][0].text


def test_borrowed_judge_refuses_pickle(tiny_model_and_tokenizer):
    model, tokenizer = tiny_model_and_tokenizer
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(HFJudge.from_model(model, tokenizer))


def test_tokenizer_without_chat_template(tiny_model_and_tokenizer):
    model, tokenizer = tiny_model_and_tokenizer
    tokenizer.chat_template = None
    with pytest.raises(ValueError, match="has no chat_template"):
        HFJudge.from_model(model, tokenizer)


def test_rank_on_tiny_model(tiny_dir):
    judge = HFJudge(tiny_dir, format="principle", max_new_tokens=8, num_votes=2)
    rankings = judge.rank([Match("q", ("a", "b", "c")), Match("q2", ("x", "y"))])
    assert len(rankings) == 2  # the untrained model writes no JSON: None, never a made-up ranking
    assert all(r is None for r in rankings)


@pytest.mark.parametrize("bits", [4, 8])
def test_quantized_judge_with_adapter(tiny_dir, tiny_adapter, bits):
    pytest.importorskip("bitsandbytes")
    import bitsandbytes as bnb

    judge = HFJudge(tiny_dir, adapter=tiny_adapter, max_new_tokens=6, temperature=0, **{f"load_in_{bits}bit": True})
    verdicts = judge.compare(MATCHES)
    layer_types = {type(m) for m in judge.model.modules()}
    assert (bnb.nn.Linear4bit if bits == 4 else bnb.nn.Linear8bitLt) in layer_types
    assert all(0 < v.tokens <= 6 for v in verdicts)


def test_over_long_responses_are_cut_with_the_real_tokenizer_and_overflowing_prompts_are_not_judged(tiny_dir):
    # the 4,500-character completions of the issue, against a judge whose context is 2,048 tokens
    judge = HFJudge(tiny_dir, max_new_tokens=4, verdict="direct", order="fixed")
    long = "The answer is long. " * 225
    cut, over = judge.compare([Match("Which is better?", (long, long + "!")), Match("Explain. " * 3000, ("a", "b"))])
    assert cut.cut == 2 and not cut.over_context and cut.p_first is not None
    assert over.over_context and over.winner is None and over.p_first is None
    ids = judge.runner.prompt_ids(judge._pairwise_messages(judge._presenter().show([Match("Which is better?", (long, long))])[0], False))[0]
    assert len(ids) + 8 <= 2048  # the verdict's scoring prefix still fits
