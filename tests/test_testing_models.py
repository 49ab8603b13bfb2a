"""Fast tier: the in-code tiny tokenizer, models and LoRA adapters of ``trl_rrm.testing``."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedTokenizerFast

from trl_rrm.testing import build_tiny_model, build_tiny_tokenizer, make_lora_adapter, save_tiny_model

UNICODE_TEXTS = [
    "你好，世界！这是一个测试。",
    "emoji 🙂🚀 family 👩‍👩‍👧 flag 🇫🇷 skin 👍🏽",
    r"$\frac{-b \pm \sqrt{b^2-4ac}}{2a}$ and $\int_0^\infty e^{-x^2}\,dx = \frac{\sqrt{\pi}}{2}$",
    "Ελληνικά, русский, العربية, हिन्दी, 日本語のテキスト, 한국어",
    "tabs\tand  spaces   \n\n\ntrailing  \r\nCRLF \x00\x07 control",
    '## Query\n\n### Assistant 1\n\\boxed{Assistant 1} <answer>[[A]]</answer> <think>hm</think> {"scores": [1, 2]}',
]


@pytest.fixture(scope="module")
def tokenizer() -> PreTrainedTokenizerFast:
    return build_tiny_tokenizer()


@pytest.fixture(scope="module")
def llama_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_model(tmp_path_factory.mktemp("tiny") / "llama")


@pytest.mark.parametrize("text", UNICODE_TEXTS)
def test_tokenizer_round_trips_unicode(tokenizer: PreTrainedTokenizerFast, text: str) -> None:
    ids = tokenizer(text, add_special_tokens=False).input_ids
    assert tokenizer.decode(ids) == text


def test_tokenizer_normalizes_to_nfc(tokenizer: PreTrainedTokenizerFast) -> None:
    assert tokenizer.decode(tokenizer("cafe\u0301").input_ids) == "caf\u00e9"


def test_tokenizer_special_tokens_and_training(tokenizer: PreTrainedTokenizerFast) -> None:
    start = time.perf_counter()
    again = build_tiny_tokenizer()
    assert time.perf_counter() - start < 2.0
    assert again.get_vocab() == tokenizer.get_vocab()
    assert 900 <= len(tokenizer) <= 1100
    assert tokenizer.bos_token is None
    assert tokenizer.eos_token == "<|im_end|>"
    assert tokenizer.pad_token == "<|pad|>"
    assert tokenizer.pad_token_id != tokenizer.eos_token_id
    for token in ("<|pad|>", "<|endoftext|>", "<|im_start|>", "<|im_end|>"):
        assert tokenizer(token, add_special_tokens=False).input_ids == [tokenizer.convert_tokens_to_ids(token)]
    # No bos and no post-processor: encoding adds nothing.
    assert tokenizer("hi").input_ids == tokenizer("hi", add_special_tokens=False).input_ids
    ids = tokenizer("<|im_start|>user\nhi<|im_end|>").input_ids
    assert tokenizer.decode(ids, skip_special_tokens=True) == "user\nhi"


def test_chat_template(tokenizer: PreTrainedTokenizerFast) -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is 2+3?"},
        {"role": "assistant", "content": "5"},
        {"role": "user", "content": "And 2+4?"},
    ]
    rendered = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert rendered == (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 2+3?<|im_end|>\n"
        "<|im_start|>assistant\n5<|im_end|>\n<|im_start|>user\nAnd 2+4?<|im_end|>\n<|im_start|>assistant\n"
    )
    without_prompt = tokenizer.apply_chat_template(messages[:2], tokenize=False)
    assert without_prompt == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 2+3?<|im_end|>\n"


@pytest.mark.parametrize("arch", ["llama", "qwen2"])
def test_tiny_model_shape_and_seed(tokenizer: PreTrainedTokenizerFast, arch: str) -> None:
    rng_before = torch.get_rng_state()
    model = build_tiny_model(tokenizer, arch=arch, seed=0)
    assert torch.equal(torch.get_rng_state(), rng_before), "building a tiny model must not touch the global RNG"
    config = model.config
    assert config.model_type == arch
    assert (config.num_hidden_layers, config.hidden_size, config.intermediate_size) == (2, 64, 128)
    assert (config.num_attention_heads, config.num_key_value_heads) == (4, 2)
    assert config.vocab_size == len(tokenizer)
    assert config.max_position_embeddings == 2048
    assert not config.tie_word_embeddings
    assert model.get_output_embeddings().weight.data_ptr() != model.get_input_embeddings().weight.data_ptr()
    assert all(p.dtype == torch.float32 for p in model.parameters())
    eos = tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert config.eos_token_id == model.generation_config.eos_token_id == eos
    assert config.pad_token_id == model.generation_config.pad_token_id == tokenizer.pad_token_id

    same = build_tiny_model(tokenizer, arch=arch, seed=0).state_dict()
    other = build_tiny_model(tokenizer, arch=arch, seed=1).state_dict()
    assert all(torch.equal(v, same[k]) for k, v in model.state_dict().items())
    assert not torch.equal(model.state_dict()["lm_head.weight"], other["lm_head.weight"])


def test_left_padded_batch_generation(tokenizer: PreTrainedTokenizerFast) -> None:
    model = build_tiny_model(tokenizer)
    prompts = [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": content}], tokenize=False, add_generation_prompt=True
        )
        for content in ("Which answer is better? Explain step by step.", "2+3?")
    ]
    batch = tokenizer(prompts, padding=True, padding_side="left", return_tensors="pt", add_special_tokens=False)
    assert batch["attention_mask"][1, 0] == 0, "the shorter prompt should be left-padded"
    with torch.no_grad():
        out = model.generate(**batch, max_new_tokens=6, do_sample=False)
    assert out.shape[0] == 2
    assert 0 < out.shape[1] - batch["input_ids"].shape[1] <= 6

    # Padding must not change what a prompt generates: compare with the prompt alone.
    for row, prompt in enumerate(prompts):
        alone = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
        with torch.no_grad():
            single = model.generate(**alone, max_new_tokens=6, do_sample=False)
            padded_logits = model(**batch).logits[row, -1]
            alone_logits = model(**alone).logits[0, -1]
        torch.testing.assert_close(padded_logits, alone_logits, atol=1e-5, rtol=1e-5)
        new_tokens = single[0, alone["input_ids"].shape[1] :].tolist()
        assert out[row, batch["input_ids"].shape[1] :].tolist()[: len(new_tokens)] == new_tokens


@pytest.mark.parametrize("arch", ["llama", "qwen2"])
def test_save_reload_round_trip(tokenizer: PreTrainedTokenizerFast, tmp_path: Path, arch: str) -> None:
    path = save_tiny_model(tmp_path / arch, arch=arch, seed=3)
    reloaded_tokenizer = AutoTokenizer.from_pretrained(path)
    for text in UNICODE_TEXTS:
        assert reloaded_tokenizer(text).input_ids == tokenizer(text).input_ids
    messages = [{"role": "user", "content": "What is 2+3?"}]
    assert reloaded_tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True) == (
        tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    )
    assert (reloaded_tokenizer.pad_token, reloaded_tokenizer.eos_token) == ("<|pad|>", "<|im_end|>")

    model = AutoModelForCausalLM.from_pretrained(path)
    assert model.config.model_type == arch
    assert model.generation_config.eos_token_id == tokenizer.convert_tokens_to_ids("<|im_end|>")
    original = build_tiny_model(tokenizer, arch=arch, seed=3)
    inputs = tokenizer(UNICODE_TEXTS[0], return_tensors="pt")
    with torch.no_grad():
        assert torch.equal(model(**inputs).logits, original(**inputs).logits)


@pytest.mark.parametrize("init_nonzero", [True, False])
def test_lora_adapter(llama_dir: Path, tmp_path: Path, init_nonzero: bool) -> None:
    rng_before = torch.get_rng_state()
    adapter_dir = make_lora_adapter(llama_dir, tmp_path / "lora", init_nonzero=init_nonzero)
    assert torch.equal(torch.get_rng_state(), rng_before), "making an adapter must not touch the global RNG"
    adapter_config = json.loads((adapter_dir / "adapter_config.json").read_text())
    assert adapter_config["r"] == 4
    assert set(adapter_config["target_modules"]) == {"q_proj", "v_proj"}

    base = AutoModelForCausalLM.from_pretrained(llama_dir)
    inputs = AutoTokenizer.from_pretrained(llama_dir)("## Query\nWhat is 2+3?", return_tensors="pt")
    with torch.no_grad():
        base_logits = base(**inputs).logits
        adapted_logits = PeftModel.from_pretrained(base, adapter_dir)(**inputs).logits
    if init_nonzero:
        assert (adapted_logits - base_logits).abs().max() > 1e-3
    else:
        torch.testing.assert_close(adapted_logits, base_logits)
