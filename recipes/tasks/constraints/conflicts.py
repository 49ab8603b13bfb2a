"""Which constraints cannot be asked together: pairs that no text satisfies.

A prompt gets a second constraint only when ``combinable`` holds: both types are
combinable (shape types such as bullets or JSON are only asked alone) and ``conflict``
finds no reason why one text could not satisfy both. The tests check both directions: no
candidate text satisfies a conflicting pair, and code can write a text for every other pair.
"""

from __future__ import annotations

from . import text as T
from .catalog import Constraint


def conflict(a: Constraint, b: Constraint) -> str | None:
    """Why no text can satisfy both ``a`` and ``b``, or None when some text can.

    Covers the combinable types (the shape types are never combined): opposite cases; a
    case rule against a start/end phrase holding the other case; a number against no
    digits; "?" against "!" or a phrase with another final mark; a word both required and
    forbidden, or forbidden but part of a required phrase; fewer maximum words than
    minimum words or than a required phrase has; a required phrase with a comma or digit
    against no commas or no digits.
    """
    if a.name == b.name:
        return "the same type twice"
    pa, pb = a.kwargs, b.kwargs
    for (x, px), (y, py) in (((a, pa), (b, pb)), ((b, pb), (a, pa))):
        pair = (x.name, y.name)
        phrase = py.get("phrase", "") if y.name in ("start_with", "end_with") else ""
        upper, lower = T.case_counts(phrase)
        if pair == ("lowercase", "capitals"):
            return "every letter would have to be both capital and lowercase"
        if phrase and x.name == "lowercase" and upper:
            return f"the phrase {phrase!r} has a capital letter"
        if phrase and x.name == "capitals" and lower:
            return f"the phrase {phrase!r} has lowercase letters"
        if pair == ("include_number", "no_digits"):
            return "a digit would have to be both present and absent"
        if pair == ("end_question", "end_exclamation"):
            return "the last character cannot be both '?' and '!'"
        mark = {"end_question": "?", "end_exclamation": "!"}.get(x.name)
        if mark and y.name == "end_with" and T.last_char(phrase) != mark:
            return f"the phrase {phrase!r} does not end with {mark!r}"
        if pair == ("include_word", "avoid_word") and T.occurrences(px["word"], py["word"]):
            return f"the word {px['word']!r} is both required and forbidden"
        if x.name == "avoid_word" and phrase and T.occurrences(phrase, px["word"]):
            return f"the required phrase {phrase!r} holds the forbidden word {px['word']!r}"
        if pair == ("max_words", "min_words") and px["n"] < py["n"]:
            return f"at most {px['n']} words and at least {py['n']}"
        if x.name == "max_words" and phrase and len(T.words(phrase)) > px["n"]:
            return f"the phrase {phrase!r} alone has more than {px['n']} words"
        if phrase and ((x.name == "no_commas" and T.commas(phrase)) or (x.name == "no_digits" and T.digits(phrase))):
            return f"the phrase {phrase!r} breaks {x.name}"
    return None


def combinable(a: Constraint, b: Constraint) -> bool:
    """Whether ``a`` and ``b`` may be asked together: both combinable types, no conflict."""
    return a.kind.combinable and b.kind.combinable and conflict(a, b) is None
