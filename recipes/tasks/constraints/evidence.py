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


# ---- walks (``judge_trace(..., walk=True)``, an experiment): the check made while copying
#
# A view such as "commas: after 'tea'" asks the judge to search the response for what it
# counts; the 135M judge's views were wrong where it searched (run 2: right 0.76 of the
# time teacher-forced) although its copies were right 118 times in 120. A *walk* moves the
# check into the copy: the response is copied word by word and every word the check
# counts is followed by its running count ("Most(capital 1) people like tea,(comma 1)"),
# a decision about the word just written. The evidence is then the last count
# ("capital letters: 1"), and the yes/no follows from it.

Mark = Callable[[str, bool, Mapping[str, Any]], int]  # how many times a word counts (word, ends a sentence, params)
WALK_LIMIT = 60  # words copied; the count covers the whole response
MARK = re.compile(r"(?<=\S)\((?:[a-z]+ )?\d+\)")  # a mark as walked_copy writes it, on its word: "(comma 2)", "(7)"


def _has(test: Callable[[str], bool]) -> Mark:
    return lambda word, _, __: int(any(test(c) for c in word))


def _found(word: str, _: bool, p: Mapping[str, Any]) -> int:
    return T.occurrences(word, p["word"])


def _counted(word: str, _: bool, __: Mapping[str, Any]) -> int:
    return int(T.has_alnum(word))


# type -> (the mark's tag, "" for a plain count; the evidence's noun; what a word counts)
WALKS: dict[str, tuple[str, str, Mark]] = {
    "lowercase": ("capital", "capital letters", _has(lambda c: c.isupper() or c.istitle())),
    "capitals": ("lowercase", "lowercase letters", _has(str.islower)),
    "no_commas": ("comma", "commas", lambda word, _, __: T.commas(word)),
    "include_number": ("digit", "digits", lambda word, _, __: int(bool(T.digits(word)))),
    "no_digits": ("digit", "digits", lambda word, _, __: int(bool(T.digits(word)))),
    "include_word": ("found", "found", _found),
    "avoid_word": ("found", "found", _found),
    "max_words": ("", "words", _counted),
    "min_words": ("", "words", _counted),
    "sentences": ("end", "sentences", lambda _, ends, __: int(ends)),
}


def _tokens(body: str, sentences: bool) -> list[tuple[str, bool]]:
    """The whitespace-separated tokens of ``body``, each with whether it ends a sentence
    (``T.sentence_pieces``'s rule: an end mark, a line break, or the end)."""
    if not sentences:
        return [(t, False) for t in body.split()]
    out = []
    for piece in T.sentence_pieces(body):
        tokens = piece.split()
        out += [(t, i == len(tokens) - 1) for i, t in enumerate(tokens)]
    return out


def _evidence_noun(constraint: Constraint) -> str:
    noun = WALKS[constraint.name][1]
    return f"'{constraint.kwargs['word']}' {noun}" if noun == "found" else noun


def walked_copy(
    constraints: list[Constraint], response: Any, limit: int = WALK_LIMIT
) -> tuple[str, dict[str, int]] | None:
    """``response``'s first ``limit`` words copied with the marks of each walked
    constraint, and each one's total count (over the whole response, also past them);
    None when no constraint is walked or the marks disagree with the checker's count (a
    word the checker counts across tokens)."""
    walked = [c for c in constraints if c.name in WALKS]
    body = T.clean(response)
    if not walked or not T.has_alnum(body):
        return None
    tokens = _tokens(body, any(c.name == "sentences" for c in walked))
    counts = {_evidence_noun(c): 0 for c in walked}
    shown = []
    for i, (token, ends) in enumerate(tokens):
        marks = []
        for c in walked:
            tag, _, mark = WALKS[c.name]
            noun = _evidence_noun(c)
            for _ in range(mark(token, ends, c.kwargs)):
                counts[noun] += 1
                marks.append(f"({tag} {counts[noun]})" if tag else f"({counts[noun]})")
        if i < limit:
            shown.append(T.snip(token, 40) + "".join(marks))
    if counts != {_evidence_noun(c): _truth(c, body) for c in walked}:
        return None
    return " ".join(w for w in shown if w) + (" ..." if len(tokens) > limit else ""), counts


def _truth(constraint: Constraint, body: str) -> int:
    """What the checker counts for a walked ``constraint``, from the text as a whole."""
    name, p = constraint.name, constraint.kwargs
    if name == "sentences":
        return T.sentences(body)
    if name in ("include_word", "avoid_word"):
        return T.occurrences(body, p["word"])
    if name in ("max_words", "min_words"):
        return len(T.words(body))
    return sum(WALKS[name][2](token, False, p) for token in body.split())


def evidence(constraint: Constraint, response: Any, walk: bool = False) -> str:
    """What ``constraint``'s check reads in ``response``, quoted or counted (no verdict);
    with ``walk``, for a walked type, the count its walk ends on ("commas: 2")."""
    body = T.clean(response)
    if not T.has_alnum(body):
        return "no words"
    found = walked_copy([constraint], body) if walk else None
    if found is not None:
        return f"{_evidence_noun(constraint)}: {found[1][_evidence_noun(constraint)]}"
    return VIEWS[constraint.name](body, constraint.kwargs)
