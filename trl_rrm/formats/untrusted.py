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

A section line counts in every spelling a reader takes for it: format and zero-width
characters (Unicode category Cf and the other default-ignorable code points: U+200B,
U+2060, U+00AD, U+FEFF, variation selectors) are not seen, so section lines are matched
on the text without them, with any Unicode space or tab (``SPACE_CHARS``) read as a
plain space (``reader_view``, ``forged_at``). A line already inert (a zero-width space right after its
first visible character) is left as it is: ``neutralize`` is idempotent.

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

# Characters a reader does not see: Unicode's format characters (category Cf) and the other
# default-ignorable code points (variation selectors, the combining grapheme joiner, Hangul
# fillers, tags), as of Unicode 15 (tests/test_untrusted.py checks Cf against unicodedata).
INVISIBLE_CHARS = (
    "\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u115f-\u1160\u17b4-\u17b5\u180b-\u180f"
    "\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufffb\U000110bd\U000110cd"
    "\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff"
)
# What a reader takes for a blank inside a line: a tab and every Unicode space (category Zs).
SPACE_CHARS = "\t\u0020\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000"
_INVISIBLE = re.compile(f"[{INVISIBLE_CHARS}]+")
_SPACES = re.compile(f"[{SPACE_CHARS}]")

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


def inert_at(text: str, positions: Iterable[int]) -> str:
    """``text`` with a zero-width space inserted at each of ``positions`` (for what a
    pattern cannot find: a balanced box, a JSON object the parser would read)."""
    cuts = sorted(set(positions))
    pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)])]
    return ZERO_WIDTH_SPACE.join(pieces)


@lru_cache(maxsize=64)
def _literal_pattern(tokens: tuple[str, ...]) -> re.Pattern | None:
    tokens = tuple(sorted({t for t in tokens if len(t) > 1}, key=len, reverse=True))
    return re.compile("|".join(re.escape(t) for t in tokens)) if tokens else None


def control_token_pattern(tokens: Iterable[str]) -> re.Pattern | None:
    """One pattern matching any of ``tokens`` (longest first); None when there are none."""
    return _literal_pattern(tuple(tokens))


def reader_view(text: str) -> tuple[str, list[int]]:
    """``text`` as a reader sees it: without the characters nobody sees (``INVISIBLE_CHARS``),
    every blank (``SPACE_CHARS``) a plain space; and the index in ``text`` of each character
    kept."""
    view = _SPACES.sub(" ", text)
    if not _INVISIBLE.search(view):
        return view, list(range(len(view)))
    kept = [i for i, char in enumerate(view) if not _INVISIBLE.fullmatch(char)]
    return "".join(view[i] for i in kept), kept


def forged_at(pattern: re.Pattern, text: str) -> list[int]:
    """Where a zero-width space makes each section line of ``pattern`` in ``text`` inert:
    right after the first visible character of each match in ``reader_view(text)`` that is
    not inert already (a zero-width space there in ``text``). ``[]``: nothing forged."""
    view, kept = reader_view(text)
    cuts = []
    for match in pattern.finditer(view):
        first = match.start()
        while first < match.end() - 1 and view[first] == " ":
            first += 1
        cut = kept[first] + 1
        if not text.startswith(ZERO_WIDTH_SPACE, cut):
            cuts.append(cut)
    return cuts


def neutralize(text: str, *, control_tokens: Sequence[str] | re.Pattern = (), patterns: Sequence[re.Pattern] = (),
               sections: Sequence[re.Pattern] = ()) -> str:  # fmt: skip
    """``text`` with every control-token string, every match of ``patterns`` and every
    section line of ``sections`` (matched as a reader sees the text: ``forged_at``) made
    inert by a zero-width space after its first visible character (see the module doc).

    ``control_tokens`` is a list of exact strings (an HF tokenizer's special and added
    tokens) or a pattern (``COMMON_CONTROL_TOKENS``). Pure and idempotent.
    """
    tokens = control_tokens if isinstance(control_tokens, re.Pattern) else control_token_pattern(control_tokens)
    if tokens is not None:
        text = tokens.sub(_inert, text)
    for pattern in patterns:
        text = pattern.sub(_inert, text)
    for pattern in sections:
        text = inert_at(text, forged_at(pattern, text))
    return text


def tokenizer_control_tokens(tokenizer: object) -> tuple[str, ...]:
    """Every string that structures an HF tokenizer's prompts: its special and added tokens
    (they tokenize as control tokens when spelled in the rendered prompt) and the plain-text
    turn delimiters of its chat template (``template_delimiters``: Llama 2's ``[INST]``)."""
    return tuple(sorted({*_special_tokens(tokenizer), *template_delimiters(tokenizer)}))


def _special_tokens(tokenizer: object) -> set[str]:
    found: set[str] = set(getattr(tokenizer, "all_special_tokens", None) or ())
    decoder = getattr(tokenizer, "added_tokens_decoder", None) or {}
    for token in decoder.values():
        found.add(str(getattr(token, "content", token)))
    return {t for t in found if len(t) > 1 and not t.isspace()}


_ADJACENT = re.compile(r"(?<=[>\]])(?=[<\[])")  # between a closing and an opening bracket
_PROBES = ("zqxprobesystem", "zqxprobeuser1", "zqxprobeassistant1", "zqxprobeuser2")


def template_delimiters(tokenizer: object) -> tuple[str, ...]:
    """The plain-text delimiters a chat template writes around the turns' contents.

    A probe conversation (system, user, assistant, user; the generation prompt) is
    rendered with markers as contents; what the template wrote between them, without the
    special tokens and split at whitespace, is kept where it has a character that is not
    a letter or digit (``[INST]``, ``<<SYS>>``, ``### Response:``'s pieces): words alone
    (``user`` after ``<|im_start|>``) are not delimiters. Without the system turn where the
    template refuses one; ``()`` where it renders neither (or there is none).
    """
    render = getattr(tokenizer, "apply_chat_template", None)
    if render is None or not getattr(tokenizer, "chat_template", None):
        return ()
    system, user1, assistant1, user2 = _PROBES
    turns = [{"role": "user", "content": user1}, {"role": "assistant", "content": assistant1},
             {"role": "user", "content": user2}]  # fmt: skip
    for messages in ([{"role": "system", "content": system}, *turns], turns):
        try:
            text = render(messages, tokenize=False, add_generation_prompt=True)
        except Exception:  # noqa: BLE001 - a template may raise anything (raise_exception, a role it refuses)
            continue
        if isinstance(text, str) and all(probe in text for probe in _PROBES[1:]):
            break
    else:
        return ()
    specials = sorted(_special_tokens(tokenizer), key=len, reverse=True)
    found: set[str] = set()
    for between in re.split("|".join(_PROBES), text):
        for special in specials:
            between = between.replace(special, " ")
        for word in between.split():  # "</s><s>[INST]": "</s>", "<s>", "[INST]"
            found.update(part for part in _ADJACENT.split(word) if len(part) > 1 and not part.isalnum())
    return tuple(sorted(found))
