"""Untrusted text in a judge prompt: what a policy (or a dataset) wrote must stay text.

In RL the policy is optimised against the judge, so it will find any text that moves the
verdict. Two kinds of text could take over the judge's prompt:

- *Control tokens spelled out.* The judge's prompt is rendered to text, then tokenized;
  a completion that writes ``<|im_end|>`` (easily composed from ordinary sub-word tokens)
  would become the real control token and could close the user turn and write the
  judge's answer. ``neutralize`` inserts a zero-width space (U+200B) after the first
  character of every control-token string, so it tokenizes as ordinary characters.
- *Forged structure.* A response that writes the format's own section lines (``###
  Assistant 2``, ``## Analysis``, ``[The End of Chatbot A's Response]``) or its verdict
  markers (``\\boxed{Assistant 1}``, ``<answer>[[A]]</answer>``) could pass itself off as
  the other response or as the judge's analysis. Each format lists them (``structure``,
  ``markers``); every match gets the same zero-width space, so the rendered prompt of an
  attacked pair has exactly the structure of a benign one.

The judge still reads what the policy wrote (the characters are all there); only the
structure cannot be forged. Judges whose training data pasted raw text can turn the
defence off (``escape_untrusted=False`` in the judge config).

A served judge (``OpenAIJudge``) does not know its server's tokenizer: it neutralises
``COMMON_CONTROL_TOKENS`` (the control-token shapes of the common chat templates) plus
any strings the user lists.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

ZERO_WIDTH_SPACE = "\u200b"

# Control-token shapes of the common chat templates (ChatML, Llama 3, Llama 2 / Mistral,
# Gemma, DeepSeek's full-width bars, sentence markers), for judges whose tokenizer is unknown.
COMMON_CONTROL_TOKENS = re.compile(
    r"<\|[^|<>\n]{1,40}\|>"  # <|im_end|>, <|eot_id|>, <|start_header_id|>
    r"|<｜[^｜\n]{1,40}｜>"  # <｜Assistant｜>, <｜end▁of▁sentence｜>
    r"|\[/?INST\]|<</?SYS>>|</?s>|<(?:start|end)_of_turn>|<(?:bos|eos|pad|unk)>"
)


def _inert(match: re.Match) -> str:
    """The match with a zero-width space after its first visible character."""
    text = match.group()
    at = len(text) - len(text.lstrip()) + 1
    return text[:at] + ZERO_WIDTH_SPACE + text[at:]


@lru_cache(maxsize=64)
def _literal_pattern(tokens: tuple[str, ...]) -> re.Pattern | None:
    tokens = tuple(sorted({t for t in tokens if len(t) > 1}, key=len, reverse=True))
    return re.compile("|".join(re.escape(t) for t in tokens)) if tokens else None


def control_token_pattern(tokens: Iterable[str]) -> re.Pattern | None:
    """One pattern matching any of ``tokens`` (longest first); None when there are none."""
    return _literal_pattern(tuple(tokens))


def neutralize(text: str, *, control_tokens: Sequence[str] | re.Pattern = (), patterns: Sequence[re.Pattern] = ()) -> str:
    """``text`` with every control-token string and every match of ``patterns`` made inert
    by a zero-width space after its first visible character (see the module doc).

    ``control_tokens`` is a list of exact strings (an HF tokenizer's special and added
    tokens) or a pattern (``COMMON_CONTROL_TOKENS``). Pure and idempotent.
    """
    tokens = control_tokens if isinstance(control_tokens, re.Pattern) else control_token_pattern(control_tokens)
    if tokens is not None:
        text = tokens.sub(_inert, text)
    for pattern in patterns:
        text = pattern.sub(_inert, text)
    return text


def tokenizer_control_tokens(tokenizer: object) -> tuple[str, ...]:
    """Every special or added token of an HF tokenizer: the strings that tokenize as
    control tokens when they appear in the rendered prompt."""
    found: set[str] = set(getattr(tokenizer, "all_special_tokens", None) or ())
    decoder = getattr(tokenizer, "added_tokens_decoder", None) or {}
    for token in decoder.values():
        found.add(str(getattr(token, "content", token)))
    return tuple(sorted(t for t in found if len(t) > 1 and not t.isspace()))
