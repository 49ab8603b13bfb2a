"""What the constraint checkers measure in a response, defined once and exactly.

Every function takes any value and never raises: a non-string counts as the empty text.
Text is NFC-normalised and stripped of surrounding whitespace first (``clean``), so an
"É" typed as "E" plus a combining accent is one letter and trailing spaces or newlines
never matter.

- A *word* is a whitespace-separated token holding at least one letter or digit, so
  "don't", "well-known" and "3.5" are one word each, and "-", "—" or an emoji alone are none.
- A word *occurs* when it appears case-insensitively (Unicode case folding) with no letter
  or digit right before or after it: "purple" occurs in "Purple!" and "purple-blue", not
  in "purplish" or "purples".
- A *sentence* ends at a run of ``. ! ? … 。 ！ ？`` (optionally followed by closing quotes
  or brackets) that is followed by whitespace or the end of a line; a line break also ends
  one. Pieces without a letter or digit do not count. So "3.5 cups." is one sentence,
  "Hi! How are you?" two, and an abbreviation such as "Dr. Lee" ends a sentence.
- A *line* is a line holding a non-whitespace character (blank lines are skipped).
- A *bullet point* is a line whose first non-space character is ``-``, ``*`` or ``•``,
  followed by whitespace and then text holding a letter or digit ("**bold**", "---" and
  "1." are not bullets).
- The *start* and *end* of a response skip markdown emphasis (``*``, ``_``, backticks),
  quotation marks and brackets (and, at the start, ``#`` and ``>``), so '"Indeed, yes."'
  starts with "Indeed" and ends with "." and "**Why?**" ends with "?"; an emoji is a
  character like any other.
- Letters are *capital* when ``str.isupper()`` or ``str.istitle()`` holds and *lowercase*
  when ``str.islower()`` holds; digits, punctuation and uncased scripts are neither.
- A *digit* is a Unicode decimal digit (``str.isdecimal()``): "3" and "٣", not "three".
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

_COMMAS = ",，、،"
_OPENERS = "\"'“‘«([*_`#> \t\r\n\u00a0"
_CLOSERS = "\"'”’»)]*_` \t\r\n\u00a0"
_SENTENCE_END = re.compile(r"[.!?…。！？]+[\"'”’»)\]]*(?=\s|$)")
_BULLET = re.compile(r"^\s*[-*•]\s+(.*)$")
_TITLE = re.compile(r"<<([^<>\n]+)>>")
_FENCE = re.compile(r"^```[\w-]*[ \t]*\n(.*?)\n?[ \t]*```$", re.S)


def clean(text: Any) -> str:
    """``text`` NFC-normalised without surrounding whitespace; "" for a non-string."""
    if not isinstance(text, str):
        return ""
    return unicodedata.normalize("NFC", text).strip()


def has_alnum(text: str) -> bool:
    return any(c.isalnum() for c in text)


def words(text: Any) -> list[str]:
    """The words of ``text`` in order (whitespace-separated tokens with a letter or digit)."""
    return [t for t in clean(text).split() if has_alnum(t)]


def word_pattern(word: str) -> str:
    """The regex of ``word`` as a whole word, for casefolded text (see ``occurrences``)."""
    return r"(?<![^\W_])" + re.escape(clean(word).casefold()) + r"(?![^\W_])"


def occurrences(text: Any, word: str) -> int:
    """How many times ``word`` occurs in ``text`` as a whole word, ignoring case."""
    return len(re.findall(word_pattern(word), clean(text).casefold()))


def sentence_pieces(text: Any) -> list[str]:
    """The sentences of ``text`` in order, each with its end mark (see the module docstring)."""
    pieces = []
    for line in clean(text).splitlines():
        start = 0
        for match in _SENTENCE_END.finditer(line):
            pieces.append(line[start : match.end()])
            start = match.end()
        pieces.append(line[start:])
    return [piece for piece in pieces if has_alnum(piece)]


def sentences(text: Any) -> int:
    """The number of sentences in ``text`` (see the module docstring)."""
    return len(sentence_pieces(text))


def lines(text: Any) -> list[str]:
    """The non-blank lines of ``text``."""
    return [line for line in clean(text).splitlines() if line.strip()]


def bullets(text: Any) -> list[str]:
    """The text of each bullet point of ``text``, in order."""
    found = []
    for line in clean(text).splitlines():
        match = _BULLET.match(line)
        if match and has_alnum(match.group(1)):
            found.append(match.group(1).strip())
    return found


def head(text: Any) -> str:
    """``text`` from its first character that is not markup, a quote or a bracket."""
    return clean(text).lstrip(_OPENERS)


def tail(text: Any) -> str:
    """``text`` up to its last character that is not markup, a quote or a bracket."""
    return clean(text).rstrip(_CLOSERS)


def starts_with(text: Any, phrase: str) -> bool:
    """The response begins with ``phrase`` exactly (case-sensitive), as a whole word."""
    start = head(text)
    if not phrase or not start.startswith(phrase):
        return False
    glued = len(start) > len(phrase) and phrase[-1].isalnum() and start[len(phrase)].isalnum()
    return not glued


def ends_with(text: Any, phrase: str) -> bool:
    """The response ends with ``phrase`` exactly (case-sensitive), as a whole word."""
    end = tail(text)
    if not phrase or not end.endswith(phrase):
        return False
    glued = len(end) > len(phrase) and phrase[0].isalnum() and end[-len(phrase) - 1].isalnum()
    return not glued


def last_char(text: Any) -> str:
    """The final character of the response after trailing markup and quotes ("" if none)."""
    end = tail(text)
    return end[-1] if end else ""


def commas(text: Any) -> int:
    """How many commas (ASCII, full-width, ideographic or Arabic) ``text`` holds."""
    return sum(clean(text).count(c) for c in _COMMAS)


def digits(text: Any) -> list[str]:
    """The decimal digits of ``text``, in order."""
    return [c for c in clean(text) if c.isdecimal()]


def case_counts(text: Any) -> tuple[int, int]:
    """(capital letters, lowercase letters) in ``text``."""
    body = clean(text)
    return sum(c.isupper() or c.istitle() for c in body), sum(c.islower() for c in body)


def quoted(text: Any) -> bool:
    """The response opens with ``"`` or ``“``, closes with ``"`` or ``”``, and holds a
    letter or digit in between."""
    body = clean(text)
    return len(body) >= 2 and body[0] in "\"“" and body[-1] in "\"”" and has_alnum(body[1:-1])


def json_object(text: Any) -> dict | None:
    """The JSON object the whole response is (optionally inside a markdown code fence),
    or None when it is not valid JSON or not an object."""
    body = clean(text)
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1).strip()
    try:
        value = json.loads(body)
    except Exception:  # ValueError, RecursionError: never raise
        return None
    return value if isinstance(value, dict) else None


def titles(text: Any) -> list[str]:
    """Every ``<<title>>`` in ``text`` that holds a letter or digit (on one line)."""
    return [t for t in _TITLE.findall(clean(text)) if has_alnum(t)]


def snip(text: str, limit: int = 20) -> str:
    """A short, single-line quote of ``text`` for an explanation, without characters a
    verdict parser could read (backslashes, brackets, braces, angle brackets)."""
    for c in "\\[]{}<>":
        text = text.replace(c, "")
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."
