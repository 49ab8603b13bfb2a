"""A judge that is an adapter on the policy's own base: it must borrow the model and give
it back exactly as it was, between the policy's training steps."""

from __future__ import annotations

import pytest
import torch
from peft import LoraConfig, get_peft_model

from trl_rrm import HFJudge, Match


def _policy_with_judge_adapter(model):
    policy = get_peft_model(model, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], lora_dropout=0.0))
    policy.add_adapter("judge", LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    policy.set_adapter("default")  # add_adapter leaves the policy active; be explicit anyway
    return policy


def _state(model):
    return (
        list(model.active_adapters),
        {n: p.requires_grad for n, p in model.named_parameters()},
        {n: m.training for n, m in model.named_modules()},
    )


def _logits(model, tokenizer):
    ids = tokenizer("What is 2+3?", return_tensors="pt")
    with torch.no_grad():
        return model(**ids).logits


@pytest.mark.parametrize("compact", [True, False])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_judge_call_restores_adapter_flags_and_modes(tiny_model_and_tokenizer, mode, compact):
    model, tokenizer = tiny_model_and_tokenizer
    policy = _policy_with_judge_adapter(model)
    policy.train(mode == "train")
    policy.base_model.model.model.layers[0].training = False  # a mixed module state survives too
    before = _state(policy)
    policy.eval()
    logits_before = _logits(policy, tokenizer)
    policy.train(mode == "train")
    policy.base_model.model.model.layers[0].training = False

    judge = HFJudge.from_model(policy, tokenizer, adapter_name="judge", max_new_tokens=4, continuous_decoding=compact,
                               compute_copy=False)  # judged on the policy itself, not a merged copy
    seen = {}
    decoding = "forward" if compact else "generate"  # continuous decoding calls the model step by step
    real_generate = getattr(policy, decoding)

    def spy(*args, **kwargs):
        seen["active"] = list(policy.active_adapters)
        seen["training"] = policy.training
        seen["judge_trainable"] = any(p.requires_grad for n, p in policy.named_parameters() if ".judge." in n)
        return real_generate(*args, **kwargs)

    setattr(policy, decoding, spy)
    judge.compare([Match("q", ("a", "b"))])
    del policy.__dict__[decoding]
    assert seen == {"active": ["judge"], "training": False, "judge_trainable": False}
    assert _state(policy) == before
    policy.eval()
    assert torch.equal(_logits(policy, tokenizer), logits_before)


@pytest.mark.parametrize("compact", [True, False])
def test_restores_when_generation_raises(tiny_model_and_tokenizer, compact):
    model, tokenizer = tiny_model_and_tokenizer
    policy = _policy_with_judge_adapter(model)
    policy.train()
    before = _state(policy)
    judge = HFJudge.from_model(policy, tokenizer, adapter_name="judge", continuous_decoding=compact, compute_copy=False)

    def broken(*args, **kwargs):
        raise RuntimeError("CUDA out of memory (simulated)")

    setattr(policy, "forward" if compact else "generate", broken)
    with pytest.raises(RuntimeError, match="simulated"):
        judge.compare([Match("q", ("a", "b"))])
    assert _state(policy) == before


def test_disable_adapters_judges_with_the_base(tiny_model_and_tokenizer, tiny_dir):
    from transformers import AutoModelForCausalLM

    model, tokenizer = tiny_model_and_tokenizer
    policy = _policy_with_judge_adapter(model)
    policy.train()
    before = _state(policy)
    base_judge = HFJudge.from_model(policy, tokenizer, disable_adapters=True, max_new_tokens=8, temperature=0)
    reference = HFJudge.from_model(AutoModelForCausalLM.from_pretrained(tiny_dir), tokenizer, max_new_tokens=8, temperature=0)
    match = [Match("Which is right?", ("yes", "no"))]
    assert base_judge.compare(match)[0].raw == reference.compare(match)[0].raw
    assert _state(policy) == before


def test_loads_a_judge_adapter_from_disk_without_touching_modes(tiny_model_and_tokenizer, tiny_adapter):
    model, tokenizer = tiny_model_and_tokenizer
    policy = get_peft_model(model, LoraConfig(r=4, target_modules=["q_proj", "v_proj"]))
    policy.train()
    before = _state(policy)
    judge = HFJudge.from_model(policy, tokenizer, adapter=tiny_adapter, max_new_tokens=4)
    assert "judge" in policy.peft_config
    active, grads, modes = _state(policy)
    assert active == before[0]
    assert {n: m for n, m in modes.items() if n in before[2]} == before[2]
    assert all(modes[n] for n in modes if ".judge" in n)  # new modules follow the model's train mode
    assert all(not grads[n] for n in grads if ".judge." in n)
    assert {n: g for n, g in grads.items() if ".judge." not in n} == before[1]
    judge.compare([Match("q", ("a", "b"))])


def test_an_adapter_of_another_base_is_named_in_a_warning(tiny_dir, tiny_adapter, tmp_path, caplog):
    """Both ways of loading an adapter check its base: on the policy's PeftModel
    (``from_model``) as on a base loaded by name."""
    import json
    import logging
    import shutil

    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_dir)
    other = tmp_path / "other-base-adapter"
    shutil.copytree(tiny_adapter, other)
    config = json.loads((other / "adapter_config.json").read_text())
    (other / "adapter_config.json").write_text(json.dumps({**config, "base_model_name_or_path": "org/another-model"}))
    for adapter in (tiny_adapter, other):
        policy = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_dir), LoraConfig(r=4, target_modules=["q_proj"]))
        with caplog.at_level(logging.WARNING, logger="trl_rrm.judges.hf.adapters"):
            HFJudge.from_model(policy, tokenizer, adapter=adapter)
        if adapter == tiny_adapter:
            assert not caplog.records  # its own base: no warning
    assert "was trained on 'org/another-model'" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="trl_rrm.judges.hf.adapters"):
        HFJudge(str(tiny_dir), adapter=str(other)).load()
    assert "was trained on 'org/another-model'" in caplog.text


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"adapter_name": "nope"}, "adapter_name='nope' is not loaded"),
        ({"adapter_name": "judge", "disable_adapters": True}, "exclude each other"),
    ],
)
def test_from_model_errors(tiny_model_and_tokenizer, kwargs, message):
    model, tokenizer = tiny_model_and_tokenizer
    policy = _policy_with_judge_adapter(model)
    with pytest.raises(ValueError, match=message):
        HFJudge.from_model(policy, tokenizer, **kwargs)


