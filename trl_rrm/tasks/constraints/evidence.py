"""What a judge should look at before it decides: evidence copied from a response.

A judge that writes "ends with '?': no" has to decide in one token; a judge that first
copies what the response ends with ("ends: 'from photography.'") decides from text it
has just written, next to the rule. Every constraint type has one *view* of a response:
what its check reads, quoted or counted, never the yes/no itself. Types that mirror each
other (lowercase / capitals, at most / at least n words, include / avoid a word, start /
end with a phrase, "?" / "!", a number / no digits, bullets / lines) share the kind of
view, so a judge that learned the trained types has seen the view of a held-out one.

    evidence(Constraint.of("end_question"), "I like tea. Do you?")   # "ends: 'Do you?'"
    evidence(Constraint.of("max_words", n=8), "I like tea.")          # "words: I(1) like(2) tea.(3)"

Quotes go through ``text.snip`` (no brackets, braces or backslashes: nothing a verdict
parser could read).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from . import text as T
from .catalog import Constraint

View = Callable[[str, Mapping[str, Any]], str]


def _q(text: str, limit: int = 24) -> str:
    return f"'{T.snip(text, limit)}'"


def _numbered(items: list[str], limit: int = 40) -> str:
    if not items:
        return "none (0)"
    shown = [f"{T.snip(item, 16)}({i + 1})" for i, item in enumerate(items[:limit])]
    return " ".join(shown) + (f" ... ({len(items)})" if len(items) > limit else "")


def _first(items: list[str], k: int = 2) -> str:
    return ", ".join(_q(i, 16) for i in items[:k]) if items else "none"


def _cased(upper: bool) -> View:
    def view(body: str, _: Mapping) -> str:
        found = [w for w in T.words(body) if any((c.isupper() or c.istitle()) if upper else c.islower() for c in w)]
        return f"{'capital' if upper else 'lowercase'} letters in: {_first(found)}"

    return view


def _word_count(body: str, _: Mapping) -> str:
    return f"words: {_numbered(T.words(body))}"


def _sentence_ends(body: str, _: Mapping) -> str:
    return f"sentences end: {_numbered([' '.join(piece.split()[-2:]) for piece in T.sentence_pieces(body)])}"


def _finds(body: str, p: Mapping) -> str:
    word = p["word"]
    hits = [m.start() for m in re.finditer(T.word_pattern(word), body.casefold())]
    if not hits:
        return f"'{word}' found: none"
    words_before = body[: hits[0]].split()[-2:]
    context = " ".join([*words_before, body[hits[0] : hits[0] + len(word)]])
    return f"'{word}' found: {_q(context)}"


def _starts(body: str, p: Mapping) -> str:
    return f"starts: {_q(' '.join(T.head(body).split()[: len(p['phrase'].split()) + 1]), 40)}"


def _ends(k: int | None) -> View:
    def view(body: str, p: Mapping) -> str:
        n = k if k is not None else len(p["phrase"].split()) + 1
        return f"ends: {_q(' '.join(T.tail(body).split()[-n:]), 40)}"

    return view


def _commas(body: str, _: Mapping) -> str:
    at = [i for i, c in enumerate(body) if c in ",，、،"]
    if not at:
        return "commas: none"
    before = body[: at[0]].split()
    return f"commas: after {_q(before[-1] if before else '')}"


def _char(c: str) -> str:
    return "a bracket" if c in "\\[]{}<>" else repr(c)


def _quotes(body: str, _: Mapping) -> str:
    return f"first and last characters: {_char(body[:1])} {_char(body[-1:])}"


def _digits(body: str, _: Mapping) -> str:
    found = [w for w in T.words(body) if any(c.isdecimal() for c in w)]
    return f"digits in: {_first(found)}"


def _list_lines(bullets: bool) -> View:
    def view(body: str, _: Mapping) -> str:
        items = T.bullets(body) if bullets else T.lines(body)
        return f"{'bullet points' if bullets else 'lines'}: {_numbered([' '.join(i.split()[:2]) for i in items])}"

    return view


def _json(body: str, _: Mapping) -> str:
    value = T.json_object(body)
    if value is None:
        return f"JSON object: no (starts {_q(body[:12])})"
    return "JSON object: yes, keys " + (", ".join(_q(str(k), 16) for k in list(value)[:3]) or "none")


def _title(body: str, _: Mapping) -> str:
    found = T.titles(body)
    return f"<<title>>: {_q(found[0])}" if found else f"<<title>>: none (starts {_q(body[:16])})"


VIEWS: dict[str, View] = {
    "lowercase": _cased(True),
    "capitals": _cased(False),
    "max_words": _word_count,
    "min_words": _word_count,
    "sentences": _sentence_ends,
    "include_word": _finds,
    "avoid_word": _finds,
    "start_with": _starts,
    "end_with": _ends(None),
    "end_question": _ends(2),
    "end_exclamation": _ends(2),
    "no_commas": _commas,
    "quoted": _quotes,
    "include_number": _digits,
    "no_digits": _digits,
    "bullets": _list_lines(True),
    "lines": _list_lines(False),
    "json_key": _json,
    "title": _title,
}


def evidence(constraint: Constraint, response: Any) -> str:
    """What ``constraint``'s check reads in ``response``, quoted or counted (no verdict)."""
    body = T.clean(response)
    if not T.has_alnum(body):
        return "no words"
    return VIEWS[constraint.name](body, constraint.kwargs)
