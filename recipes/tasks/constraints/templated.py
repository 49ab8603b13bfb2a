"""Responses written by code for a constraint prompt: one that satisfies every constraint
and a near miss that breaks exactly one, without a model.

A response is built from a *plan* (sentences on the topic, an optional extra phrase, one
variant index per slot) drawn from a seeded RNG before anything depends on which
constraint is broken, so the satisfying and the violating response share the plan and
differ only where the broken constraint shows: "violet" for "purple", single quotes for
double ones, 9 words for at most 8, "Sure," for "Indeed,". Every result is verified by
the checkers; a prompt whose attempts all fail gets no pair (``respond`` returns None).
"""

from __future__ import annotations

import json
import random
import re
from typing import Any

from . import text as T
from .catalog import Constraint
from .prompts import ConstraintPrompt

# {topic} is never the grammatical subject, so any noun phrase or gerund fits.
CLAUSES = (
    "I like {topic}",
    "Think about {topic}",
    "Most people underestimate {topic}",
    "Patience pays off with {topic}",
    "Many people find {topic} relaxing",
    "You can learn a lot from {topic}",
    "There is something calming about {topic}",
    "Everyone has a favorite memory of {topic}",
    "A little planning makes {topic} much easier",
    "Being curious makes {topic} more interesting",
    "Small habits can make {topic} more rewarding",
    "It is easy to get started with {topic}",
    "Nobody regrets making time for {topic}",
    "Kids and adults alike can appreciate {topic}",
    "It pays to slow down and notice {topic}",
)
ITEMS = (
    "Start small.", "Take your time.", "Plan ahead.", "Ask someone for advice.", "Share it with others.",
    "Keep notes.", "Stay curious.", "Try something new each time.", "Notice the small details.",
    "Make it a habit.", "Read a little about {topic}.", "Talk to others about {topic}.",
)  # fmt: skip
EXTRAS = ("in the long run", "on a free afternoon", "every now and then", "if you plan ahead", "as the seasons change")
# word -> (a phrase using it, phrases that come close without using it)
INCLUDE_CARRIERS = {
    "purple": ("under a purple evening sky", ("under a violet evening sky", "under a purplish evening sky")),
    "morning": ("early in the morning", ("early in the day", "on sunny mornings")),
    "friend": ("with a good friend", ("with a good neighbor", "with friendly people")),
    "simple": ("if you keep it simple", ("if you keep it easy", "if you simplify it")),
    "quiet": ("on a quiet afternoon", ("on a calm afternoon", "in the quietest hours")),
    "weekend": ("over the weekend", ("over the holidays", "on weekends")),
    "happy": ("and it makes people happy", ("and it makes people glad", "and it brings happiness")),
    "little": ("with a little patience", ("with some patience", "with a bit of patience")),
    "family": ("with the whole family", ("with the whole household", "with familiar faces")),
    "window": ("from a sunny window", ("from a sunny porch", "from the windowsill")),
}
AVOID_CARRIERS = {
    "very": ("which is very relaxing", ("which is quite relaxing",)),
    "really": ("which really helps", ("which truly helps",)),
    "great": ("and that feels great", ("and that feels wonderful",)),
    "enjoy": ("for anyone who wants to enjoy life", ("for anyone who wants to savor life",)),
    "love": ("and many people love it", ("and many people adore it",)),
    "important": ("which is important", ("which matters",)),
    "best": ("at its best", ("at its finest",)),
    "always": ("and it always helps", ("and it usually helps",)),
    "good": ("which is good for you", ("which is healthy for you",)),
    "fun": ("and it is fun", ("and it is a joy",)),
}
NUMBERS = (
    ("for about 10 minutes a day", "for about ten minutes a day"),
    ("at least 2 times a week", "at least twice a week"),
    ("in 3 easy steps", "in three easy steps"),
    ("for 5 minutes at a time", "for five minutes at a time"),
    ("with 1 simple rule", "with one simple rule"),
)
OTHER_ENDINGS = {"Thank you.": "Thanks.", "That is all.": "That is it.", "Have a nice day.": "Have a great day.",
                 "Enjoy!": "Enjoy it!", "Cheers!": "Cheers to that!", "Any questions?": "Any thoughts?"}  # fmt: skip
OPENERS = ("Indeed", "Sure", "Yes", "Well", "Honestly", "In short", "Of course", "Fun fact:", "Actually", "Truly")