def test_from_model_needs_peft_for_adapters(tiny_model_and_tokenizer):
    model, tokenizer = tiny_model_and_tokenizer
    with pytest.raises(ValueError, match="need a peft.PeftModel"):
        HFJudge.from_model(model, tokenizer, adapter_name="judge")


def test_policy_adapter_trains_while_judge_adapter_judges(tiny_model_and_tokenizer):
    """Two training steps of the policy adapter with the judge adapter judging before each, as a
    GRPO step does (rewards, then the loss). A real GRPOTrainer runs it end to end in the slow
    tier: the proof's grpo_rrm stage judges with the trained adapter on the policy's base."""
    model, tokenizer = tiny_model_and_tokenizer
    policy = _policy_with_judge_adapter(model)
    judge = HFJudge.from_model(policy, tokenizer, adapter_name="judge", max_new_tokens=6, verdict="forced")
    trainable = [p for p in policy.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(trainable, lr=1e-2)
    batch = tokenizer(["What is 1+3? 4", "What is 2+3? 5"], return_tensors="pt", padding=True)
    before = {n: p.detach().clone() for n, p in policy.named_parameters()}
    policy.train()
    for step in range(2):
        state = _state(policy)
        policy.eval()
        logits = _logits(policy, tokenizer)
        policy.train()
        verdicts = judge.compare([Match(f"What is {step}+3?", ("4", "5")), Match("What is 2+3?", ("5", "6"))])
        assert len(verdicts) == 2 and _state(policy) == state  # adapters, trainable flags and modes given back
        policy.eval()
        assert torch.equal(_logits(policy, tokenizer), logits)  # the policy computes what it computed before
        policy.train()
        policy(**batch, labels=batch["input_ids"]).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    after = dict(policy.named_parameters())

    def changed(part):
        names = [n for n in before if part in n]
        assert names, part
        return sum(not torch.equal(before[n], after[n]) for n in names), len(names)

    assert len(trainable) == changed(".default.")[1]  # only the policy adapter trains
    moved, total = changed(".default.")
    assert moved == total  # every policy LoRA matrix was updated
    assert changed(".judge.")[0] == 0
    assert changed("base_layer")[0] == 0
    assert list(policy.active_adapters) == ["default"]


def test_4bit_policy_base_still_trains_after_a_judge_call(tiny_dir):
    """QLoRA policy + judge adapter on the same 4-bit base: the judge's eval() pass must
    not break the next training backward."""
    pytest.importorskip("bitsandbytes")
    from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig

    tokenizer = AutoTokenizer.from_pretrained(tiny_dir)
    base = AutoModelForCausalLM.from_pretrained(
        tiny_dir,
        quantization_config=BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_compute_dtype=torch.float32),
        device_map={"": "cpu"},
    )
    policy = _policy_with_judge_adapter(base)
    policy.train()
    batch = tokenizer("What is 2+3? 5", return_tensors="pt")

    def loss_and_grad():
        policy.zero_grad()
        loss = policy(**batch, labels=batch["input_ids"]).loss
        loss.backward()
        grad = next(p.grad for n, p in policy.named_parameters() if "lora_B.default" in n)
        return loss.item(), grad.clone()

    loss_before, grad_before = loss_and_grad()
    HFJudge.from_model(policy, tokenizer, adapter_name="judge", max_new_tokens=4).compare([Match("q", ("a", "b"))])
    assert policy.training
    loss_after, grad_after = loss_and_grad()
    assert loss_after == pytest.approx(loss_before) and torch.allclose(grad_after, grad_before)


