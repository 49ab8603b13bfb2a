"""The constraint types: what each one asks, how code checks it, how a judge can explain it.

Each type is a ``ConstraintType``; a ``Constraint`` is one type with its parameters, e.g.
``Constraint.of("include_word", word="purple")``. The rules behind every check are defined
in ``tasks.constraints.text``; on top of them, a response with no letter or digit
(empty, whitespace, only punctuation or emoji) satisfies no constraint at all.

| type            | asks                                   | satisfied when                                  |
|-----------------|----------------------------------------|-------------------------------------------------|
| lowercase       | only lowercase letters                 | no capital letter, at least one lowercase one   |
| capitals        | only capital letters                   | no lowercase letter, at least one capital one   |
| max_words       | at most n words                        | word count <= n                                 |
| min_words       | at least n words                       | word count >= n                                 |
| sentences       | exactly n sentences                    | sentence count == n                             |
| include_word    | include the word w                     | w occurs (whole word, any case)                 |
| avoid_word      | do not use the word w                  | w does not occur                                |
| start_with      | start with the phrase p                | the response begins with p (case-sensitive)     |
| end_with        | end with the phrase p                  | the response ends with p (case-sensitive)       |
| no_commas       | no commas                              | no comma character                              |
| end_question    | end with a question                    | the last character is "?"                       |
| end_exclamation | end with an exclamation mark           | the last character is "!"                       |
| quoted          | wrap the answer in double quotes       | opens with " or “ and closes with " or ”        |
| include_number  | include a number written in digits     | at least one digit                              |
| no_digits       | no digits                              | no digit                                        |
| bullets         | exactly n markdown bullet points       | bullet count == n (other lines allowed)         |
| lines           | exactly n lines                        | non-blank line count == n                       |
| json_key        | a JSON object with the key k           | the whole answer is a JSON object holding k     |
| title           | a title in <<double angular brackets>> | some <<...>> with a letter or digit             |

``TRAIN_TYPES`` are used to train judges and policies; ``HELD_OUT_TYPES`` never are: each
mirrors a trained one (capitals / lowercase, min / max words, avoid / include a word,
end / start with a phrase, "!" / "?", no digits / a number, lines / bullets), so a judge
can verify it by generalising. Which pairs no text can satisfy together is ``conflicts``' job.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from . import text as T

INCLUDE_WORDS = ("purple", "morning", "friend", "simple", "quiet", "weekend", "happy", "little", "family", "window")
AVOID_WORDS = ("very", "really", "great", "enjoy", "love", "important", "best", "always", "good", "fun")
START_PHRASES = ("Indeed", "Sure", "Yes", "Well", "Honestly", "In short", "Of course", "Fun fact:")
END_PHRASES = ("Thank you.", "That is all.", "Have a nice day.", "Enjoy!", "Cheers!", "Any questions?")
JSON_KEYS = ("tip", "answer", "fact", "summary")

Explainer = Callable[[str, Mapping[str, Any]], tuple[str, str | None]]


def _plural(k: int, noun: str) -> str:
    return f"{k} {noun}" if k == 1 else f"{k} {noun}s"


@dataclass(frozen=True)
class ConstraintType:
    """A kind of constraint, its parameter grid, and its exact check.

    Attributes:
        name: the type's name (the ``type`` key of a serialized constraint).
        render: params -> the sentence appended to a request ("Include the word 'purple'.").
        choices: the parameter sets requests are drawn from (``({},)`` for none).
        checker: (cleaned text, params) -> satisfied; called only on text with a letter or digit.
        explainer: (cleaned text, params) -> (what is checked, evidence or None), e.g.
            ("has 11 words, at most 8", None) or ("starts with 'Indeed'", "it starts with 'The'").
        scorer: (cleaned text, params) -> partial credit in [0, 1], 1.0 exactly when
            satisfied; None for all-or-nothing types.
        requests: which requests it is asked with: ``"sentence"`` (any short request, "Write
            one sentence about ..." included), ``"open"`` (not "one sentence") or ``"list"``.
        combinable: whether it may be the second constraint of a prompt (shape types such
            as bullets or JSON are only asked alone).
    """

    name: str
    render: Callable[[Mapping[str, Any]], str]
    choices: tuple[Mapping[str, Any], ...]
    checker: Callable[[str, Mapping[str, Any]], bool]
    explainer: Explainer
    scorer: Callable[[str, Mapping[str, Any]], float] | None = None
    requests: Literal["sentence", "open", "list"] = "sentence"
    combinable: bool = True

    def instruction(self, params: Mapping[str, Any]) -> str:
        return self.render(params)

    def sample(self, rng: random.Random, topic: str = "") -> dict[str, Any]:
        """A parameter set, avoiding words and phrases that occur in ``topic``."""
        fits = [p for p in self.choices if not any(isinstance(v, str) and T.occurrences(topic, v) for v in p.values())]
        return dict(rng.choice(fits or list(self.choices)))

    def check(self, text: Any, params: Mapping[str, Any]) -> bool:
        """Whether ``text`` satisfies the constraint. Never raises."""
        body = T.clean(text)
        return T.has_alnum(body) and bool(self.checker(body, params))

    def credit(self, text: Any, params: Mapping[str, Any]) -> float:
        """Partial credit in [0, 1]; 1.0 exactly when ``check`` holds. Never raises."""
        body = T.clean(text)
        if not T.has_alnum(body):
            return 0.0
        if self.scorer is None:
            return float(self.checker(body, params))
        return 1.0 if self.checker(body, params) else min(1.0, max(0.0, float(self.scorer(body, params))))

    def fact(self, text: Any, params: Mapping[str, Any]) -> str:
        """What is checked, without the answer: "starts with 'Indeed'", "has 11 words, at most 8"."""
        return self.explainer(T.clean(text), params)[0]

    def describe(self, text: Any, params: Mapping[str, Any]) -> str:
        """One line a reader can verify: what is checked, ``yes``/``no`` (satisfied or
        not), and the evidence, e.g. "starts with 'Indeed': no (it starts with 'The')"."""
        body = T.clean(text)
        fact, evidence = self.explainer(body, params)
        if not T.has_alnum(body):
            evidence = "no words"
        line = f"{fact}: {'yes' if self.check(body, params) else 'no'}"
        return f"{line} ({evidence})" if evidence else line


@dataclass(frozen=True)
class Constraint:
    """One constraint: a type name and its parameters (sorted ``(key, value)`` pairs)."""

    name: str
    params: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def of(cls, name: str, **params: Any) -> Constraint:
        """Raises ValueError for an unknown type or parameters the type does not take."""
        if name not in TYPES:
            raise ValueError(f"constraint type {name!r} is unknown; expected one of {sorted(TYPES)}")
        want = set(TYPES[name].choices[0])
        if set(params) != want:
            raise ValueError(f"constraint {name!r} takes the parameters {sorted(want)}, got {sorted(params)}")
        return cls(name, tuple(sorted(params.items())))

    @classmethod
    def from_dict(cls, row: Mapping[str, Any]) -> Constraint:
        """From ``{"type": ..., "params": {...}}``; None-valued params (added by Arrow when
        rows of different types share a column) are dropped."""
        params = {k: v for k, v in (row.get("params") or {}).items() if v is not None}
        return cls.of(row["type"], **params)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.name, "params": dict(self.params)}

    @property
    def kind(self) -> ConstraintType:
        return TYPES[self.name]

    @property
    def kwargs(self) -> dict[str, Any]:
        return dict(self.params)

    def instruction(self) -> str:
        return self.kind.instruction(self.kwargs)

    def check(self, text: Any) -> bool:
        return self.kind.check(text, self.kwargs)

    def credit(self, text: Any) -> float:
        return self.kind.credit(text, self.kwargs)

    def describe(self, text: Any) -> str:
        return self.kind.describe(text, self.kwargs)

    def describe_fact(self, text: Any) -> str:
        return self.kind.fact(text, self.kwargs)


# ------------------------------------------------------------------ the types


def _ratio(k: int, n: int) -> float:
    return min(k, n) / max(k, n) if k > 0 else 0.0


def _first_word(body: str, test: Callable[[str], bool]) -> str | None:
    return next((w for w in T.words(body) if any(test(c) for c in w)), None)


def _case(capitals: bool) -> tuple[Callable, Explainer, Callable]:
    fact = "is all capitals" if capitals else "is all lowercase"

    def check(body: str, _: Mapping) -> bool:
        upper, lower = T.case_counts(body)
        return (upper > 0 and lower == 0) if capitals else (lower > 0 and upper == 0)

    def explain(body: str, _: Mapping) -> tuple[str, str | None]:
        if check(body, _):
            return fact, None
        bad = _first_word(body, str.islower if capitals else lambda c: c.isupper() or c.istitle())
        return fact, f"{'lowercase' if capitals else 'capital'} in '{T.snip(bad)}'" if bad else "no cased letters"

    def score(body: str, _: Mapping) -> float:
        upper, lower = T.case_counts(body)
        return (upper if capitals else lower) / max(1, upper + lower)

    return check, explain, score


def _count(measure: Callable[[str], int], noun: str, relation: str) -> tuple[Callable, Explainer, Callable]:
    def check(body: str, p: Mapping) -> bool:
        k, n = measure(body), p["n"]
        return k <= n if relation == "at most" else k >= n if relation == "at least" else k == n

    def explain(body: str, p: Mapping) -> tuple[str, str | None]:
        return f"has {_plural(measure(body), noun)}, {relation} {p['n']}", None

    def score(body: str, p: Mapping) -> float:
        k, n = measure(body), p["n"]
        if relation == "at most":
            return n / k if k else 0.0
        return min(1.0, k / n) if relation == "at least" else _ratio(k, n)

    return check, explain, score


def _last_words(body: str, k: int, at_end: bool) -> str:
    ws = T.words(T.tail(body) if at_end else T.head(body))
    return " ".join(ws[-k:] if at_end else ws[:k])


def _explain_start(body: str, p: Mapping) -> tuple[str, str | None]:
    if T.starts_with(body, p["phrase"]):
        return f"starts with '{p['phrase']}'", None
    return f"starts with '{p['phrase']}'", f"it starts with '{T.snip(_last_words(body, len(p['phrase'].split()), False))}'"


def _explain_end(body: str, p: Mapping) -> tuple[str, str | None]:
    if T.ends_with(body, p["phrase"]):
        return f"ends with '{p['phrase']}'", None
    return f"ends with '{p['phrase']}'", f"it ends with '{T.snip(_last_words(body, len(p['phrase'].split()), True))}'"


def _ending(mark: str) -> tuple[Callable, Explainer]:
    def check(body: str, _: Mapping) -> bool:
        return T.last_char(body) in (mark, {"?": "？", "!": "！"}[mark])

    def explain(body: str, _: Mapping) -> tuple[str, str | None]:
        last = _last_words(body, 1, True)
        return f"ends with '{mark}'", None if check(body, _) else f"it ends with '{T.snip(last)}'"

    return check, explain


def _explain_commas(body: str, _: Mapping) -> tuple[str, str | None]:
    if not T.commas(body):
        return "is comma-free", None
    before = T.words(body[: min(body.find(c) for c in ",，、،" if c in body)])
    return "is comma-free", f"comma after '{T.snip(before[-1])}'" if before else "a comma"


def _explain_quoted(body: str, _: Mapping) -> tuple[str, str | None]:
    if T.quoted(body):
        return "is wrapped in double quotes", None
    opens, closes = body[:1] in ("\"", "“"), body[-1:] in ("\"", "”")
    return "is wrapped in double quotes", "no closing quote" if opens else "no opening quote" if closes else "no quotes"


def _explain_avoid(body: str, p: Mapping) -> tuple[str, str | None]:
    k = T.occurrences(body, p["word"])
    return f"avoids the word '{p['word']}'", f"it appears {_plural(k, 'time')}" if k else None


def _digit_evidence(fact: str) -> Explainer:
    def explain(body: str, _: Mapping) -> tuple[str, str | None]:
        found = T.digits(body)
        return fact, f"'{found[0]}'" if found else None

    return explain


def _explain_json(body: str, p: Mapping) -> tuple[str, str | None]:
    fact = f"is a JSON object with key '{p['key']}'"
    value = T.json_object(body)
    if value is None:
        return fact, "not valid JSON"
    return fact, None if p["key"] in value else "no such key"


_lower, _capitals = _case(False), _case(True)
_max_words = _count(lambda b: len(T.words(b)), "word", "at most")
_min_words = _count(lambda b: len(T.words(b)), "word", "at least")
_sentences = _count(T.sentences, "sentence", "exactly")
_bullets = _count(lambda b: len(T.bullets(b)), "bullet", "exactly")
_lines = _count(lambda b: len(T.lines(b)), "line", "exactly")
_question, _exclamation = _ending("?"), _ending("!")


def _words(values: tuple[Any, ...], key: str) -> tuple[Mapping[str, Any], ...]:
    return tuple({key: v} for v in values)


_ALL = (
    ConstraintType("lowercase", lambda p: "Write only in lowercase letters, with no capital letters.", ({},), *_lower),
    ConstraintType("capitals", lambda p: "Write only in capital letters.", ({},), *_capitals),
    ConstraintType("max_words", lambda p: f"Use at most {p['n']} words.", _words((8, 10, 12), "n"), *_max_words),
    ConstraintType("min_words", lambda p: f"Use at least {p['n']} words.", _words((12, 15, 20), "n"), *_min_words),
    ConstraintType(
        "sentences", lambda p: f"Answer in exactly {('one', 'two', 'three')[p['n'] - 1]} sentence{'s' * (p['n'] > 1)}.",
        ({"n": 1}, {"n": 2}), *_sentences, requests="open", combinable=False,
    ),
    ConstraintType(
        "include_word", lambda p: f"Include the word '{p['word']}'.", _words(INCLUDE_WORDS, "word"),
        lambda b, p: T.occurrences(b, p["word"]) > 0, lambda b, p: (f"uses the word '{p['word']}'", None),
    ),
    ConstraintType(
        "avoid_word", lambda p: f"Do not use the word '{p['word']}'.", _words(AVOID_WORDS, "word"),
        lambda b, p: T.occurrences(b, p["word"]) == 0, _explain_avoid,
    ),
    ConstraintType(
        "start_with", lambda p: f"Start your answer with '{p['phrase']}'.", _words(START_PHRASES, "phrase"),
        lambda b, p: T.starts_with(b, p["phrase"]), _explain_start,
    ),
    ConstraintType(
        "end_with", lambda p: f"End your answer with '{p['phrase']}'.", _words(END_PHRASES, "phrase"),
        lambda b, p: T.ends_with(b, p["phrase"]), _explain_end,
    ),
    ConstraintType(
        "no_commas", lambda p: "Do not use any commas.", ({},), lambda b, p: T.commas(b) == 0, _explain_commas
    ),
    ConstraintType("end_question", lambda p: "End your answer with a question.", ({},), *_question),
    ConstraintType("end_exclamation", lambda p: "End your answer with an exclamation mark.", ({},), *_exclamation),
    ConstraintType(
        "quoted", lambda p: "Wrap your whole answer in double quotation marks.", ({},),
        lambda b, p: T.quoted(b), _explain_quoted,
    ),
    ConstraintType(
        "include_number", lambda p: "Include at least one number written in digits.", ({},),
        lambda b, p: bool(T.digits(b)), _digit_evidence("has a digit"),
    ),
    ConstraintType(
        "no_digits", lambda p: "Do not use any digits.", ({},),
        lambda b, p: not T.digits(b), _digit_evidence("is digit-free"),
    ),
    ConstraintType(
        "bullets", lambda p: f"Answer with exactly {p['n']} markdown bullet points, each starting with '- '.",
        ({"n": 2}, {"n": 3}), *_bullets, requests="list", combinable=False,
    ),
    ConstraintType(
        "lines", lambda p: f"Write exactly {p['n']} lines, with a line break after each.",
        ({"n": 2}, {"n": 3}), *_lines, requests="list", combinable=False,
    ),
    ConstraintType(
        "json_key", lambda p: f'Answer only with a JSON object that has the key "{p["key"]}".', _words(JSON_KEYS, "key"),
        lambda b, p: p["key"] in (T.json_object(b) or {}), _explain_json, requests="open", combinable=False,
    ),
    ConstraintType(
        "title", lambda p: "Give your answer a title wrapped in double angular brackets, such as <<title>>.", ({},),
        lambda b, p: bool(T.titles(b)), lambda b, p: ("has a <<title>>", None), requests="open", combinable=False,
    ),
)
TYPES: dict[str, ConstraintType] = {t.name: t for t in _ALL}

TRAIN_TYPES = (
    "lowercase", "max_words", "sentences", "include_word", "start_with", "no_commas",
    "end_question", "quoted", "include_number", "bullets", "json_key", "title",
)  # fmt: skip
HELD_OUT_TYPES = ("capitals", "min_words", "avoid_word", "end_with", "end_exclamation", "no_digits", "lines")