ATTEMPTS = 40


def _lower_first(s: str) -> str:
    return s if s.startswith(("I ", "I'")) else s[:1].lower() + s[1:]


def _pick(plan: dict[str, Any], slot: str, options: tuple | list) -> Any:
    return options[int(plan["u"][slot] * len(options)) % len(options)]


def _plan(rng: random.Random, prompt: ConstraintPrompt) -> dict[str, Any]:
    slots = ("k", "extra", "carrier", "near", "ending", "start", "sep", "case", "quote", "shape", "other", "broken")
    names = {c.name for c in prompt.constraints}
    k = (1, 2, 3) if "min_words" in names else (1, 1, 2) if "max_words" in names else (1, 1, 1, 2)
    return {
        "clauses": [c.format(topic=prompt.topic) for c in rng.sample(CLAUSES, 4)],
        "items": [i.format(topic=prompt.topic) for i in rng.sample(ITEMS, 5)],
        "k": rng.choice(k),
        "extra": rng.random() < 0.4,
        "u": {s: rng.random() for s in slots},
    }


def _sentences(plan: dict[str, Any], cons: dict[str, dict], violate: str | None) -> list[str]:
    k = plan["k"]
    if "sentences" in cons:
        n = cons["sentences"]["n"]
        k = n if violate != "sentences" else _pick(plan, "other", [m for m in (n - 1, n + 1) if m >= 1])
    parts = []
    for name, carriers in (("include_word", INCLUDE_CARRIERS), ("avoid_word", AVOID_CARRIERS)):
        if name in cons and cons[name]["word"] in carriers:
            uses, near = carriers[cons[name]["word"]]
            if (violate == name) == (name == "avoid_word"):
                parts.append(uses)
            elif name == "include_word" or plan["u"]["near"] < 0.5:  # an avoided word may leave no trace
                parts.append(_pick(plan, "near", near))
    for name in ("include_number", "no_digits"):
        if name in cons:
            pair = _pick(plan, "carrier", NUMBERS)
            parts.append(pair[0] if (violate == name) == (name == "no_digits") else pair[1])
    extra = plan["extra"] or violate == "no_commas"
    if violate == "max_words":  # a few words too many
        extra, k = (True, k) if not extra else (extra, k + 1)
    elif violate == "min_words":  # a few words too few
        extra, k = (False, k) if extra else (extra, max(1, k - 1))
    if extra:
        parts.append(_pick(plan, "extra", EXTRAS))
    clauses = plan["clauses"][:k]
    clauses[0] = (", " if violate == "no_commas" else " ").join([clauses[0], " ".join(parts)] if parts else clauses[:1])
    return [c + "." for c in clauses]


def _ending(plan: dict[str, Any], cons: dict[str, dict], violate: str | None, sents: list[str]) -> list[str]:
    last = sents[-1][:-1]
    if "end_with" in cons:  # the phrase decides the final mark too
        phrase = cons["end_with"]["phrase"]
        if violate in ("end_question", "end_exclamation"):
            return sents  # the phrase ends with the required mark: it cannot be broken alone
        if violate == "end_with":
            return _pick(plan, "ending", (sents + [OTHER_ENDINGS.get(phrase, "Thanks.")], [phrase] + sents))
        return sents + [phrase]
    for name, mark, aside, lead in (
        ("end_question", "?", "Have you tried it?", "Did you know that "),
        ("end_exclamation", "!", "Give it a try!", ""),
    ):
        if name in cons:
            if violate == name:  # the mark appears, but not at the end
                return _pick(plan, "ending", ([aside] + sents, sents))
            closing = lead + _lower_first(last) + mark if lead else last + mark
            return sents[:-1] + _pick(plan, "ending", ([closing], [last + ".", aside]))
    return sents


def _opening(plan: dict[str, Any], cons: dict[str, dict], violate: str | None, body: str) -> str:
    if "start_with" not in cons:
        return body
    phrase = cons["start_with"]["phrase"]
    if violate == "start_with":
        phrase = _pick(plan, "start", [p for p in OPENERS if not p.startswith(phrase) and not phrase.startswith(p)])
    if phrase.endswith(":"):
        return f"{phrase} {body}"
    sep = _pick(plan, "sep", ("! ", ". ") if "no_commas" in cons else (", ", ", ", "! ", ". "))
    return phrase + sep + (_lower_first(body) if sep == ", " else body)