# ---- the bf16 copy of the borrowed weights (compute_copy) ------------------------------
def test_a_borrowed_float32_judge_runs_on_a_merged_bf16_copy_never_stale(tiny_model_and_tokenizer, monkeypatch):
    """On a CPU with native bf16, the judge adapter on a frozen float32 base judges on a bf16
    copy with the adapter merged: the texts of a judge on that merged bf16 model, the policy
    untouched; a write through ``.data`` (no version counter moves) makes a new copy, as
    does nothing else; a trainable base means no copy."""
    from trl_rrm import precision

    monkeypatch.setattr(precision, "cpu_computes_bf16", lambda: True)
    model, tokenizer = tiny_model_and_tokenizer
    policy = _policy_with_judge_adapter(model)
    policy.train()
    before = _state(policy)
    options = dict(max_new_tokens=8, temperature=0, continuous_decoding=True)
    judge = HFJudge.from_model(policy, tokenizer, adapter_name="judge", **options)
    assert judge.weights_dtype() == "bfloat16"
    matches = [Match("Which is right?", ("yes", "no")), Match("Pick one.", ("a", "bb"))]

    def reference():
        import copy

        twin = copy.deepcopy(policy)
        twin.delete_adapter("default")
        twin.set_adapter("judge")
        merged = twin.merge_and_unload().to(torch.bfloat16).eval()
        return [v.raw for v in HFJudge.from_model(merged, tokenizer, **options).compare(matches)]

    assert [v.raw for v in judge.compare(matches)] == reference()
    judge.compare(matches)
    assert judge.runner.copy.copies_made == 1  # unchanged weights: the same copy
    assert _state(policy) == before  # the policy's adapters, flags and modes untouched
    with torch.no_grad():
        weight = policy.base_model.model.model.layers[1].mlp.down_proj.weight
        weight.data[0, 0] += 0.5  # through .data: no version counter moves
    assert [v.raw for v in judge.compare(matches)] == reference()
    assert judge.runner.copy.copies_made == 2
    weight.requires_grad_(True)  # a base being trained: judged on the policy itself, no copy
    assert judge.weights_dtype() == "float32"
    judge.compare(matches)
    assert judge.runner.copy.model is None and judge.runner.copy.copies_made == 2


def test_the_copy_never_calls_the_borrowed_model(tiny_model_and_tokenizer, monkeypatch):
    """A trainer wraps ``forward`` on the instance (accelerate under bf16: a closure over the
    original bound method); a deep copy would keep the closure and judge on the policy."""
    from trl_rrm import precision

    monkeypatch.setattr(precision, "cpu_computes_bf16", lambda: True)
    model, tokenizer = tiny_model_and_tokenizer
    policy = _policy_with_judge_adapter(model)
    calls = []
    for module in (policy, policy.base_model.model):
        original = module.forward

        def wrapped(*args, _original=original, **kwargs):
            calls.append(1)
            return _original(*args, **kwargs)

        module.forward = wrapped
    judge = HFJudge.from_model(policy, tokenizer, adapter_name="judge", max_new_tokens=4, temperature=0)
    judge.compare([Match("Which is right?", ("yes", "no"))])
    assert judge.runner.copy.copies_made == 1 and calls == []
