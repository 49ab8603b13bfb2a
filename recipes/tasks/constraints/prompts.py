"""Constraint prompts: an ordinary short request about a topic plus one or two constraints.

    "Write one sentence about rainy days. Include the word 'purple'."

Three splits that never share a prompt:

- ``train``: the trained types (``TRAIN_TYPES``) on the training topics;
- ``test``: the trained types on held-out topics (a fixed quarter of the topics, by a
  stable hash of the topic, so no test topic is ever trained on);
- ``test_types``: the held-out types (``HELD_OUT_TYPES``), never used in training, on
  any topic (their instructions differ from every trained one, so the prompts do too).

``constraint_prompts`` draws training batches (repeats allowed); ``evaluation_prompts``
gives a fixed set of distinct prompts per split (``test``: 384, ``test_types``: 224).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from trl_rrm.seeds import seeded_rng

from .catalog import HELD_OUT_TYPES, TRAIN_TYPES, TYPES, Constraint
from .conflicts import combinable

Split = Literal["train", "test", "test_types"]

TOPICS = (
    "rainy days", "morning coffee", "houseplants", "learning to swim", "the ocean", "city parks", "board games",
    "baking bread", "long walks", "public libraries", "camping trips", "autumn leaves", "fresh fruit",
    "riding a bike", "old photographs", "street food", "birdwatching", "learning a language", "winter evenings",
    "road trips", "thunderstorms", "handwritten letters", "farmers markets", "summer nights", "home cooking",
    "gardening", "jigsaw puzzles", "train journeys", "mountain hikes", "snowy weather", "museums", "picnics",
    "stargazing", "yoga", "running", "cooking pasta", "drinking water", "reading before bed", "short naps",
    "tidying a room", "saving money", "learning to draw", "playing the guitar", "singing", "dancing", "painting",
    "knitting", "pottery", "photography", "keeping a diary", "visiting grandparents", "making new friends",
    "dogs", "cats", "goldfish", "horses", "bees", "butterflies", "owls", "penguins", "elephants", "sunflowers",
    "tulips", "apple trees", "green tea", "hot chocolate", "pancakes", "vegetable soup", "salads", "pizza",
    "ice cream", "cheese", "rice", "tomatoes", "lemons", "strawberries", "dark chocolate", "popcorn", "breakfast",
    "school lunches", "homework", "exams", "teachers", "first jobs", "working from home", "commuting",
    "city buses", "airports", "hotels", "beaches", "islands", "deserts", "rivers", "lakes", "forests",
    "volcanoes", "the moon", "sunsets", "rainbows", "clouds", "windy afternoons", "spring flowers", "birthdays",
    "weddings", "holidays", "fireworks", "music festivals", "movies", "cartoons", "comic books", "podcasts",
    "video games", "chess", "football", "tennis", "swimming pools", "skateboarding", "ice skating", "fishing",
    "sailing", "recycling", "composting", "saving energy", "bicycles", "electric cars", "smartphones", "email",
    "keyboards", "robots", "space travel", "maps", "clocks", "umbrellas", "sweaters", "sneakers", "backpacks",
    "candles", "blankets", "pillows", "kitchens", "bookshelves", "neighbors", "volunteering", "kindness",
    "patience", "laughter", "healthy sleep", "stretching", "cold showers", "fresh air", "sandcastles",
    "lighthouses", "bakeries", "bookstores", "zoos", "aquariums", "trains", "snowmen", "kites", "paper planes",
)  # fmt: skip

SENTENCE_REQUESTS = (
    "Write one sentence about {topic}.",
    "Write a short sentence about {topic}.",
    "Give one tip about {topic}.",
    "Tell me one fact about {topic}.",
    "Say one nice thing about {topic}.",
)
OPEN_REQUESTS = (
    "Describe {topic} briefly.",
    "Tell me about {topic} in a few words.",
    "Share a quick thought about {topic}.",
    "Give a short tip about {topic}.",
    "What is special about {topic}?",
)
LIST_REQUESTS = (
    "Give a few quick tips about {topic}.",
    "List some good things about {topic}.",
    "Name a few facts about {topic}.",
    "Share some short ideas about {topic}.",
)
REQUESTS = {"sentence": SENTENCE_REQUESTS + OPEN_REQUESTS, "open": OPEN_REQUESTS, "list": LIST_REQUESTS}


def held_out_topic(topic: str) -> bool:
    """A fixed quarter of the topics is reserved for evaluation (a stable hash split)."""
    return int(hashlib.sha256(topic.encode()).hexdigest(), 16) % 4 == 0


@dataclass(frozen=True)
class ConstraintPrompt:
    """A request with its constraints: ``prompt`` is the full text a policy sees."""

    prompt: str
    topic: str
    request: str
    constraints: tuple[Constraint, ...]

    @classmethod
    def build(cls, request_template: str, topic: str, constraints: Sequence[Constraint]) -> ConstraintPrompt:
        request = request_template.format(topic=topic)
        prompt = " ".join([request, *(c.instruction() for c in constraints)])
        return cls(prompt=prompt, topic=topic, request=request, constraints=tuple(constraints))

    def check(self, text: Any) -> bool:
        """All constraints satisfied."""
        return all(c.check(text) for c in self.constraints)

    def credit(self, text: Any) -> float:
        """The mean partial credit over the constraints."""
        return sum(c.credit(text) for c in self.constraints) / len(self.constraints)

    def to_dict(self) -> dict[str, Any]:
        return {
            "prompt": self.prompt,
            "topic": self.topic,
            "request": self.request,
            "constraints": [c.to_dict() for c in self.constraints],
        }

    @classmethod
    def from_dict(cls, row: Mapping[str, Any]) -> ConstraintPrompt:
        constraints = tuple(Constraint.from_dict(c) for c in row["constraints"])
        if not constraints:
            raise ValueError(f"a constraint prompt needs at least one constraint: {row!r:.120}")
        return cls(prompt=row["prompt"], topic=row["topic"], request=row["request"], constraints=constraints)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ConstraintPrompt:
        return cls.from_dict(json.loads(text))


def as_constraint_prompt(value: Any) -> ConstraintPrompt:
    """A ``ConstraintPrompt`` from what a dataset column holds: the object itself, its
    dict, or its JSON string.

    Raises:
        ValueError: ``value`` is none of these, or names an unknown type or parameter.
    """
    if isinstance(value, ConstraintPrompt):
        return value
    try:
        return ConstraintPrompt.from_dict(json.loads(value) if isinstance(value, str) else value)
    except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as error:
        raise ValueError(f"not a serialized ConstraintPrompt: {value!r:.120} ({error})") from None


def dataset_rows(prompts: Sequence[ConstraintPrompt], *, conversational: bool = False) -> list[dict[str, Any]]:
    """Rows for a ``datasets.Dataset``: ``prompt`` (text, or one user message) and
    ``constraints`` (the JSON string a reward function reads back)."""
    return [
        {
            "prompt": [{"role": "user", "content": p.prompt}] if conversational else p.prompt,
            "constraints": p.to_json(),
        }
        for p in prompts
    ]


def _split_types(split: str, types: Sequence[str] | None) -> tuple[str, ...]:
    if split not in ("train", "test", "test_types"):
        raise ValueError(f"split={split!r}; expected 'train', 'test' or 'test_types'")
    allowed = HELD_OUT_TYPES if split == "test_types" else TRAIN_TYPES
    chosen = tuple(types) if types is not None else allowed
    bad = [t for t in chosen if t not in allowed]
    if bad or not chosen:
        raise ValueError(f"types={list(chosen)!r} for split={split!r}: expected a non-empty subset of {list(allowed)}")
    return chosen


def split_topics(split: Split) -> tuple[str, ...]:
    """The topics of a split: ``test`` the held-out quarter, ``train`` the rest, ``test_types`` all."""
    if split == "test_types":
        return TOPICS
    return tuple(t for t in TOPICS if held_out_topic(t) == (split == "test"))


def _draw(rng: random.Random, name: str, topics: Sequence[str], second: Sequence[str] = ()) -> ConstraintPrompt:
    topic = rng.choice(topics)
    first = Constraint.of(name, **TYPES[name].sample(rng, topic))
    constraints = [first]
    if second:
        options = [Constraint.of(n, **TYPES[n].sample(rng, topic)) for n in second]
        options = [c for c in options if combinable(first, c)]
        if options:
            constraints.append(rng.choice(options))
    group = "open" if any(TYPES[c.name].requests == "open" for c in constraints) else TYPES[name].requests
    return ConstraintPrompt.build(rng.choice(REQUESTS[group]), topic, constraints)


def constraint_prompts(
    n: int, split: Split = "train", seed: int = 0, types: Sequence[str] | None = None, *, second: float = 0.0
) -> list[ConstraintPrompt]:
    """``n`` seeded prompts of ``split``, the type drawn uniformly from ``types`` (by
    default all the split's types), then the topic, request and parameters. With
    probability ``second`` a prompt also gets a second constraint of another combinable
    type of ``types`` that does not conflict with the first. Repeats are allowed.

    Raises:
        ValueError: ``n`` < 0, ``second`` outside [0, 1], an unknown split, or ``types``
            outside the split's types (held-out types never appear in ``train`` or ``test``).
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n={n!r} must be an integer >= 0")
    if not 0.0 <= second <= 1.0:
        raise ValueError(f"second={second!r} must be within [0, 1]")
    chosen = _split_types(split, types)
    topics = split_topics(split)
    rng = seeded_rng("constraint_prompts", split, seed)
    out = []
    for _ in range(n):
        name = rng.choice(chosen)
        others = [t for t in chosen if t != name and TYPES[t].combinable] if TYPES[name].combinable else []
        out.append(_draw(rng, name, topics, others if others and rng.random() < second else ()))
    return out


def evaluation_prompts(split: Split, *, per_type: int = 32, types: Sequence[str] | None = None) -> list[ConstraintPrompt]:
    """A fixed evaluation set: ``per_type`` distinct one-constraint prompts for each type
    of the split (by default ``test``: 12 x 32 = 384, ``test_types``: 7 x 32 = 224), the
    same on every machine.

    Raises:
        ValueError: as ``constraint_prompts``, or ``per_type`` < 1.
    """
    if isinstance(per_type, bool) or not isinstance(per_type, int) or per_type < 1:
        raise ValueError(f"per_type={per_type!r} must be an integer >= 1")
    chosen = _split_types(split, types)
    topics = split_topics(split)
    out = []
    for name in chosen:
        rng = seeded_rng("evaluation_prompts", split, name)
        seen: dict[str, ConstraintPrompt] = {}
        for _ in range(per_type * 50):
            p = _draw(rng, name, topics)
            seen.setdefault(p.prompt, p)
            if len(seen) == per_type:
                break
        out.extend(seen.values())
    return out
