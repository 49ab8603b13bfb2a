"""Tiny models built in code, for fast tests, examples and benchmarks.

Nothing here is downloaded: the tokenizer is a byte-level BPE trained in-process (well
under a second) on a small corpus written below, and the models are randomly initialized
from a fixed seed. They generate gibberish, but they exercise every code path a real
chat model does: ChatML chat template, special tokens, left-padded batched generation,
save/reload with ``from_pretrained``, and LoRA adapters with PEFT.

    tokenizer = build_tiny_tokenizer()
    model = build_tiny_model(tokenizer)               # 2 layers, hidden 64, float32
    path = save_tiny_model(tmp_path / "tiny")         # AutoModelForCausalLM/AutoTokenizer-loadable
    adapter = make_lora_adapter(path, tmp_path / "lora")  # PeftModel.from_pretrained-loadable
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import torch
from peft import LoraConfig, get_peft_model
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
from transformers import (
    AutoModelForCausalLM,
    LlamaConfig,
    PreTrainedModel,
    PreTrainedTokenizerFast,
    Qwen2Config,
)

__all__ = [
    "build_tiny_model",
    "build_tiny_tokenizer",
    "end_rows_early",
    "make_lora_adapter",
    "save_tiny_model",
]

PAD_TOKEN = "<|pad|>"
EOS_TOKEN = "<|im_end|>"
SPECIAL_TOKENS = (PAD_TOKEN, "<|endoftext|>", "<|im_start|>", EOS_TOKEN)

# ChatML, as SmolLM2 and Qwen2 use it, without a default system prompt.
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

# Llama 3's chat layout: header tokens around each role, <|eot_id|> ends a turn.
LLAMA3_SPECIAL_TOKENS = ("<|finetune_right_pad_id|>", "<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>",
                         "<|eot_id|>")  # fmt: skip
LLAMA3_TEMPLATE = (
    "{{ '<|begin_of_text|>' }}"
    "{% for message in messages %}"
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + message['content'] + '<|eot_id|>' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)

_VOCAB_SIZE = 1000

# Qwen2's pre-tokenizer split. AutoTokenizer ignores tokenizer_class for a folder whose
# config says qwen2: it rebuilds a Qwen2Tokenizer from the vocab and merges, with this
# split and an NFC normalizer. Training with the same pipeline makes that rebuild encode
# exactly like the tokenizer that was saved, for both architectures.
_QWEN2_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)

# What the judges in this package read and write: prompt skeletons, verdict markers,
# reasoning, math, code and JSON. Merges learned from it keep tiny-model prompts short.
_CORPUS = r"""
You judge the quality of answers written by AI assistants. You will read a user query and
two candidate responses, and decide which one serves the user better.
## Query
What is the derivative of x^2 + 3x + 2?
## Assistant responses
### Assistant 1
The derivative is 2x + 3.
### Assistant 2
The derivative is x + 3, because the power rule gives x.
## Analysis
Assistant 1 applies the power rule correctly: d/dx x^2 = 2x and d/dx 3x = 3.
Assistant 2 forgets the factor 2. The first answer is correct and concise.
Therefore the better response is \boxed{Assistant 1}.
Another comparison, where the second response wins: \boxed{Assistant 2}.
[Client Question]
Write a haiku about autumn leaves.
[The Start of Chatbot A's Response]
Crimson leaves drifting / whispering to the cold ground / the year exhales slow
[The End of Chatbot A's Response]
[The Start of Chatbot B's Response]
Leaves are red and fall.
[The End of Chatbot B's Response]
<type>Chat</type>
<rubric>Form (weight 0.5): five, seven and five syllables. Imagery (weight 0.5).</rubric>
<justify>A haiku is defined by its form, so form carries half of the weight.</justify>
<eval>Chatbot A follows the form and paints an image; Chatbot B does neither.</eval>
<answer>[[A]]</answer>
<type>Reasoning</type>
<solution>Solve 3x - 7 = 11: add 7 to get 3x = 18, divide by 3 to get x = 6.</solution>
<eval>Chatbot B finds x = 6 with correct steps; Chatbot A claims x = 4/3.</eval>
<answer>[[B]]</answer>
<think>
Let me check both answers step by step. First, compute the sum: 17 + 25 = 42.
Then the product: 6 * 7 = 42. Both are equal, so the claim holds.
Wait, the question asks for the difference, not the sum: 25 - 17 = 8.
</think>
The final answer is 8.
## Principle
Prefer the response that follows the user's instruction most faithfully and is the most
helpful, correct and honest; for a harmful request, prefer the response that stays safe.
## Responses
### model-1
Paris is the capital of France.
### model-2
The capital of France is Paris, which is also its largest city.
### model-3
I think it might be Lyon.
```json
{"scores": {"model-1": 4, "model-2": 5, "model-3": 1}, "best-to-worst": ["model-2", "model-1", "model-3"]}
```
{"role": "user", "content": "Hello!"}, {"role": "assistant", "content": "Hi, how can I help?"}
Theorem. For every integer $n \ge 1$, $\sum_{k=1}^{n} k = \frac{n(n+1)}{2}$.
Proof. By induction on $n$: the case $n = 1$ gives $1 = \frac{1 \cdot 2}{2}$. If the
formula holds for $n$, then $\sum_{k=1}^{n+1} k = \frac{n(n+1)}{2} + (n+1) = \frac{(n+1)(n+2)}{2}$.
The quadratic formula: $x = \frac{-b \pm \sqrt{b^2 - 4ac}}{2a}$, and $\int_0^1 x^2 \, dx = \frac{1}{3}$.
Let $f(x) = e^{x}$; then $f'(x) = e^{x}$ and $\lim_{x \to 0} \frac{\sin x}{x} = 1$.
def add(a: int, b: int) -> int:
    return a + b
for i in range(10):
    print(i ** 2)
| Criterion | Assistant 1 | Assistant 2 |
|-----------|-------------|-------------|
| Accuracy  | high        | low         |
- **Correctness**: the answer must be right.
- **Helpfulness**: the answer should address the question.
1. Read the question carefully.
2. Compare the two responses on accuracy, helpfulness and safety.
3. Decide which response is better, and explain why.
The quick brown fox jumps over the lazy dog. A good reward model prefers answers that are
accurate, helpful, harmless and honest. The judge reasons before it gives the verdict, and
the verdict must name exactly one of the responses. If both responses are equally good,
the judge still has to choose one of them.
"""


def build_tiny_tokenizer(style: Literal["chatml", "llama3"] = "chatml") -> PreTrainedTokenizerFast:
    """Train a ~1000-token byte-level BPE chat tokenizer in-process (nothing is downloaded).

    Byte-level, so nothing is out of vocabulary: every NFC-normalized string (Chinese,
    emoji, LaTeX, control characters, ...) encodes and decodes back unchanged. Like Qwen2's
    tokenizer it applies NFC first, so a decomposed accent (``e`` + U+0301) comes back
    composed (``é``). Special tokens ``<|pad|>`` (pad), ``<|endoftext|>``, ``<|im_start|>`` and
    ``<|im_end|>`` (eos); no bos. The chat template is ChatML without a default system
    prompt; ``add_generation_prompt=True`` appends ``<|im_start|>assistant\\n``.
    ``style="llama3"``: Llama 3's special tokens and chat layout instead (header tokens
    around each role, ``<|eot_id|>`` as eos). Deterministic: the same tokenizer on every call.
    """
    specials = SPECIAL_TOKENS if style == "chatml" else LLAMA3_SPECIAL_TOKENS
    tokenizer = Tokenizer(models.BPE())
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(_QWEN2_SPLIT), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=_VOCAB_SIZE,
        special_tokens=list(specials),
        # All 256 bytes, whether or not the corpus uses them: no string is out of vocabulary.
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(_CORPUS.splitlines(keepends=True), trainer=trainer)
    pad, eos = (PAD_TOKEN, EOS_TOKEN) if style == "chatml" else (specials[0], "<|eot_id|>")
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        pad_token=pad,
        eos_token=eos,
        bos_token=None,
        unk_token=None,
        additional_special_tokens=[t for t in specials if t not in (pad, eos)],
        chat_template=CHATML_TEMPLATE if style == "chatml" else LLAMA3_TEMPLATE,
        model_max_length=2048,
    )


def build_tiny_model(
    tokenizer: PreTrainedTokenizerFast, arch: Literal["llama", "qwen2"] = "llama", seed: int = 0
) -> PreTrainedModel:
    """A randomly initialized 2-layer causal LM for ``tokenizer`` (nothing is downloaded).

    Hidden size 64, 4 attention heads (2 key/value heads), MLP 128, untied embeddings,
    float32, eval mode. The same ``seed`` gives the same weights; the global torch RNG
    is left untouched. pad and eos (``<|im_end|>``) ids are set in the config and the
    generation config, so ``generate`` stops at the end of an assistant turn.
    """
    config_class = {"llama": LlamaConfig, "qwen2": Qwen2Config}[arch]
    eos_token_id = tokenizer.convert_tokens_to_ids(EOS_TOKEN)
    config = config_class(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        tie_word_embeddings=False,
        bos_token_id=None,
        eos_token_id=eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.generation_config.eos_token_id = eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.eval()
    return model


def save_tiny_model(path: str | os.PathLike[str], arch: Literal["llama", "qwen2"] = "llama", seed: int = 0) -> Path:
    """Build the tiny tokenizer and model and save both into ``path`` (created if needed).

    ``AutoModelForCausalLM.from_pretrained(path)`` and ``AutoTokenizer.from_pretrained(path)``
    load them back; the reloaded tokenizer encodes exactly like ``build_tiny_tokenizer()``.
    """
    path = Path(path)
    tokenizer = build_tiny_tokenizer()
    build_tiny_model(tokenizer, arch=arch, seed=seed).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def make_lora_adapter(
    model_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    r: int = 4,
    target_modules: tuple[str, ...] = ("q_proj", "v_proj"),
    seed: int = 0,
    init_nonzero: bool = True,
) -> Path:
    """Create a LoRA adapter for the model saved at ``model_path`` and save it to ``out_dir``.

    ``PeftModel.from_pretrained(base, out_dir)`` loads it. With ``init_nonzero`` (the
    default) both LoRA matrices are random, so the adapter visibly changes the model's
    outputs; with ``init_nonzero=False`` it is PEFT's usual no-op start (B = 0). The same
    ``seed`` gives the same adapter; the global torch RNG is left untouched.
    """
    base = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32)
    config = LoraConfig(
        r=r,
        lora_alpha=2 * r,
        lora_dropout=0.0,
        target_modules=list(target_modules),
        task_type="CAUSAL_LM",
        # False keeps nn.Linear's random init for B as well as A (PEFT's testing option).
        init_lora_weights=not init_nonzero,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = get_peft_model(base, config)
    out_dir = Path(out_dir)
    model.save_pretrained(out_dir)
    return out_dir


def end_rows_early(
    model: PreTrainedModel, tokenizer, texts: list[str], apart: Callable[[], bool], tries: int | None = 12
) -> int:
    """Make a token ``model`` writes inside ``texts`` its end-of-sequence, so that the rows
    of a batch end at different steps (what decoding that drops finished rows must
    handle): the ``tries`` most written tokens (None: all) are set in turn until
    ``apart()`` (a fresh run's check of its lengths) is true. Returns the token;
    restoring ``model.generation_config.eos_token_id`` is the caller's.

    Raises:
        AssertionError: no such token ends the rows apart.
    """
    written = Counter(t for text in texts for t in tokenizer(text, add_special_tokens=False)["input_ids"][1:])
    for token, _ in written.most_common(tries):
        model.generation_config.eos_token_id = token
        if apart():
            return token
    raise AssertionError(f"no token of {written.most_common(tries)} ends rows at different steps")