def _commas(plan: dict[str, Any], cons: dict[str, dict], violate: str | None, body: str) -> str:
    if "no_commas" not in cons:
        return body
    # A violating draft got its comma in ``_sentences`` (before the extra phrase).
    return body if violate == "no_commas" else re.sub(r"\s*,\s*", " ", body)


def _case(plan: dict[str, Any], cons: dict[str, dict], violate: str | None, body: str) -> str:
    if "lowercase" in cons:
        low = body.lower()
        if violate != "lowercase":
            return low
        # One capital left: the first letter, or the pronoun "I".
        if " i " in low and _pick(plan, "case", (0, 1)):
            return low.replace(" i ", " I ", 1)
        return low[:1].upper() + low[1:]
    if "capitals" in cons:
        up = body.upper()
        if violate != "capitals":
            return up
        # The last word left in lowercase, or ordinary sentence case.
        words = up.split(" ")
        return " ".join([*words[:-1], words[-1].lower()]) if _pick(plan, "case", (0, 1)) else body
    return body


def _quotes(plan: dict[str, Any], cons: dict[str, dict], violate: str | None, body: str) -> str:
    if "quoted" not in cons:
        return body
    if violate != "quoted":
        return _pick(plan, "quote", (f'"{body}"', f"“{body}”"))
    return _pick(plan, "quote", (f"'{body}'", f'"{body}', f"«{body}»"))


def _shape(plan: dict[str, Any], cons: dict[str, dict], violate: str | None, body: str, topic: str) -> str:
    if "bullets" in cons or "lines" in cons:
        name = "bullets" if "bullets" in cons else "lines"
        n = cons[name]["n"]
        k = n if violate != name else _pick(plan, "other", (n - 1, n + 1))
        items = plan["items"][:k]
        if name == "lines":
            return "\n".join(items) if violate != name or _pick(plan, "shape", (0, 1)) else " ".join(plan["items"][:n])
        marker = _pick(plan, "shape", ("- ", "* ", "- "))
        if violate == name and _pick(plan, "near", (0, 1)):
            return "\n".join(f"{i + 1}. {item}" for i, item in enumerate(plan["items"][:n]))
        return "\n".join(marker + item for item in items)
    if "json_key" in cons:
        key = cons["json_key"]["key"]
        if violate != "json_key":
            doc = json.dumps({key: body}, ensure_ascii=False)
            return _pick(plan, "shape", (doc, f"```json\n{doc}\n```", doc))
        plural = {"summary": "summaries"}.get(key, key + "s")
        single_quoted = "{'" + key + "': '" + body.replace("'", "") + "'}"
        return _pick(plan, "shape", (json.dumps({plural: body}), single_quoted, json.dumps({key: body})[:-1]))
    if "title" in cons:
        title = topic.title()
        if violate == "title":
            return _pick(plan, "shape", (f"<{title}>\n{body}", f"**{title}**\n{body}", f"# {title}\n{body}"))
        return f"<<{title}>>\n{body}"
    return body


def _build(plan: dict[str, Any], prompt: ConstraintPrompt, violate: str | None) -> str:
    cons = {c.name: c.kwargs for c in prompt.constraints}
    body = " ".join(_ending(plan, cons, violate, _sentences(plan, cons, violate)))
    for step in (_opening, _commas, _case, _quotes):
        body = step(plan, cons, violate, body)
    return _shape(plan, cons, violate, body, prompt.topic)


def _near(c: Constraint, bad: str) -> bool:
    """Count constraints miss by a little (at most 5 words); other misses are near by construction."""
    if c.name in ("max_words", "min_words"):
        return abs(len(T.words(bad)) - c.kwargs["n"]) <= 5
    return True


def respond(prompt: ConstraintPrompt, rng: random.Random) -> tuple[str, str] | None:
    """A (satisfying, violating) response pair for ``prompt``, or None when no attempt
    verifies. The violating one breaks exactly one constraint and keeps the others."""
    for _ in range(ATTEMPTS):
        plan = _plan(rng, prompt)
        good = _build(plan, prompt, None)
        if not prompt.check(good):
            continue
        broken = _pick(plan, "broken", prompt.constraints)
        bad = _build(plan, prompt, broken.name)
        kept = all(c.check(bad) for c in prompt.constraints if c is not broken)
        if bad != good and not broken.check(bad) and kept and _near(broken, bad):
            return good, bad
    return None
