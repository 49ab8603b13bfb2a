"""What the judge engine asks a backend for, and what it gets back. Pure Python.

The engine turns matches into ``GenerationRequest``s (write a judgment) and
``ScoreRequest``s (log-probabilities of the verdict labels); a backend answers a whole
batch of them at once. Identical requests of one call are sent once (``unique`` /
``expand``). Every sample has its own seed (``sample_seed``): a function of the request's
content, the sample's index and the judge's seed, so a judgment never depends on what
else was judged in the same call, on a call counter, or on the process.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from ..seeds import stable_seed
from ..types import Message, text_key

T = TypeVar("T")


@dataclass(frozen=True)
class LabelScoring:
    """Verdict labels to score right after a sample, in the same pass (no second prefill).

    Attributes:
        context: the sample's text -> the answer text the labels follow (the engine cuts a
            written verdict, closes thinking and appends the scoring prefix).
        candidates: the labels; each gets the sum of its tokens' log-probabilities, as
            ``ScoreRequest.candidates`` would.
    """

    context: Callable[[str], str]
    candidates: tuple[str, ...]


@dataclass(frozen=True)
class GenerationRequest:
    """One prompt for the backend.

    Attributes:
        messages: chat messages for the judge's chat template.
        num_samples: independent samples to draw (votes).
        assistant_prefix: text the judge's answer is forced to start with; the backend
            returns only what it generates after it.
        max_new_tokens: overrides the judge's budget (forced answers need only a few).
        greedy: decode greedily whatever the sampling settings.
        stop: strings that end a sample as soon as its final answer (the text after
            thinking) contains one of them; the string stays in the text. Only a saving:
            a backend may ignore it.
        first_sample: index of the first sample (a second round of votes continues the
            first round's indices, so its samples differ).
        then_score: score verdict labels after each sample, where it was written (its
            ``Generation.label_logps``). Only a saving: a backend may ignore it, and the
            engine then sends ``ScoreRequest``s.
    """

    messages: list[Message]
    num_samples: int = 1
    assistant_prefix: str = ""
    max_new_tokens: int | None = None
    greedy: bool = False
    stop: tuple[str, ...] = ()
    first_sample: int = 0
    then_score: LabelScoring | None = None

    @property
    def key(self) -> str:
        """The request's content, as one string (identical requests share it)."""
        then = None if self.then_score is None else self.then_score.candidates
        return text_key([self.messages, self.num_samples, self.assistant_prefix, self.max_new_tokens, self.greedy,
                         self.stop, self.first_sample, then])  # fmt: skip

    def seeds(self, seed: int) -> list[int]:
        """One seed per sample: a function of the prompt, the sample index and ``seed``."""
        return [sample_seed(seed, self.messages, self.assistant_prefix, self.first_sample + s) for s in range(self.num_samples)]


@dataclass(frozen=True)
class Generation:
    """One sample: its text, how many tokens it took, and whether it ended by itself
    (end-of-sequence, or a stop string) rather than by running out of budget;
    ``label_logps``: its request's ``then_score`` labels, when the backend scored them."""

    text: str
    tokens: int
    finished: bool
    label_logps: tuple[float, ...] | None = None


@dataclass(frozen=True)
class ScoreRequest:
    """Log-probabilities of ``candidates`` as continuations of the judge's answer.

    Attributes:
        messages: chat messages for the judge's chat template.
        assistant_prefix: the answer text so far (analysis + verdict prefix).
        candidates: continuations to score; each gets the sum of its tokens' log-probs.
    """

    messages: list[Message]
    assistant_prefix: str
    candidates: tuple[str, ...]

    @property
    def key(self) -> str:
        return text_key([self.messages, self.assistant_prefix, self.candidates])


def sample_seed(seed: int, messages: list[Message], prefix: str, index: int) -> int:
    """The seed of one sample of one prompt (see the module doc)."""
    return stable_seed(seed, text_key(messages), prefix, index)


def unique(items: Sequence[T], key: Callable[[T], str]) -> tuple[list[T], list[tuple[int, bool]]]:
    """The distinct items (first occurrence kept), and for every item (its unique index,
    whether it is a later copy)."""
    seen: dict[str, int] = {}
    out: list[T] = []
    where: list[tuple[int, bool]] = []
    for item in items:
        k = key(item)
        if k in seen:
            where.append((seen[k], True))
        else:
            seen[k] = len(out)
            where.append((len(out), False))
            out.append(item)
    return out, where


def expand(results: Sequence[Any], where: Sequence[tuple[int, bool]], copy: Callable[[Any], Any]) -> list[Any]:
    """The unique results back in item order; later copies go through ``copy``."""
    return [copy(results[u]) if repeated else results[u] for u, repeated in where]


def free_copy(generations: list[Generation]) -> list[Generation]:
    """A cached judgment shared by a duplicate: the same texts, no tokens spent."""
    return [Generation(g.text, 0, g.finished, g.label_logps) for g in generations]
